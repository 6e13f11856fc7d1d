"""OpenCode (checked against 1.18.33; see docs/adapters.md for the screens and the events).

OpenCode's terminal UI is a client of an HTTP server it starts itself; with ``--port N`` that
server listens on a port harnex knows, and its ``GET /event`` stream (server-sent events)
reports every prompt the session took, each reply, when a session goes idle, and each
permission request. A session reads that stream as the agent's own report, like other CLIs'
hooks, and reads the screen as the fallback.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from harnex_tmux.adapters.base import HookReport, HookTarget
from harnex_tmux.adapters.rules import ScreenRules
from harnex_tmux.adapters.screen import ScreenAdapter

PORT_FLAG = "--port"
FACT_PORT = "opencode_port"
SERVER_HOST = "127.0.0.1"
# How long to wait before connecting again after the stream ended or could not be opened
# (the server starts a few seconds after the process, and a restarted sidecar reconnects).
RECONNECT_S = 0.25
# A stream opened while the server was still starting can stay silent for good: one that
# has not said ``server.connected`` within this long is opened again.
FIRST_EVENT_S = 3.0
# The server sends a heartbeat every few seconds; a stream silent for this long is dead.
READ_TIMEOUT_S = 60.0

EventSink = Callable[[str, dict[str, Any]], None]


class OpenCodeAdapter(ScreenAdapter):
    """OpenCode: the screen as ``files/opencode.toml`` describes it, plus its server's
    event stream."""

    name = "opencode"
    shipped_rules = "opencode.toml"
    signals = "server event stream (/event), screen"
    has_hooks = True
    proves_submit = True

    def __init__(self, rules: ScreenRules | None = None) -> None:
        super().__init__(rules)
        self.port: int | None = None
        self._lock = threading.Lock()
        self._users: set[str] = set()
        self._assistants: set[str] = set()
        self._children: set[str] = set()
        self._reported: set[str] = set()
        self._replies: dict[str, str] = {}

    def launch_argv(
        self, command: list[str], hooks: HookTarget | None = None, env: Mapping[str, str] = {}
    ) -> list[str]:
        """Start OpenCode's server on a known port (the user's own ``--port`` is kept)."""
        argv = list(command)
        given = _port_in(argv)
        if given:
            self.port = given
        elif hooks is not None:
            self.port = free_port()
            argv[1:1] = [PORT_FLAG, str(self.port)]
        return argv

    def session_facts(self, cwd: str = "") -> dict[str, Any]:
        return {FACT_PORT: self.port} if self.port else {}

    def start_watching(self, facts: Mapping[str, Any], sink: EventSink) -> None:
        port = facts.get(FACT_PORT)
        if isinstance(port, int) and port > 0:
            self.port = port
            thread = threading.Thread(
                target=follow_events, args=(port, sink), name="opencode-events", daemon=True
            )
            thread.start()

    def read_hook(self, event: str, payload: Mapping[str, Any]) -> HookReport | None:
        """One event of OpenCode's stream: prompts, replies and idle of the user's sessions
        (sub-agents run in child sessions, which are left out)."""
        with self._lock:
            return self._read(event, payload)

    def _read(self, event: str, props: Mapping[str, Any]) -> HookReport | None:
        if event == "session.created":
            info = _mapping(props.get("info"))
            if info.get("parentID"):
                self._children.add(str(info.get("id")))
        elif event == "message.updated":
            info = _mapping(props.get("info"))
            if str(info.get("sessionID")) in self._children:
                return None
            role, ident = info.get("role"), str(info.get("id"))
            (self._users if role == "user" else self._assistants).add(ident)
        elif event == "message.part.updated":
            return self._part(_mapping(props.get("part")))
        elif event == "session.idle":
            session = str(props.get("sessionID"))
            if session not in self._children:
                return HookReport("turn", self._replies.pop(session, None))
        elif event == "permission.asked" and str(props.get("sessionID")) not in self._children:
            metadata = _mapping(props.get("metadata"))
            return HookReport("dialog", str(metadata.get("command") or props.get("permission")))
        return None

    def _part(self, part: Mapping[str, Any]) -> HookReport | None:
        if part.get("type") != "text" or part.get("synthetic"):
            return None
        message, text = str(part.get("messageID")), part.get("text")
        if not isinstance(text, str):
            return None
        if message in self._users and str(part.get("id")) not in self._reported:
            self._reported.add(str(part.get("id")))
            return HookReport("prompt", text)
        if message in self._assistants and text:
            self._replies[str(part.get("sessionID"))] = text
        return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((SERVER_HOST, 0))
        return int(probe.getsockname()[1])


def _port_in(argv: list[str]) -> int | None:
    for index, arg in enumerate(argv[1:], start=1):
        value = None
        if arg == PORT_FLAG and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(PORT_FLAG + "="):
            value = arg.split("=", 1)[1]
        if value is not None:
            return int(value) if value.isdigit() and int(value) > 0 else None
    return None


def follow_events(port: int, sink: EventSink, stop: threading.Event | None = None) -> None:
    """Read ``GET /event`` from OpenCode's server and hand each event to ``sink``, connecting
    again whenever the stream ends (until ``stop`` is set; the thread is a daemon)."""
    # Only OpenCode sessions pay for http.client (it brings ssl and email along).
    import http.client

    while stop is None or not stop.is_set():
        with contextlib.suppress(OSError, http.client.HTTPException):
            _read_stream(port, sink)
        time.sleep(RECONNECT_S)


def _read_stream(port: int, sink: EventSink) -> None:
    import http.client

    conn = http.client.HTTPConnection(SERVER_HOST, port, timeout=FIRST_EVENT_S)
    try:
        conn.request("GET", "/event", headers={"Accept": "text/event-stream"})
        response = conn.getresponse()
        if response.status != 200:
            return
        connected = False
        while True:
            line = response.readline()
            if not line:
                return
            if not line.startswith(b"data:"):
                continue
            try:
                event = json.loads(line[5:].strip())
            except ValueError:
                continue
            if not connected and conn.sock is not None:
                conn.sock.settimeout(READ_TIMEOUT_S)
                connected = True
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                sink(event["type"], _mapping(event.get("properties")))
    finally:
        conn.close()


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
