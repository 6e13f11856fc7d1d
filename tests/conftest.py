"""Shared fixtures: every test gets its own tmux server socket, state dir and repo.

Nothing here touches the user's tmux server: the CLI is pointed at a private socket through
``HARNEX_TMUX_SOCKET``, and teardown kills that server and the sidecars this test started,
by socket name and by pid only.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harnex_tmux.session.client import SidecarClient
from harnex_tmux.tmux import default_socket_path
from tests.procs import alive

PYTHON = sys.executable
# Every tool `harnex mcp` serves: what any client, ours or a third party's, must list.
MCP_TOOLS = {
    "run",
    "send",
    "status",
    "pane",
    "wait",
    "events",
    "stop",
    "report",
    "resume",
    "budget",
}


@dataclass
class Harnex:
    """Runs the real CLI in a subprocess against this test's tmux server and state dir."""

    env: dict[str, str]
    repo: Path
    state_dir: Path
    socket: str

    def run(
        self,
        *args: str,
        input: str | None = None,
        timeout: float = 60,
        check: bool = False,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [PYTHON, "-m", "harnex_tmux", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env or self.env,
            cwd=cwd or self.repo,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"harnex {' '.join(args)} exited {result.returncode}: {result.stderr}"
            )
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        result = self.run(*args, check=True, **kwargs)
        return json.loads(result.stdout)

    def start_demo(
        self,
        ident: str,
        *extra: str,
        record: Path | None = None,
        busy: float = 0.3,
        env: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        agent = [PYTHON, "-m", "harnex_tmux.demo_agent", "--busy", str(busy)]
        if record is not None:
            agent += ["--record", str(record)]
        return self.start(ident, *extra, command=agent, env=env)

    def start(
        self, ident: str, *extra: str, command: list[str], env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = self.json(
            "run",
            "--id",
            ident,
            "--detach",
            *extra,
            command[0],
            "--",
            *command[1:],
            env=dict(self.env, **(env or {})),
        )
        return data

    def popen(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        stdout: int = subprocess.PIPE,
        new_session: bool = False,
    ) -> subprocess.Popen[str]:
        """The real CLI as a process this test runs alongside (a server, a follower, a send
        it interrupts), with this test's environment (plus ``env``) and no stdin; stderr
        and, unless told, stdout are pipes of text. ``new_session`` puts it in a process
        group of its own, for a signal to the group."""
        return subprocess.Popen(
            [PYTHON, "-m", "harnex_tmux", *args],
            env=dict(self.env, **(env or {})),
            cwd=self.repo,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=new_session,
        )

    @contextlib.contextmanager
    def mcp_http(self, *extra: str) -> Iterator[str]:
        """``harnex mcp --http 0 EXTRA`` against this test's tmux server and state dir, on a
        free loopback port; gives its first stderr line (where it says its URL), and ends
        the server after."""
        server = self.popen("mcp", "--http", "0", *extra, stdout=subprocess.DEVNULL)
        try:
            assert server.stderr is not None
            yield server.stderr.readline().strip()
        finally:
            server.terminate()
            server.wait(timeout=20)

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )

    def sidecar(self, ident: str, token: str | None = None, timeout: float = 5.0) -> SidecarClient:
        """A client of session ``ident``'s sidecar API, as its record says (with ``token``
        instead of the record's, to try a wrong one)."""
        (record,) = [r for r in self.registry() if r["id"] == ident]
        return SidecarClient(record["host"], record["port"], token or record["token"], timeout)

    def registry(self) -> list[dict[str, Any]]:
        folder = self.state_dir / "sessions"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def recorded(path: Path) -> list[str]:
    """The messages the demo agent received, in order (its --record file)."""
    if not path.exists():
        return []
    return [json.loads(line)["text"] for line in path.read_text().splitlines()]


def spend_tokens(transcript: Path, call: int, tokens: int) -> None:
    """One model call of ``tokens`` fresh input tokens appended to a Claude Code transcript,
    as Claude Code writes it: how a test with the demo agent (which reports no usage of its
    own) makes a session spend, for budgets and the dashboard's columns alike."""
    message = {"id": f"m{call}", "model": "claude-sonnet-4-5", "usage": {"input_tokens": tokens}}
    line = {"type": "assistant", "requestId": f"r{call}", "message": message}
    with transcript.open("a") as handle:
        handle.write(json.dumps(line) + "\n")


def user_cli(harnex: Harnex, folder: Path, adapter: str, command: str) -> dict[str, str]:
    """A CLI harnex does not know, as a user adds one: its adapter file (TOML text naming
    it) in a config folder under ``folder``, and an executable of that name on PATH running
    the shell ``command``. The env for the harnex that is to find both."""
    import tomllib

    name = tomllib.loads(adapter)["name"]
    adapters = folder / "config" / "harnex" / "adapters"
    adapters.mkdir(parents=True)
    (adapters / f"{name}.toml").write_text(adapter, encoding="utf-8")
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\nexec {command}\n")
    script.chmod(0o755)
    env = dict(harnex.env, XDG_CONFIG_HOME=str(folder / "config"))
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate`` returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def _foreign(key: str) -> bool:
    return key in ("TMUX", "TMUX_PANE") or key.startswith("HARNEX_")


@pytest.fixture
def harnex(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harnex]:
    socket = f"harnex-test-{secrets.token_hex(4)}"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    state_dir = tmp_path / "state"
    # Not inside any tmux client, and none of the caller's harnex settings; TMUX_TMPDIR stays,
    # as a new user's would, and the tests' own tmux calls see the same value.
    env = {k: v for k, v in os.environ.items() if not _foreign(k)}
    env.update(
        HARNEX_STATE_DIR=str(state_dir),
        HARNEX_TMUX_SOCKET=socket,
        HARNEX_GENERIC_QUIET="0.3",
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    for key in [k for k in os.environ if _foreign(k)]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("HARNEX_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(repo)
    h = Harnex(env=env, repo=repo, state_dir=state_dir, socket=socket)
    try:
        yield h
    finally:
        _teardown(h)


def _teardown(h: Harnex) -> None:
    sidecars = [r.get("sidecar_pid") for r in h.registry()]
    with contextlib.suppress(Exception):
        h.tmux("kill-server")
    # tmux leaves its socket file behind; this one is ours by its unique name.
    Path(default_socket_path(h.socket)).unlink(missing_ok=True)
    deadline = time.monotonic() + 3
    for pid in sidecars:
        if not isinstance(pid, int):
            continue
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.05)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Figures:
    """Numbers a reliability test measured, for scripts/reliability.py to report.

    Written as JSON lines to ``$RELIABILITY_FIGURES_FILE`` when set; otherwise kept only for
    the test itself (the asserts are what decide pass or fail).
    """

    test: str
    values: dict[str, Any] = field(default_factory=dict)

    def record(self, name: str, value: Any, unit: str = "") -> None:
        self.values[name] = value
        self._write({"test": self.test, "name": name, "value": value, "unit": unit})

    def note(self, text: str) -> None:
        """A paragraph under the figures: what they mean, where a number alone misleads."""
        self._write({"test": self.test, "note": text})

    @staticmethod
    def _write(line: dict[str, Any]) -> None:
        out = os.environ.get("RELIABILITY_FIGURES_FILE")
        if out:
            with open(out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return Figures(request.node.nodeid)


# The second host over a real sshd, for every module that asks for it (one server per run).
# Imported last: remote_host uses Harnex from this module.
from tests.remote_host import remote, remote_repo, test_host  # noqa: E402, F401
