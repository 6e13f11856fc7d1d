"""The dashboard under faults and bad input, driven headless (Textual's Pilot) against real
sessions: a sidecar down, a host down, a session ending while selected, a 40x12 terminal,
an empty fleet, a half-written state file, a double key press on send. The view stays up
and says what is wrong; the figures are what each test saw."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from harnex_tmux.dash.app import ENDED_TEXT, DashApp
from tests import sshd
from tests.conftest import Figures, Harnex, recorded
from tests.remote_host import NAME, Remote
from tests.test_dash import drive, select, start_ready, state_of, until


def _row(app: DashApp, ident: str, host: str | None = None) -> Any:
    return next((r for r in app.shown if r.id == ident and r.host == host), None)


@pytest.mark.e2e
def test_a_host_going_down_shows_its_sessions_stale_and_the_local_ones_go_on(
    remote: Remote, figures: Figures, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session on another host is in the list with its host; its sshd is killed: its row
    turns stale (last seen, with the host's error, which its events panel says above the
    events read before) while a local session's changes still arrive as fast as ever; the
    host back, the row is live again."""
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
        events = app.query_one("#events")
        await until(pilot, lambda: "state" in str(events.render()), timeout=60)

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
            shown = str(events.render())
            assert "cannot read the events now" in shown and f"host '{NAME}'" in shown
            assert "state" in shown.split("\n", 1)[1], "the events seen before stay"
            figures.record("events panel: the host's error above the events seen before", "yes")
            assert app.check_action("send", ()) is None, "no key acts on a stale row"
            # The local rows still follow their changes while the host stays down.
            await until(pilot, lambda: state_of(app, "here") == "prompt", timeout=30)
            figures.record("local change shown, host down", round(local_s, 2), "s")
            figures.record("remote row stale after the sshd died", round(stale_s, 1), "s")
        finally:
            sshd.restart(remote.host)
        await until(pilot, lambda: (r := _row(app, "far", NAME)) and r.state == "prompt", 60)
        assert f"host {NAME} down" not in str(app.query_one("#banner").render())
        await until(pilot, lambda: "cannot read" not in str(events.render()), timeout=60)
        figures.record("view up throughout, rows of the host back once it answers", "yes")

    drive(h, script, (160, 30))


def test_a_double_key_press_on_send_sends_once(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    log = tmp_path / "got.jsonl"
    start_ready(harnex, "target", record=log, busy=3)

    async def script(pilot: Any, app: DashApp) -> None:
        from textual.widgets import TextArea

        from harnex_tmux.dash.screens import SendScreen

        await select(pilot, app, "target")
        # Busy with an earlier message: this one waits in the queue, so the send is in
        # flight for a few seconds.
        harnex.run("send", "--id", "target", "--no-wait", "--message", "earlier", check=True)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SendScreen))
        app.screen.query_one(TextArea).text = "first line\nsecond line"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SendScreen))
        # In flight: the key does nothing, however often it is pressed.
        await pilot.press("s")
        await pilot.press("enter")
        assert not isinstance(app.screen, SendScreen)
        figures.record("key presses while the send was in flight (s, Enter)", 2)
        await until(pilot, lambda: "target: delivered" in app.message, timeout=30)
        await pilot.pause(1.0)
        assert recorded(log) == ["earlier", "first line\nsecond line"]
        # Once it ended, the key works again.
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SendScreen))
        await pilot.press("escape")

    drive(harnex, script, (120, 30))
    figures.record("times the message was typed", recorded(log).count("first line\nsecond line"))


def test_a_dead_sidecar_shows_and_recover_brings_it_back(harnex: Harnex, figures: Figures) -> None:
    info = start_ready(harnex, "fragile")

    async def script(pilot: Any, app: DashApp) -> None:
        await select(pilot, app, "fragile")
        os.kill(info["sidecar_pid"], signal.SIGKILL)
        killed = time.monotonic()
        await until(pilot, lambda: state_of(app, "fragile") == "sidecar-down")
        figures.record(
            "sidecar-down shown after the kill", round(time.monotonic() - killed, 1), "s"
        )
        assert app.shown[0].look.glyph == "x"
        assert "sidecar is down" in app.message
        await pilot.press("r")
        await until(pilot, lambda: state_of(app, "fragile") == "prompt", timeout=30)
        assert "recovered fragile" in app.message
        figures.record("r brings it back to the prompt", "yes")

    drive(harnex, script, (120, 30))


def test_a_session_ending_while_selected_says_so(harnex: Harnex, figures: Figures) -> None:
    """Its tmux window is killed from outside (the agent and its pane gone): the row turns
    ended, the preview says so instead of the last capture, and the keys that act on a live
    session grey out."""
    info = start_ready(harnex, "short-lived")
    start_ready(harnex, "stays")

    async def script(pilot: Any, app: DashApp) -> None:
        await select(pilot, app, "short-lived")
        pane = app.query_one("#pane")
        await until(pilot, lambda: "demo>" in str(pane.render()))
        harnex.tmux("kill-window", "-t", info["window_id"])
        killed = time.monotonic()
        await until(pilot, lambda: state_of(app, "short-lived") == "exited", timeout=30)
        await until(pilot, lambda: ENDED_TEXT in str(pane.render()))
        figures.record(
            "shown as ended after its window was killed", round(time.monotonic() - killed, 1), "s"
        )
        assert app.check_action("send", ()) is None and app.check_action("stop", ()) is None
        assert state_of(app, "stays") == "prompt"

    drive(harnex, script, (120, 30))


def test_empty_fleet_half_written_state_files_and_a_40x12_terminal_keep_the_view_up(
    harnex: Harnex, figures: Figures
) -> None:
    async def script(pilot: Any, app: DashApp) -> None:
        assert "No sessions here" in str(app.query_one("#pane").render())
        assert app.query_one("#main").has_class("narrow")
        figures.record("empty fleet at 40x12", "says how to start a session")
        sessions = harnex.state_dir / "sessions"
        sessions.mkdir(parents=True, exist_ok=True)
        (sessions / "0000--half.json").write_text('{"id": "half", "cli": ')
        (harnex.state_dir / "events").mkdir(exist_ok=True)
        (harnex.state_dir / "events" / "0000--half.jsonl").write_text('{"type": "sta')
        started = time.monotonic()
        start_ready(harnex, "late")
        (sessions / "0000--half.json").unlink()  # the fixture's teardown reads them all
        await until(pilot, lambda: state_of(app, "late") == "prompt")
        figures.record("half-written registry and events files", "skipped; the view stays")
        figures.record(
            "a session started meanwhile shown", round(time.monotonic() - started, 1), "s"
        )
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.press("slash")
        await pilot.press("z", "z", "z")
        await until(pilot, lambda: not app.shown)
        assert "No session matches" in str(app.query_one("#pane").render())
        await pilot.press("escape")
        await until(pilot, lambda: [r.id for r in app.shown] == ["late"])

    drive(harnex, script, (40, 12))
