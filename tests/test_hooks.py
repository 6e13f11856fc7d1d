"""The hook wiring without the real CLIs: launch arguments, and the hook script itself."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

from harnex_tmux import hook
from harnex_tmux.adapters import HookTarget, adapter_for

HOOK = [sys.executable, "-S", "-P", hook.__file__]
TARGET = HookTarget(command=HOOK, url="http://127.0.0.1:4711/hook")


def test_claude_posts_its_events_to_the_sidecar() -> None:
    argv = adapter_for("claude").launch_argv(["claude", "--model", "x"], TARGET, {})
    assert argv[0] == "claude" and argv[1] == "--settings" and argv[-2:] == ["--model", "x"]
    hooks = json.loads(argv[2])["hooks"]
    assert set(hooks) == {"UserPromptSubmit", "Stop", "Notification"}
    stop = hooks["Stop"][0]["hooks"][0]
    assert stop["type"] == "http" and stop["url"] == "http://127.0.0.1:4711/hook/claude"
    # The token comes from the agent's environment, never from its command line.
    assert stop["headers"] == {"Authorization": "Bearer $HARNEX_HOOK_TOKEN"}
    assert stop["allowedEnvVars"] == ["HARNEX_HOOK_TOKEN"]
    # A user's own --settings is left alone (the session then reads only the screen).
    own = ["claude", "--settings", "mine.json"]
    assert adapter_for("claude").launch_argv(own, TARGET, {}) == own
    assert adapter_for("claude").launch_argv(["claude"], None, {}) == ["claude"]


def test_claude_command_hooks_on_request() -> None:
    env = {"HARNEX_CLAUDE_HOOKS": "command"}
    argv = adapter_for("claude").launch_argv(["claude"], TARGET, env)
    hooks = json.loads(argv[2])["hooks"]
    assert set(hooks) == {"SessionStart", "UserPromptSubmit", "Stop", "Notification"}
    stop = hooks["Stop"][0]["hooks"][0]
    assert stop["type"] == "command" and stop["async"] is True
    assert stop["command"].endswith(" claude Stop") and hook.__file__ in stop["command"]


def test_codex_notify_chains_the_users_own(tmp_path: Path) -> None:
    codex = adapter_for("codex")
    argv = codex.launch_argv(["codex"], TARGET, {"HOME": str(tmp_path)})
    assert argv[:3] == ["codex", "--no-alt-screen", "-c"]
    assert json.loads(argv[3].removeprefix("notify=")) == [*HOOK, "codex"]
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "config.toml").write_text('notify = ["notify-send", "-a", "codex"]\n')
    argv = codex.launch_argv(["codex"], TARGET, {"HOME": str(tmp_path)})
    notify = json.loads(argv[3].removeprefix("notify="))
    assert notify[-3:] == ["codex", "--chain", '["notify-send", "-a", "codex"]']


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Recorder.received.append(
            {"auth": self.headers["Authorization"], "body": json.loads(self.rfile.read(length))}
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _run_hook(args: list[str], registry: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"HARNEX_REGISTRY": str(registry), "PATH": os.environ["PATH"]}
    return subprocess.run(
        [*HOOK, *args], input=stdin, capture_output=True, text=True, env=env, timeout=20
    )


@contextlib.contextmanager
def recording_sidecar(folder: Path) -> Iterator[Path]:
    """A stand-in for a sidecar's hook endpoint, recording what it is sent in
    ``_Recorder.received``, and the registry file in ``folder`` that names it (what the hook
    script reads to find its sidecar); shut down afterwards."""
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    registry = folder / "session.json"
    registry.write_text(
        json.dumps({"host": "127.0.0.1", "port": server.server_port, "token": "t" * 32})
    )
    try:
        yield registry
    finally:
        server.shutdown()


def test_hook_posts_events_and_chains(tmp_path: Path) -> None:
    with recording_sidecar(tmp_path) as registry:
        done = _run_hook(["claude", "Stop"], registry, '{"last_assistant_message": "hi"}')
        assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
        marker = tmp_path / "chained.json"
        chain = json.dumps(
            [sys.executable, "-c", f"import sys; open({str(marker)!r}, 'w').write(sys.argv[1])"]
        )
        payload = json.dumps({"type": "agent-turn-complete", "thread-id": "t1"})
        assert _run_hook(["codex", "--chain", chain, payload], registry).returncode == 0
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert json.loads(marker.read_text())["thread-id"] == "t1"
        gemini = _run_hook(["gemini", "BeforeAgent"], registry, '{"prompt": "typed"}')
        assert gemini.returncode == 0 and gemini.stdout == ""  # Gemini reads stdout as JSON
        qwen = _run_hook(["qwen", "UserPromptSubmit"], registry, '{"prompt": "typed"}')
        assert qwen.returncode == 0 and qwen.stdout == ""
    first, second, third, fourth = _Recorder.received[-4:]
    assert fourth["body"] == {
        "source": "qwen",
        "event": "UserPromptSubmit",
        "payload": {"prompt": "typed"},
    }
    assert third["body"] == {
        "source": "gemini",
        "event": "BeforeAgent",
        "payload": {"prompt": "typed"},
    }
    assert first["auth"] == "Bearer " + "t" * 32
    assert first["body"] == {
        "source": "claude",
        "event": "Stop",
        "payload": {"last_assistant_message": "hi"},
    }
    assert second["body"]["event"] == "agent-turn-complete"


def test_hook_never_fails_the_agent(tmp_path: Path) -> None:
    dead = tmp_path / "gone.json"
    assert _run_hook(["claude", "Stop"], dead, "{}").returncode == 0  # no registry
    dead.write_text(json.dumps({"host": "127.0.0.1", "port": 9, "token": "x"}))
    result = _run_hook(["claude", "UserPromptSubmit"], dead, "not json")
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    assert _run_hook(["nonsense"], dead).returncode == 0
