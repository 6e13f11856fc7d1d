"""MCP clients nobody here wrote, against ``harnex mcp`` (stdio) and ``harnex mcp --http``:
the MCP Inspector's ``--cli`` mode and Apify's ``mcpc``, at the versions
:mod:`.mcp_clients` pins, on the Node it pins. The SDK's own client is in tests/test_mcp.py.

For each client and transport: the tool list; run, send (a multi-line unicode message), wait,
pane, events and stop on a recording demo agent, the message arriving once and exact; a
mistyped argument and an infinite or huge timeout refused in one line that names the argument;
and over HTTP a wrong token refused (the Inspector shows "invalid token"; mcpc, see below).

What each client does on its own, which the tests work with:

- The Inspector's CLI is one process per call: over stdio every call starts its own
  ``harnex mcp``. The environment it gives that child is its small default one plus ``-e``
  pairs, so harnex's settings go in with ``-e``. It converts string arguments to the type the
  tool's schema names before sending (``"5"`` goes out as ``5``, ``"soon"`` as ``NaN``, which
  JSON writes as ``null``), so the mistyped timeout it can send is ``"soon"``; an ``id`` of
  ``7`` it leaves alone. After a 401 it wants an OAuth login, which it cannot start without a
  terminal; with ``--stored-auth-only`` it skips that and reports harnex's "invalid token".
- ``mcpc`` keeps a session per ``connect`` in a bridge process under ``~/.mcpc`` (a
  throw-away HOME here, and its bridges are stopped at the end). It has no stdio mode of its
  own: a stdio server comes from a config file entry (``file:name``), for which
  ``harnex mcp --print-config claude``'s ``mcpServers`` JSON serves as it is (``env`` added).
  It starts its bridge with the ``node`` on PATH, so the pinned Node's folder goes first.
  ``connect`` with a wrong token still exits 0 (the session is made, the server "not
  responding"), and every use of the session fails. Why it fails it tells only now and then:
  it takes a 401 without a challenge for a lost connection, restarts its bridge, and the
  bridge often exits before passing harnex's "invalid token" line on (then it says
  "Connection closed"). So for mcpc the test checks that nothing gets through, not the text.
- Both read a JSON ``1e999`` as Infinity, which goes out as ``null``: refused as "must be a
  number". ``1e300`` reaches harnex as a number: "must be at most 86400".
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from conftest import MCP_TOOLS, Figures, Harnex, recorded, wait_for

from harnex_tmux.mcp.config import client_config

from .agents import _stop_pids, processes_with_home
from .mcp_clients import McpClients

pytestmark = pytest.mark.e2e

PYTHON = sys.executable
SERVER = [PYTHON, "-m", "harnex_tmux", "mcp"]
TOOLS = MCP_TOOLS
MESSAGE = "Grüße aus dem Test 👋\nzweite Zeile — ✓ naïve café\n第三行: 日本語 한국어"
CALL_TIMEOUT = 90.0


@dataclass(frozen=True)
class Answer:
    """A tools/call result as the client printed it."""

    is_error: bool
    text: str
    structured: dict[str, Any] | None


def answer_of(result: dict[str, Any]) -> Answer:
    text = "\n".join(c["text"] for c in result.get("content", []) if c.get("type") == "text")
    return Answer(bool(result.get("isError")), text, result.get("structuredContent"))


class McpClient(Protocol):
    calls: int

    def tools(self) -> set[str]: ...

    def call(self, tool: str, arguments: dict[str, Any] | str) -> Answer: ...


def server_env(harnex: Harnex) -> dict[str, str]:
    """What ``harnex mcp`` needs from this test's environment: its state dir, tmux socket and
    settings, and the import path of this checkout."""
    keep = ("PYTHONPATH", "TMUX_TMPDIR")
    return {k: v for k, v in harnex.env.items() if k.startswith("HARNEX_") or k in keep}


def client_env(harnex: Harnex, clients: McpClients, home: Path) -> dict[str, str]:
    path = f"{clients.node.parent}:{harnex.env.get('PATH', '/usr/bin:/bin')}"
    return dict(harnex.env, HOME=str(home), PATH=path)


def run_client(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float = CALL_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def raw_json(arguments: dict[str, Any] | str) -> str:
    """Arguments as JSON text; a string is sent as written (JSON's ``1e999`` has no
    ``json.dumps`` spelling)."""
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


@dataclass
class Inspector:
    """``node inspector --cli``, one process per call, against stdio or a URL."""

    clients: McpClients
    harnex: Harnex
    home: Path
    url: str | None = None
    token: str | None = None
    calls: int = 0

    def argv(self, *method: str, token: str | None = None) -> list[str]:
        head = [str(self.clients.node), str(self.clients.inspector), "--cli"]
        head += ["--format", "json", "-q"]
        if self.url is None:
            pairs = [f"{k}={v}" for k, v in server_env(self.harnex).items()]
            env_args = [arg for pair in pairs for arg in ("-e", pair)]
            return [*head, *env_args, *method, "--", *SERVER]
        header = f"Authorization: Bearer {token or self.token}"
        return [*head, "--server-url", self.url, "--header", header, *method]

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls += 1
        env = client_env(self.harnex, self.clients, self.home)
        return run_client(argv, env, self.harnex.repo)

    def result(self, argv: list[str]) -> dict[str, Any]:
        done = self.run(argv)
        assert done.stdout.strip(), (done.returncode, done.stderr)
        printed: dict[str, Any] = json.loads(done.stdout)
        return dict(printed.get("result", printed))

    def tools(self) -> set[str]:
        listed = self.result(self.argv("--method", "tools/list"))
        return {tool["name"] for tool in listed["tools"]}

    def call(self, tool: str, arguments: dict[str, Any] | str) -> Answer:
        method = ["--method", "tools/call", "--tool-name", tool]
        return answer_of(self.result(self.argv(*method, "--tool-args-json", raw_json(arguments))))


@dataclass
class Mcpc:
    """``node mcpc``: one ``connect`` (a bridge process holding the session), then a process
    per call on that session."""

    clients: McpClients
    harnex: Harnex
    home: Path
    session: str = "@harnex"
    calls: int = 0
    sessions: list[str] = field(default_factory=list)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.calls += 1
        env = client_env(self.harnex, self.clients, self.home)
        argv = [str(self.clients.node), str(self.clients.mcpc), *args]
        return run_client(argv, env, self.harnex.repo)

    def connect(self, server: str, session: str, *options: str) -> subprocess.CompletedProcess[str]:
        self.sessions.append(session)
        return self.run("connect", server, session, *options, "--json")

    def tools(self) -> set[str]:
        done = self.run(self.session, "tools-list", "--json")
        assert done.returncode == 0, done.stderr
        return {tool["name"] for tool in json.loads(done.stdout)}

    def call(self, tool: str, arguments: dict[str, Any] | str) -> Answer:
        done = self.run(self.session, "tools-call", tool, raw_json(arguments), "--json")
        assert done.stdout.strip(), (done.returncode, done.stderr)
        return answer_of(json.loads(done.stdout))

    def close(self) -> None:
        for session in self.sessions:
            self.run("close", session)
        _stop_pids(processes_with_home(self.home), self.home)


@dataclass
class HttpServer:
    url: str
    token: str


@pytest.fixture
def http_server(harnex: Harnex) -> Iterator[HttpServer]:
    """``harnex mcp --http 0`` with a token of the test's own, on a free loopback port."""
    token = secrets.token_hex(16)
    with harnex.mcp_http("--token", token) as line:
        match = re.fullmatch(r"harnex mcp: serving (http://127\.0\.0\.1:\d+/mcp)", line)
        assert match, line
        yield HttpServer(match.group(1), token)


KINDS = ["inspector-stdio", "inspector-http", "mcpc-stdio", "mcpc-http"]


@pytest.fixture(params=KINDS)
def client(
    request: pytest.FixtureRequest, mcp_clients: McpClients, harnex: Harnex, tmp_path: Path
) -> Iterator[McpClient]:
    """One client on one transport, talking to this test's harnex (socket, state dir, repo)."""
    name, transport = str(request.param).split("-")
    home = tmp_path / f"{name}-home"
    home.mkdir()
    server = request.getfixturevalue("http_server") if transport == "http" else None
    if name == "inspector":
        url, token = (server.url, server.token) if server else (None, None)
        yield Inspector(mcp_clients, harnex, home, url=url, token=token)
        return
    mcpc = Mcpc(mcp_clients, harnex, home)
    try:
        if server is None:
            config = json.loads(client_config("claude", SERVER))
            config["mcpServers"]["harnex"]["env"] = server_env(harnex)
            (home / "mcp.json").write_text(json.dumps(config, indent=2) + "\n")
            done = mcpc.connect(f"{home / 'mcp.json'}:harnex", mcpc.session)
        else:
            auth = f"Authorization: Bearer {server.token}"
            done = mcpc.connect(server.url, mcpc.session, "-H", auth)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["serverInfo"]["name"] == "harnex"
        yield mcpc
    finally:
        mcpc.close()


def demo_args(record: Path) -> list[str]:
    return ["-m", "harnex_tmux.demo_agent", "--busy", "0.3", "--record", str(record)]


def ok(answer: Answer) -> dict[str, Any]:
    assert not answer.is_error, answer.text
    assert answer.structured is not None, answer.text
    return answer.structured


def test_lists_the_tools(client: McpClient, figures: Figures) -> None:
    assert client.tools() == TOOLS
    figures.record("client commands run", client.calls)


def test_run_send_wait_pane_events_stop(
    client: McpClient, harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    """The whole life of a session through the client; the multi-line unicode message reaches
    the recording agent once and byte for byte."""
    record = tmp_path / "received.jsonl"
    started = ok(client.call("run", {"cli": PYTHON, "id": "w1", "args": demo_args(record)}))
    assert started["id"] == "w1"
    waited = ok(client.call("wait", {"id": "w1", "until": "prompt", "timeout": 30}))
    assert waited == {"ok": True, "id": "w1", "state": "prompt"}

    sent = ok(client.call("send", {"id": "w1", "message": MESSAGE}))
    assert sent["ok"] is True and sent["status"] == "delivered" and sent["message_id"]
    assert wait_for(lambda: recorded(record), timeout=20) == [MESSAGE]
    ok(client.call("wait", {"id": "w1", "until": "prompt", "timeout": 30}))

    deadline = time.monotonic() + 20
    while True:
        shot = ok(client.call("pane", {"id": "w1", "lines": 30}))
        if "第三行" in shot["text"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shot["id"] == "w1" and "第三行" in shot["text"], shot["text"]

    events = ok(client.call("events", {"id": "w1"}))
    types = [event["type"] for event in events["events"]]
    assert types[0] == "started" and types.count("delivered") == 1, types

    stopped = ok(client.call("stop", {"id": "w1", "timeout": 20}))
    assert stopped["ok"] is True and stopped["id"] == "w1"
    assert ok(client.call("status", {}))["sessions"] == []
    assert recorded(record) == [MESSAGE]
    assert harnex.json("status", "--json") == []
    figures.record("client commands run", client.calls)


def test_bad_arguments_get_one_line_naming_the_argument(
    client: McpClient, figures: Figures
) -> None:
    """Arguments harnex refuses, as each client puts them on the wire (see the docstring
    at the top for what the Inspector and mcpc turn them into)."""
    mistyped = '"soon"' if isinstance(client, Inspector) else '"5"'
    cases = [
        (f'{{"id": "w1", "timeout": {mistyped}}}', "argument 'timeout' must be a number"),
        ('{"id": 7}', "argument 'id' must be a string"),
        ('{"id": "w1", "timeout": 1e999}', "argument 'timeout' must be a number"),
        ('{"id": "w1", "timeout": 1e300}', "argument 'timeout' must be at most 86400"),
    ]
    for arguments, line in cases:
        answer = client.call("wait", arguments)
        assert answer.is_error and answer.text.startswith(f"harnex: wait: {line}"), (
            arguments,
            answer.text,
        )
        assert "\n" not in answer.text, answer.text
    # Still serving after the refusals.
    assert ok(client.call("status", {}))["sessions"] == []
    figures.record("bad calls refused in one line", len(cases))
    figures.record("client commands run", client.calls)


@pytest.mark.parametrize("name", ["inspector", "mcpc"])
def test_a_wrong_token_is_refused(
    name: str, mcp_clients: McpClients, harnex: Harnex, http_server: HttpServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    if name == "inspector":
        inspector = Inspector(mcp_clients, harnex, home, http_server.url, http_server.token)
        argv = inspector.argv("--stored-auth-only", "--method", "tools/list", token="wrong")
        done = inspector.run(argv)
        assert done.returncode != 0 and done.stdout == ""
        assert "invalid token" in done.stderr, done.stderr
        return
    mcpc = Mcpc(mcp_clients, harnex, home, session="@wrong")
    try:
        mcpc.connect(http_server.url, "@wrong", "-H", "Authorization: Bearer wrong")
        # No "invalid token" to look for: mcpc 0.2.6 tells it only now and then (see the
        # docstring at the top); what is certain is that the session never works.
        for call in (["tools-list"], ["tools-call", "status", "{}"], []):
            done = mcpc.run("@wrong", *call, "--json")
            assert done.returncode != 0, (call, done.stdout)
            assert "sessions" not in done.stdout and '"name": "run"' not in done.stdout
    finally:
        mcpc.close()


def test_a_75_second_wait_completes_through_the_inspector(
    mcp_clients: McpClients,
    harnex: Harnex,
    http_server: HttpServer,
    tmp_path: Path,
    figures: Figures,
) -> None:
    """The Inspector (TypeScript SDK) gives up on a request after 60 s. harnex answers a
    longer wait with ``still_waiting`` before that (its call limit, 50 s by default), and the
    wait called again with the answer's ``arguments`` ends when the session does: a 75 s wait
    completes through a client that could not hold one request that long."""
    home = tmp_path / "home"
    home.mkdir()
    inspector = Inspector(mcp_clients, harnex, home, url=http_server.url, token=http_server.token)
    record = tmp_path / "received.jsonl"
    ok(inspector.call("run", {"cli": PYTHON, "id": "long", "args": demo_args(record)}))
    ok(inspector.call("wait", {"id": "long", "until": "prompt", "timeout": 30}))
    started = time.monotonic()
    stopper = threading.Timer(75.0, lambda: harnex.run("stop", "--id", "long"))
    stopper.start()
    try:
        arguments: dict[str, Any] = {"id": "long", "until": "exit", "timeout": 120}
        rounds: list[str] = []
        while True:
            answer = ok(inspector.call("wait", arguments))
            rounds.append(str(answer.get("status", answer.get("state"))))
            if answer.get("status") != "still_waiting":
                break
            assert len(rounds) < 4, rounds
            arguments = answer["arguments"]
    finally:
        stopper.join()
    waited = time.monotonic() - started
    assert rounds[0] == "still_waiting" and answer["state"] == "exited", rounds
    assert waited >= 75.0
    figures.record("calls to finish a 75 s wait", len(rounds))
    figures.record("seconds waited", round(waited, 1))
