"""The dashboard's keys and panels on a session of another host (a real OpenSSH server on
loopback, ``tests/sshd.py``): everything goes through the library's RemoteSession, as the
CLI's ``NAME:id`` does. Send and stop; the events and last-reply panels read from the host;
answer pressing the adapter's keys there once; jump opening a window of this test's private
tmux server that attaches to the host's window (or, outside tmux, the ssh command it runs);
diff showing the host's worktree."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from conftest import Harnex, recorded, wait_for
from test_dash import ASKER_ADAPTER, HERE, diff_text, drive, select, start_ready, until

from harnex_tmux.dash.app import DashApp
from harnex_tmux.tmux import default_socket_path
from tests.remote_host import NAME, Remote

pytestmark = pytest.mark.e2e


def _far(app: DashApp, ident: str) -> Any:
    return next((r for r in app.shown if r.id == ident and r.host == NAME), None)


def _text(app: DashApp, name: str) -> str:
    return str(app.query_one(name).render())


def _on_host(monkeypatch: pytest.MonkeyPatch, remote: Remote) -> Harnex:
    """The app runs in this process: it reaches the test host through the test's config."""
    h = remote.harnex
    monkeypatch.setenv("HARNEX_SSH_CONFIG", h.env["HARNEX_SSH_CONFIG"])
    return h


def _ready_demo(remote: Remote, ident: str) -> None:
    remote.start_demo(ident)
    remote.harnex.run(
        "wait", "--id", f"{NAME}:{ident}", "--until", "prompt", "--timeout", "30", check=True
    )


def test_send_and_stop_a_session_on_another_host(
    remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _on_host(monkeypatch, remote)
    _ready_demo(remote, "far")

    async def script(pilot: Any, app: DashApp) -> None:
        from textual.widgets import TextArea

        from harnex_tmux.dash.screens import ConfirmScreen, SendScreen

        await until(pilot, lambda: _far(app, "far"), timeout=60)
        await select(pilot, app, "far")
        assert app.check_action("diff", ()) is None  # no worktree there
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
        await until(pilot, lambda: _far(app, "far") is None, timeout=30)

    drive(h, script, (160, 30))
    assert recorded(remote.record("far")) == ["over the wire"]


def _finish_turn(remote: Remote, ident: str, reply: str) -> None:
    """A turn's end reported to the session's sidecar on the host, as Claude Code's Stop
    hook reports it (the demo program has no hooks of its own)."""
    code = (
        "from harnex_tmux.session.find import find_session\n"
        "from harnex_tmux.session.client import SidecarClient\n"
        f"record = find_session({ident!r}, any_repo=True)\n"
        "stop = {'hook_event_name': 'Stop', 'session_id': 's', "
        f"'last_assistant_message': {reply!r}}}\n"
        "print(SidecarClient.for_record(record).request('POST', '/hook/claude', stop).status)\n"
    )
    done = remote.host.ssh(f"{remote.python} -c {shlex.quote(code)}")
    assert done.returncode == 0 and done.stdout.strip() == "200", done.stderr


def test_events_and_last_reply_panels_read_from_the_host(
    remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _on_host(monkeypatch, remote)
    _ready_demo(remote, "told")
    h.run("send", "--id", f"{NAME}:told", "--message", "first words", check=True)

    async def script(pilot: Any, app: DashApp) -> None:
        await until(pilot, lambda: _far(app, "told"), timeout=60)
        await select(pilot, app, "told")
        await until(pilot, lambda: "send first words" in _text(app, "#events"), timeout=60)
        assert "state" in _text(app, "#events")
        assert "(none reported)" in _text(app, "#reply")
        # A turn ends there: the next host refresh brings its event and its reply.
        _finish_turn(remote, "told", "all done over there")
        await until(pilot, lambda: "all done over there" in _text(app, "#reply"), timeout=60)
        assert "turn_complete all done over there" in _text(app, "#events")
        # Each line once: the refreshes ask only for what is new.
        assert _text(app, "#events").count("send first words") == 1

    drive(h, script, (200, 40))


def test_answer_presses_the_adapters_key_once_on_the_host(
    remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adapter file is only on the host (its user's): the answers offered are the ones
    it declares there, and the one chosen is pressed there once."""
    h = _on_host(monkeypatch, remote)
    home = remote.host.home
    program = base64.b64encode((HERE / "dash_agents.py").read_bytes()).decode()
    adapter = base64.b64encode(ASKER_ADAPTER.encode()).decode()
    setup = (
        "mkdir -p .config/harnex/adapters && "
        f"echo {adapter} | base64 -d > .config/harnex/adapters/asker.toml && "
        f"echo {program} | base64 -d > records/dash_agents.py"
    )
    assert remote.host.ssh(setup).returncode == 0
    log = remote.record("asker")
    try:
        started = h.run(
            "run", "--on", NAME, "--id", "asker", "--detach", "--cli", "asker",
            remote.python, "--", f"{home}/records/dash_agents.py", "--record", str(log),
            timeout=60,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        target = f"{NAME}:asker"
        h.run("wait", "--id", target, "--until", "confirmation", "--timeout", "30", check=True)
        asked = h.json("send", "--id", target, "--dialog-keys")
        assert (asked["state"], asked["keys"]) == ("confirmation", [["y"]])

        async def script(pilot: Any, app: DashApp) -> None:
            from harnex_tmux.dash.screens import AnswerScreen

            row = await until(pilot, lambda: _far(app, "asker"), timeout=60)
            assert row.state == "confirmation" and row.look.glyph == "?"
            await select(pilot, app, "asker")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AnswerScreen), timeout=60)
            assert app.screen.choices == [("the adapter's answer 1", ("y",))]
            await pilot.press("1")
            await until(pilot, lambda: f"{target}: pressed y" in app.message, timeout=60)
            row = await until(
                pilot, lambda: (r := _far(app, "asker")) and r.state == "prompt" and r, 60
            )
            assert app.check_action("answer", ()) is None  # no dialog: nothing to answer

        drive(h, script, (160, 30))
        assert [json.loads(line) for line in log.read_text().splitlines()] == [{"answer": "y"}]
        # A key meant for a dialog that is no longer up is not pressed.
        late = h.run("send", "--id", target, "--press", "y", "--in-state", "confirmation")
        assert late.returncode == 1 and "is prompt now, not confirmation" in late.stderr
        assert [json.loads(line) for line in log.read_text().splitlines()] == [{"answer": "y"}]
    finally:
        remote.host.ssh("rm -f .config/harnex/adapters/asker.toml records/dash_agents.py")


def _windows(harnex: Harnex) -> dict[str, str]:
    """This test's private tmux server's windows: name -> window id."""
    out = harnex.tmux("list-windows", "-a", "-F", "#{window_name} #{window_id}").stdout
    return dict(line.rsplit(" ", 1) for line in out.splitlines() if " " in line)


def test_jump_opens_a_window_attached_to_the_hosts_window(
    remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside tmux: a new window of the caller's session (on this test's private server)
    running ``harnex attach NAME:id``'s ssh, which shows the host's pane. Outside tmux the
    app hands the terminal to that ssh (headless it cannot, and says the command)."""
    h = _on_host(monkeypatch, remote)
    _ready_demo(remote, "far")
    here = start_ready(h, "here")
    monkeypatch.setenv("TMUX", f"{default_socket_path(h.socket)},1,0")
    monkeypatch.setenv("TMUX_PANE", here["pane_id"])
    name = f"attach:{NAME}:far"

    async def script(pilot: Any, app: DashApp) -> None:
        await until(pilot, lambda: _far(app, "far"), timeout=60)
        await select(pilot, app, "far")
        await pilot.press("j")
        await until(pilot, lambda: f"showing {NAME}:far's window" in app.message, timeout=60)
        assert list(_windows(h)).count(name) == 1
        monkeypatch.delenv("TMUX")
        monkeypatch.delenv("TMUX_PANE")
        await pilot.press("j")
        await until(pilot, lambda: "cannot attach here" in app.message, timeout=60)
        command = app.message.split("run: ", 1)[1]
        assert command.startswith("ssh ") and " -t " in command
        assert "attach-session" in command

    drive(h, script, (160, 30))
    window = _windows(h)[name]
    try:
        # The window is a tmux client of the host's server: it shows the remote pane.
        wait_for(lambda: "demo>" in h.tmux("capture-pane", "-p", "-t", window).stdout, 60)
    finally:
        h.tmux("kill-window", "-t", window)


def test_diff_shows_the_hosts_worktree_change(
    remote: Remote, remote_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _on_host(monkeypatch, remote)
    folder = f"{remote_repo}/wts"
    agent = (
        "echo changed by the agent >> .gitignore; echo new > fresh.txt; "
        f"exec {remote.python} -m harnex_tmux.demo_agent"
    )
    started = h.run(
        "run", "--on", NAME, "--id", "wtf", "--detach", "--worktree", "--worktree-dir", folder,
        "--prompt-regex", r"^demo> ?$", "sh", "--", "-c", agent,
        timeout=60,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    h.run("wait", "--id", f"{NAME}:wtf", "--until", "prompt", "--timeout", "60", check=True)

    async def script(pilot: Any, app: DashApp) -> None:
        row = await until(pilot, lambda: _far(app, "wtf"), timeout=60)
        assert row.worktree is not None and row.worktree.branch == "harnex/wtf"
        await select(pilot, app, "wtf")
        assert app.check_action("diff", ()) is True
        await pilot.press("d")
        text = await diff_text(pilot, app, timeout=60)
        assert "+changed by the agent" in text and "--- a/.gitignore" in text
        assert "untracked: fresh.txt" in text

    drive(h, script, (160, 30))
