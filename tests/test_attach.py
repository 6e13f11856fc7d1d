"""``harnex attach`` for a session of this machine, from inside tmux (no terminal needed):
on the caller's own server it shows the session's window; from another server it opens a
window there running a nested client."""

from __future__ import annotations

from pathlib import Path

from harnex_tmux.tmux import default_socket_path
from tests.conftest import Harnex, wait_for


def test_attach_on_the_callers_server_shows_the_window(harnex: Harnex) -> None:
    first = harnex.start_demo("one")
    second = harnex.start_demo("two")
    env = dict(harnex.env, TMUX=f"{default_socket_path(harnex.socket)},0,0")
    harnex.run("attach", "--id", "two", env=env, check=True)
    assert _window_active(harnex, second["window_id"])
    harnex.run("attach", "--id", "one", env=env, check=True)
    assert _window_active(harnex, first["window_id"])


def _window_active(h: Harnex, window: str) -> bool:
    shown = h.tmux("display-message", "-p", "-t", window, "#{window_active}")
    return shown.stdout.strip() == "1"


def test_attach_from_another_server_opens_a_nested_client(harnex: Harnex) -> None:
    info = harnex.start_demo("far")
    caller = f"{harnex.socket}-caller"
    opened = harnex.tmux("-L", caller, "new-session", "-d", "-s", "me")
    try:
        assert opened.returncode == 0, opened.stderr
        env = dict(harnex.env, TMUX=f"{default_socket_path(caller)},0,0")
        harnex.run("attach", "--id", "far", env=env, check=True)
        windows = harnex.tmux("-L", caller, "list-windows", "-t", "me", "-F", "#{window_name}")
        assert "attach:far" in windows.stdout.split()
        clients = lambda: harnex.tmux("list-clients", "-F", "#{session_name}").stdout  # noqa: E731
        wait_for(lambda: info["tmux_session"] in clients(), timeout=30)
    finally:
        # Harnex.tmux names the test's server with -L; tmux takes the last -L given.
        harnex.tmux("-L", caller, "kill-server")
        Path(default_socket_path(caller)).unlink(missing_ok=True)
