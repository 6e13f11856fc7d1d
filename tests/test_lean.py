"""What a sidecar and the CLI load: only the parts of libtmux and the standard library they
use, so a session costs little memory and starts quickly (the figures are in
docs/benchmarks.md; these tests check the imports that produce them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from conftest import Harnex, wait_for

from harnex_tmux.foreground import TerminalUse
from harnex_tmux.sidecar.output_clock import OutputClock
from harnex_tmux.tmux import CursorLine

ROOT = Path(__file__).resolve().parents[1]


def _in_fresh_python(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter (this one has loaded everything already) and return
    what it printed as JSON."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_tmux_commands_load_only_the_libtmux_runner(tmp_path: Path) -> None:
    found = _in_fresh_python(
        "import json, sys\n"
        "from harnex_tmux.tmux import Tmux\n"
        f"answer = Tmux({str(tmp_path / 'no-server')!r})._try('list-sessions')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('libtmux'))\n"
        "import libtmux\n"
        "from libtmux import Pane\n"
        "print(json.dumps({'answer': answer, 'loaded': loaded,\n"
        "    'server': libtmux.Server.__name__, 'pane': Pane.__name__,\n"
        "    'version': libtmux.__version__}))\n"
    )
    assert found["answer"] is None  # a command ran (and failed: no server there)
    loaded = found["loaded"]
    assert isinstance(loaded, list) and "libtmux.common" in loaded
    assert not {"libtmux.server", "libtmux.session", "libtmux.pane", "libtmux.neo"} & set(loaded)
    # The rest of libtmux is still there for anyone in the process who asks for it.
    assert (found["server"], found["pane"]) == ("Server", "Pane")
    assert found["version"]


def test_tmux_runs_the_same_command_line_as_libtmux_server(tmp_path: Path) -> None:
    import libtmux

    from harnex_tmux.tmux import Tmux

    socket = str(tmp_path / "s")
    ours = Tmux(socket)
    ours._try("list-sessions")
    theirs = libtmux.Server(socket_path=socket).cmd("list-sessions")
    assert ours._last_stderr == theirs.stderr


def test_sidecar_modules_leave_out_http_server_openssl_and_libtmux_objects() -> None:
    found = _in_fresh_python(
        "import json, sys\n"
        "import harnex_tmux.sidecar.__main__, harnex_tmux.sidecar.app, harnex_tmux.sidecar.api\n"
        "from harnex_tmux.tmux import Tmux\n"
        "print(json.dumps({'modules': sorted(sys.modules)}))\n"
    )
    modules = found["modules"]
    assert isinstance(modules, list)
    heavy = {"http.server", "http.client", "email", "ssl", "_hashlib", "hmac", "libtmux.server"}
    assert not heavy & set(modules)


def test_a_running_sidecar_has_not_loaded_openssl(harnex: Harnex) -> None:
    """The token check, the session token and the repo hash all work without OpenSSL."""
    harnex.start_demo("lean")
    (record,) = [r for r in harnex.registry() if r["id"] == "lean"]
    assert harnex.json("send", "--id", "lean", "--message", "hi")["status"] == "delivered"
    maps = Path(f"/proc/{record['sidecar_pid']}/maps").read_text()
    assert "libcrypto" not in maps and "libssl" not in maps


def test_tokens_match_the_standard_library() -> None:
    import hashlib

    from harnex_tmux import tokens

    assert tokens.sha256_hex(b"repo") == hashlib.sha256(b"repo").hexdigest()
    assert tokens.sha256_digest(b"x") == hashlib.sha256(b"x").digest()
    token = tokens.token_hex(16)
    assert len(token) == 32 and int(token, 16) >= 0 and token != tokens.token_hex(16)
    assert tokens.same_secret(b"abc", b"abc") and not tokens.same_secret(b"abc", b"abd")


def test_a_window_in_an_existing_session_takes_no_failed_new_session(tmp_path: Path) -> None:
    """has-session answers an empty line list when the session exists: that is not 'missing'
    (it used to start a new-session that failed, a wasted tmux run per launch)."""
    from harnex_tmux.tmux import Tmux

    socket = str(tmp_path / "tmux.sock")
    tmux = Tmux(socket)
    ran: list[tuple[str, ...]] = []
    real_run = tmux._run

    def recording(*args: str) -> list[str]:
        ran.append(args)
        return real_run(*args)

    tmux._run = recording  # type: ignore[method-assign]
    log = tmp_path / "out.log"
    try:
        placements = []
        for n in range(2):
            ran.append(("window",))
            placement = tmux.create_agent_window(
                command=["sleep", "60"],
                window_name=f"w{n}",
                cwd=str(tmp_path),
                env={"PATH": os.environ["PATH"]},
                env_file=tmp_path / f"{n}.env",
                exit_record=tmp_path / f"{n}.exit",
                ident=f"w{n}",
                gate=f"gate-{n}",
                target_session=None,
            )
            placements.append(placement)
            tmux.prepare_pane(placement.pane_id, log, f"key-{n}")
        second = ran[len(ran) - ran[::-1].index(("window",)) :]
        assert [args[0] for args in second] == ["has-session", "new-window", "set-option"]
        # The one prepare_pane run did all three of its steps.
        pane = placements[1].pane_id
        shown = tmux._run("show-options", "-p", "-t", pane)
        assert "remain-on-exit on" in shown and "@harnex_key key-1" in shown
        assert tmux._run("display-message", "-p", "-t", pane, "#{pane_pipe}") == ["1"]
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)


def _early_sidecars(state_dir: Path) -> list[int]:
    """Processes started as an early sidecar for this test's state folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = f"HARNEX_STATE_DIR={state_dir}".encode() in environ
        if ours and b"harnex_tmux.sidecar" in argv and b"--early" in argv:
            found.append(int(entry.name))
    return found


def test_an_early_started_sidecar_logs_to_its_session_log(harnex: Harnex) -> None:
    """run starts the sidecar's interpreter before it knows the session; once the sidecar
    has its spec, its stderr goes to the session's log, private."""
    info = harnex.start("early", command=["sh", "-c", "printf '> '; read x; sleep 60"])
    (log,) = (harnex.state_dir / "sidecar").glob("*--early.log")
    assert os.readlink(f"/proc/{info['sidecar_pid']}/fd/2") == str(log)
    assert log.stat().st_mode & 0o777 == 0o600


def test_a_launch_that_fails_leaves_no_early_sidecar(harnex: Harnex) -> None:
    result = harnex.run("run", "--id", "nope", "--detach", "no-such-agent-command-x")
    assert result.returncode == 1 and "agent command not found" in result.stderr
    wait_for(lambda: not _early_sidecars(harnex.state_dir), timeout=20)
    assert not list((harnex.state_dir / "sidecar").glob("*--nope.log"))


def test_cursor_line_takes_one_tmux_run(tmp_path: Path) -> None:
    from harnex_tmux.tmux import Tmux

    socket = str(tmp_path / "tmux.sock")
    tmux = Tmux(socket)
    try:
        out = tmux._run(
            "new-session", "-d", "-P", "-F", "#{pane_id}", "-x", "80", "-y", "10",
            "sh", "-c", "printf 'one\\r\\ntwo\\r\\n> typed'; sleep 60",
        )  # fmt: skip
        pane = out[0]
        runs: list[tuple[str, ...]] = []
        real_run = tmux._run

        def recording(*args: str) -> list[str]:
            runs.append(args)
            return real_run(*args)

        tmux._run = recording  # type: ignore[method-assign]
        line = wait_for(lambda: (found := tmux.cursor_line(pane)) and found.text and found)
        assert line.text == "> typed" and line.row == 2
        assert len(runs) == runs.count(runs[0]) and runs[0][0] == "display-message"
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)


class _ReaderPane:
    """The pane of a generic session whose program echoes what is typed and then, as the
    kernel shows it, reads its terminal (``use``); pressing Enter makes it print a new prompt
    line. Each echo ticks ``clock``, as the output watcher would."""

    def __init__(self, clock: _CountingClock, use: str) -> None:
        self.typing = threading.Lock()
        self.clock = clock
        self.use = TerminalUse(use)
        self.line = CursorLine(0, "> ")
        self.typed: list[str] = []

    def type_text(self, text: str) -> None:
        self.typed.append(text)
        self.line = CursorLine(0, "> " + text)
        self.clock.tick()  # the echo

    def paste(self, text: str) -> None:
        self.type_text(text)

    def send_keys(self, *keys: str) -> None:
        self.typed.append("<Enter>")
        self.line = CursorLine(1, "> ")
        self.clock.tick()

    def cursor_line(self) -> CursorLine:
        return self.line

    def capture_screen(self) -> None:
        return None

    def terminal_use(self) -> TerminalUse:
        return self.use

    @property
    def quiet_waits(self) -> int:
        return self.clock.quiet_waits


class _CountingClock(OutputClock):
    """An output clock that counts how often delivery waited for the output to go quiet."""

    def __init__(self) -> None:
        super().__init__()
        self.quiet_waits = 0

    def wait_quiet(self, quiet_s: float, max_s: float) -> None:
        self.quiet_waits += 1
        super().wait_quiet(quiet_s, max_s)


def _deliver_to_reader(tmp_path: Path, use: str, text: str) -> tuple[str, _ReaderPane]:
    from harnex_tmux.adapters import adapter_for
    from harnex_tmux.events import EventLog
    from harnex_tmux.sidecar.delivery import Deliverer
    from harnex_tmux.sidecar.inbox import Inbox, Message
    from harnex_tmux.sidecar.ledger import Ledger
    from harnex_tmux.sidecar.readiness import Readiness

    clock = _CountingClock()
    pane = _ReaderPane(clock, use)
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    readiness = Readiness()
    ledger = Ledger(inbox, EventLog(tmp_path / "events.jsonl", "s1"), readiness)
    message = inbox.add(Message(text=text))
    deliverer = Deliverer(
        adapter=adapter_for("generic"),
        pane=pane,
        clock=clock,
        ledger=ledger,
        readiness=readiness,
        log=lambda line: None,
    )
    deliverer.deliver(message)
    return message.status, pane


def test_a_line_echoed_to_a_reading_program_has_landed_without_a_quiet_wait(
    tmp_path: Path,
) -> None:
    status, host = _deliver_to_reader(tmp_path, "reading", "one line")
    assert status == "delivered" and host.typed == ["one line", "<Enter>"]
    assert host.quiet_waits == 0


def test_an_event_loop_or_a_paste_still_waits_for_quiet_output(tmp_path: Path) -> None:
    status, host = _deliver_to_reader(tmp_path, "polling", "one line")
    assert status == "delivered" and host.quiet_waits == 1
    status, host = _deliver_to_reader(tmp_path, "reading", "two\nlines")
    assert status == "delivered" and host.quiet_waits == 1


def test_sidecar_modules_leave_out_what_only_errors_and_codex_need() -> None:
    found = _in_fresh_python(
        "import json, sys\n"
        "import harnex_tmux.sidecar.__main__, harnex_tmux.sidecar.app, harnex_tmux.sidecar.api\n"
        "print(json.dumps({'modules': sorted(sys.modules)}))\n"
    )
    modules = found["modules"]
    assert isinstance(modules, list)
    assert not {"platform", "tomllib", "traceback"} & set(modules)


def test_api_server_serves_until_shutdown_and_shutdown_never_hangs() -> None:
    import socket
    import threading

    from harnex_tmux.session.client import SidecarClient
    from harnex_tmux.sidecar.server import ApiServer, Router

    router = Router()
    router.add("GET", "/ping", lambda request, rest: (200, {"ok": True, "rest": rest}))
    listener = socket.create_server(("127.0.0.1", 0))
    server = ApiServer(listener, "t0ken", router)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    answer = SidecarClient("127.0.0.1", port, "t0ken").request("GET", "/ping/a%2Fb")
    assert answer.status == 200 and answer.body == {"ok": True, "rest": ["a/b"]}
    server.shutdown()
    thread.join(timeout=10)
    assert not thread.is_alive() and listener.fileno() == -1
    # A server that never served: shutdown returns at once.
    idle = ApiServer(socket.create_server(("127.0.0.1", 0)), "t", router)
    idle.shutdown()


def test_textual_is_loaded_only_by_dash() -> None:
    """The dashboard's Textual (and textual-serve's aiohttp for --web) must not slow the
    other commands or the sidecar down."""
    found = _in_fresh_python(
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from harnex_tmux.cli.main import cli\n"
        "import harnex_tmux.sidecar.app, harnex_tmux.sidecar.api\n"
        "names = ['status', 'send', 'stop', 'wait', 'pane', 'run', 'recover', 'mcp', 'events']\n"
        "for name in names:\n"
        "    cli.get_command(None, name)\n"
        "CliRunner().invoke(cli, ['status', '--tmux'])\n"
        "heavy = ('textual', 'rich', 'textual_serve', 'aiohttp', 'jinja2')\n"
        "before = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "import harnex_tmux.cli.dash\n"
        "cli_dash = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "import harnex_tmux.dash.app\n"
        "app = 'textual.app' in sys.modules and 'aiohttp' not in sys.modules\n"
        "import harnex_tmux.dash.web\n"
        "web = 'textual_serve.server' in sys.modules\n"
        "print(json.dumps({'before': before, 'cli_dash': cli_dash, 'app': app, 'web': web}))\n"
    )
    assert found["before"] == [] and found["cli_dash"] == []
    # The terminal dashboard does not load the web server; only --web does.
    assert found["app"] is True and found["web"] is True
