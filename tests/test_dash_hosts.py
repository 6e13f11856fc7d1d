"""The dashboard's keys on a session of another host (a real OpenSSH server on loopback,
``tests/sshd.py``): send and stop go through the library's RemoteSession, as the CLI's
``NAME:id`` does; answer and jump are refused in one line naming what to use instead."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import recorded
from test_dash import drive, select, until

from harnex_tmux.dash.app import DashApp
from tests.remote_host import NAME, Remote

pytestmark = pytest.mark.e2e


def test_send_and_stop_a_session_on_another_host(
    remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = remote.harnex
    monkeypatch.setenv("HARNEX_SSH_CONFIG", h.env["HARNEX_SSH_CONFIG"])
    remote.start_demo("far")
    h.run("wait", "--id", f"{NAME}:far", "--until", "prompt", "--timeout", "30", check=True)

    def far(app: DashApp) -> Any:
        return next((r for r in app.shown if r.id == "far" and r.host == NAME), None)

    async def script(pilot: Any, app: DashApp) -> None:
        from textual.widgets import TextArea

        from harnex_tmux.dash.screens import ConfirmScreen, SendScreen

        await until(pilot, lambda: far(app), timeout=60)
        await select(pilot, app, "far")
        await pilot.press("j")
        await until(pilot, lambda: f"harnex attach --id {NAME}:far" in app.message)
        assert app.check_action("diff", ()) is None  # harnex diff NAME:id, not from here
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SendScreen))
        app.screen.query_one(TextArea).text = "over the wire"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SendScreen))
        # (A second press while the send is in flight is the double-press fault test's, on
        # local rows: over the kept channel this send may be over before a key could come.)
        await until(pilot, lambda: f"{NAME}:far: delivered" in app.message, timeout=60)
        assert recorded(remote.record("far")) == ["over the wire"]
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: f"stopped {NAME}:far" in app.message, timeout=60)
        # Asked again at once after the action: the host no longer lists it.
        await until(pilot, lambda: far(app) is None, timeout=30)

    drive(h, script, (160, 30))
    assert recorded(remote.record("far")) == ["over the wire"]
