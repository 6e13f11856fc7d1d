"""OpenCode's screen rules and event stream, on screens and events captured from 1.18.33
(wide blank runs shortened). The end-to-end suite checks the same against the live CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from harnex_tmux.adapters import HookReport, HookTarget, Observation, State, adapter_for
from harnex_tmux.adapters.opencode import FACT_PORT, OpenCodeAdapter, follow_events

LOGO = """
                                             ▄
                  █▀▀█ █▀▀█ █▀▀█ █▀▀▄ █▀▀▀ █▀▀█ █▀▀█ █▀▀█
                  █  █ █  █ █▀▀▀ █  █ █    █  █ █  █ █▀▀▀
                  ▀▀▀▀ █▀▀▀ ▀▀▀▀ ▀▀▀▀ ▀▀▀▀ ▀▀▀▀ ▀▀▀▀ ▀▀▀▀
"""
BOTTOM = "╹" + "▀" * 60

# The first screen: the input box in the middle, the footer far below it.
HOME = f"""{LOGO}
            ┃
            ┃  Ask anything… "What is the tech stack of this project?"
            ┃
            ┃  Build · Mock Model Mock
            {BOTTOM}
                                            tab agents  ctrl+p commands
{chr(10) * 20}
  /tmp/repo:master                                                        1.18.33
"""
HOME_TYPED = HOME.replace('Ask anything… "What is the tech stack of this project?"', "abc")
HOME_PASTED = HOME.replace(
    'Ask anything… "What is the tech stack of this project?"', "[Pasted ~30 lines]"
)

SESSION = f"""
  ┃                                                                 Mock title
  ┃  hello opencode
  ┃                                                                 Context
                                                                    2,449 tokens
     MOCK REPLY: hello opencode                                     0% used
                                                                    $0.00 spent
     ▣  Build · Mock Model · 2.7s
  ┃
  ┃
  ┃
  ┃  Build · Mock Model Mock                                        /tmp/repo:master
  {BOTTOM}
   /tmp/repo                              2.4K  ctrl+p commands    • OpenCode 1.18.33
"""
BUSY = SESSION.replace(
    "   /tmp/repo                              2.4K  ctrl+p commands",
    "   ■⬝⬝⬝⬝⬝⬝⬝  esc interrupt            tab agents  ctrl+p commands",
)
PERMISSION = """
  ┃  please write perm
     $ echo hi > perm.txt
     ▣  Build · Mock Model
  ┃
  ┃  △ Permission required
  ┃    # Shell command
  ┃
  ┃  $ echo hi > perm.txt
  ┃
  ┃   Allow once   Allow always   Reject       ctrl+f fullscreen  ⇆ select  enter confirm
  ┃                                                                  • OpenCode 1.18.33
"""


def _state(screen: str) -> State:
    return adapter_for("opencode").detect(Observation(screen=screen, quiet_for=0.0))


@pytest.mark.parametrize(
    ("screen", "state"),
    [
        (HOME, State.PROMPT),
        (HOME_TYPED, State.PROMPT),
        (SESSION, State.PROMPT),
        (BUSY, State.BUSY),
        (PERMISSION, State.CONFIRMATION),
        (LOGO, State.UNKNOWN),
    ],
)
def test_screen_states(screen: str, state: State) -> None:
    assert _state(screen) == state


def test_input_box() -> None:
    opencode = adapter_for("opencode")
    assert opencode.input_line(HOME) == ""
    assert opencode.input_line(HOME_TYPED) == "abc"
    assert opencode.input_line(SESSION) == ""
    assert opencode.input_line(LOGO) is None


def test_collapsed_paste_gets_its_trailing_space_removed() -> None:
    opencode = adapter_for("opencode")
    assert opencode.tidies_input and opencode.types_by_paste
    assert opencode.keys_after_typing(opencode.input_line(HOME_PASTED)) == ("BSpace",)
    assert opencode.keys_after_typing(opencode.input_line(HOME_TYPED)) == ()
    assert adapter_for("claude").keys_after_typing("[Pasted ~3 lines]") == ()


def _hooks() -> HookTarget:
    return HookTarget(command=["hook"], url="http://127.0.0.1:1/hook")


def test_launch_adds_a_port_and_keeps_the_users() -> None:
    opencode = OpenCodeAdapter()
    argv = opencode.launch_argv(["opencode", "--model", "x"], _hooks())
    assert argv[:2] == ["opencode", "--port"] and argv[3:] == ["--model", "x"]
    assert opencode.session_facts() == {FACT_PORT: int(argv[2])}
    theirs = OpenCodeAdapter()
    assert theirs.launch_argv(["opencode", "--port=4096"], _hooks()) == ["opencode", "--port=4096"]
    assert theirs.session_facts() == {FACT_PORT: 4096}
    off = OpenCodeAdapter()
    assert off.launch_argv(["opencode"], None) == ["opencode"]
    assert off.session_facts() == {}


def _events(session: str = "ses_1", parent: str | None = None) -> list[tuple[str, Any]]:
    """One turn as OpenCode 1.18.33's /event stream reports it (fields trimmed)."""
    info = {"id": session, **({"parentID": parent} if parent else {})}
    return [
        ("server.connected", {}),
        ("session.created", {"sessionID": session, "info": info}),
        ("message.updated", {"info": {"id": "msg_u", "role": "user", "sessionID": session}}),
        (
            "message.part.updated",
            {"part": {"type": "text", "text": "hi", "messageID": "msg_u", "id": "prt_u"}},
        ),
        ("session.status", {"sessionID": session, "status": {"type": "busy"}}),
        ("message.updated", {"info": {"id": "msg_a", "role": "assistant", "sessionID": session}}),
        (
            "message.part.updated",
            {
                "part": {
                    "type": "text",
                    "text": "MOCK REPLY: hi",
                    "messageID": "msg_a",
                    "sessionID": session,
                    "id": "prt_a",
                }
            },
        ),
        (
            "permission.asked",
            {"sessionID": session, "permission": "bash", "metadata": {"command": "echo hi"}},
        ),
        ("session.idle", {"sessionID": session}),
    ]


def test_events_become_reports() -> None:
    opencode = OpenCodeAdapter()
    reports = [opencode.read_hook(event, props) for event, props in _events()]
    assert [r for r in reports if r is not None] == [
        HookReport("prompt", "hi"),
        HookReport("dialog", "echo hi"),
        HookReport("turn", "MOCK REPLY: hi"),
    ]
    # The same part updated again is not a second prompt.
    again = {"part": {"type": "text", "text": "hi", "messageID": "msg_u", "id": "prt_u"}}
    assert opencode.read_hook("message.part.updated", again) is None


def test_sub_agent_sessions_are_left_out() -> None:
    opencode = OpenCodeAdapter()
    reports = [opencode.read_hook(e, p) for e, p in _events("ses_child", parent="ses_1")]
    assert [r for r in reports if r is not None] == []


class _Stream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event, props in _events():
            self.wfile.write(
                f"data: {json.dumps({'type': event, 'properties': props})}\n\n".encode()
            )
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stream_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_follow_events_reads_the_stream_and_reconnects(stream_port: int) -> None:
    got: list[str] = []
    twice = threading.Event()
    stop = threading.Event()

    def sink(event: str, props: dict[str, Any]) -> None:
        got.append(event)
        if got.count("session.idle") == 2:
            twice.set()
            stop.set()

    threading.Thread(target=follow_events, args=(stream_port, sink, stop), daemon=True).start()
    assert twice.wait(30), got
    assert got[: len(_events())] == [event for event, _ in _events()]
