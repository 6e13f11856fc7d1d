"""The dashboard under faults and bad input, driven headless (Textual's Pilot) against real
sessions: a sidecar down, a host down, a session ending while selected, a 40x12 terminal,
an empty fleet, a half-written state file, a double key press on send. The view stays up
and says what is wrong; the figures are what each test saw."""

from __future__ import annotations

import time
from typing import Any

import pytest

from harnex_tmux.dash.app import DashApp
from tests import sshd
from tests.conftest import Figures
from tests.remote_host import NAME, Remote
from tests.test_dash import drive, select, start_ready, state_of, until


def _row(app: DashApp, ident: str, host: str | None = None) -> Any:
    return next((r for r in app.shown if r.id == ident and r.host == host), None)


@pytest.mark.e2e
def test_a_host_going_down_shows_its_sessions_stale_and_the_local_ones_go_on(
    remote: Remote, figures: Figures, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session on another host is in the list with its host; its sshd is killed: its row
    turns stale (last seen, with the host's error) while a local session's changes still
    arrive as fast as ever; the host back, the row is live again."""
    h = remote.harnex
    monkeypatch.setenv("HARNEX_SSH_CONFIG", h.env["HARNEX_SSH_CONFIG"])
    start_ready(h, "here", busy=2)
    remote.start_demo("far")
    h.run("wait", "--id", f"{NAME}:far", "--until", "prompt", "--timeout", "30", check=True)

    async def script(pilot: Any, app: DashApp) -> None:
        from harnex_tmux.dash.table import FleetTable

        table = app.query_one(FleetTable)
        assert table.columns[0] == "HOST"  # known hosts: the column is there from the start
        far = await until(pilot, lambda: _row(app, "far", NAME), timeout=60)
        assert far.state == "prompt" and far.key == f"{NAME}:far"
        line = next(x for x in table.lines if x.key == far.key)
        assert line.cells[:2] == (NAME, "far")
        here = next(x for x in table.lines if x.cells[1] == "here")
        assert here.cells[0] == "local"
        await select(pilot, app, "far")
        pane = app.query_one("#pane")
        await until(pilot, lambda: "demo>" in str(pane.render()), timeout=60)

        remote.host.stop()
        try:
            started = time.monotonic()
            # The local session changes while the host is being asked (and not answering).
            h.run("send", "--id", "here", "--no-wait", "--message", "local work", check=True)
            await until(pilot, lambda: state_of(app, "here") == "busy", timeout=30)
            local_s = time.monotonic() - started
            await until(pilot, lambda: (r := _row(app, "far", NAME)) and r.state == "stale", 60)
            stale_s = time.monotonic() - started
            row = _row(app, "far", NAME)
            assert row.look.glyph == "#" and f"host '{NAME}'" in (row.problem or "")
            assert "last seen" in (row.problem or "")
            assert f"host {NAME} down" in str(app.query_one("#banner").render())
            await until(pilot, lambda: "cannot be read" in str(pane.render()), timeout=30)
            assert app.check_action("send", ()) is None, "no key acts on a stale row"
            # The local rows still follow their changes while the host stays down.
            await until(pilot, lambda: state_of(app, "here") == "prompt", timeout=30)
            figures.record("local change shown, host down", round(local_s, 2), "s")
            figures.record("remote row stale after the sshd died", round(stale_s, 1), "s")
        finally:
            sshd.restart(remote.host)
        await until(pilot, lambda: (r := _row(app, "far", NAME)) and r.state == "prompt", 60)
        assert f"host {NAME} down" not in str(app.query_one("#banner").render())
        figures.record("view up throughout, rows of the host back once it answers", "yes")

    drive(h, script, (160, 30))
