"""Shared plumbing for the loopback mock model servers (standard library only).

A mock answers HTTP on 127.0.0.1 (an ephemeral port by default), records every request it gets,
and replies deterministically to the user's turn. The API-specific parts (paths, JSON shapes, SSE
event names) live in ``mock_anthropic.py`` and ``mock_openai.py``.

A test can also make the mock ask the agent to run a tool (``tool_call_next``): the next user
turn is answered with that tool call, the agent's follow-up request that carries the tool's
result is answered with ``tool_done_reply``. That is how the agents' permission dialogs are
brought up without a real model.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

log = logging.getLogger("harnex.e2e.mock")

ReplyFn = Callable[[str], str]
T = TypeVar("T")
"""Maps the user's typed text to the assistant's reply text."""


def default_reply(user_text: str) -> str:
    """The default reply: ``MOCK REPLY: <first 60 characters of the user text>``."""
    return f"MOCK REPLY: {user_text[:60]}"


TOOL_DONE_REPLY = "MOCK TOOL DONE"
"""The default answer to a request that carries a tool's result."""


@dataclass(frozen=True)
class ToolCall:
    """A tool call a mock answers a user turn with instead of text.

    ``name`` must be a tool the agent advertises in its request's ``tools`` (the agent rejects
    calls to tools it does not have); ``arguments`` follows that tool's input schema.
    """

    name: str
    arguments: dict[str, Any]
    call_id: str = field(default_factory=lambda: f"call_mock{uuid.uuid4().hex[:16]}")
    """The id the agent echoes back with the tool's result."""
    namespace: str | None = None
    """For a tool the agent offers inside a namespace (Codex 0.169.0 offers each MCP server's
    tools as namespace ``mcp__<server>``), that namespace; ``name`` is then the bare tool."""


def split_into_deltas(text: str, parts: int = 4) -> list[str]:
    """Cut ``text`` into up to ``parts`` consecutive non-empty pieces (one piece if it is short)."""
    if len(text) <= parts:
        return [text] if text else []
    size = -(-len(text) // parts)  # ceiling division
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class RecordedRequest:
    """One HTTP request the mock received, and what it answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw_body: bytes
    body: Any
    """The parsed JSON body, or None when the body was empty or not JSON."""
    is_user_turn: bool = False
    """True for the request that carries ``tools`` (the agent's main turn), unless it only
    brings back a tool's result (see ``tool_output``)."""
    user_text: str | None = None
    """The last text the user typed (the last text block of the last user message)."""
    tool_output: str | None = None
    """The tool result this request carries as its newest input (a follow-up within a turn
    after a :class:`ToolCall`), else None."""
    tool_call: ToolCall | None = None
    """The tool call the mock answered with, if it answered with one."""
    reply_text: str | None = None
    usage: dict[str, int] | None = None
    """The usage the mock reported for this model call, in harnex's disjoint kinds (input read
    fresh, cached, cache_write, output without reasoning, reasoning): what the agent should
    write down, and ``harnex usage`` sum."""
    status: int = 0
    received_monotonic: float = field(default_factory=time.monotonic)
    received_wall: float = field(default_factory=time.time)
    finished_monotonic: float | None = None
    """time.monotonic() right after the last byte of the reply was written."""
    finished_wall: float | None = None
    """time.time() right after the last byte of the reply was written."""


class _Handler(BaseHTTPRequestHandler):
    """Routes every request to the owning :class:`MockModelServer`."""

    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection is dropped after this many seconds

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raw = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                raw += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
        else:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
        encoding = (self.headers.get("Content-Encoding") or "").lower().strip()
        if raw and encoding in ("gzip", "x-gzip"):
            raw = gzip.decompress(raw)
        elif raw and encoding == "deflate":
            raw = zlib.decompress(raw)
        elif raw and encoding not in ("", "identity"):
            log.warning("mock: cannot decode a %s request body; recording it raw", encoding)
        return raw

    def _dispatch(self) -> None:
        raw = self._read_body()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        parts = urlsplit(self.path)
        rec = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            raw_body=raw,
            body=body,
        )
        self.server.owner._handle_request(self, rec)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def do_HEAD(self) -> None:
        parts = urlsplit(self.path)
        rec = RecordedRequest(
            method="HEAD",
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            raw_body=b"",
            body=None,
        )
        self.server.owner._record(rec)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        rec.status = 200
        rec.finished_monotonic, rec.finished_wall = time.monotonic(), time.time()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- writing helpers used by the API-specific subclasses -------------------------------

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def start_sse(self, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def send_sse_event(self, event: str, data: Any) -> None:
        payload = f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def send_sse_data(self, data: Any) -> None:
        """An event with a data line only (the Gemini API's stream has no event names)."""
        payload = f"data: {json.dumps(data)}\r\n\r\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def send_sse_raw(self, data: str) -> None:
        """A data line that is not JSON (the chat-completions stream ends with ``[DONE]``)."""
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def end_sse(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: MockModelServer


class MockModelServer:
    """Base class: a recording loopback HTTP server. Subclasses implement :meth:`route`.

    Attributes meant for tests:

    - ``delay_s``: seconds to hold each user-turn reply after its first event (keeps the agent
      busy); :meth:`release` cuts a running hold short.
    - ``reply``: callable mapping the user's text to the reply text.
    - ``requests``: every :class:`RecordedRequest`, in arrival order.
    - ``user_turns``: the exact user texts of the requests that carry ``tools``.
    - ``reply_finished_at``: ``(time.monotonic(), time.time())`` when the last byte of each
      user-turn reply was written, in the same order as ``user_turns`` completed.
    - ``unknown_requests``: requests to paths the mock does not know (also logged).
    - ``tool_call_next``: set it to a :class:`ToolCall` and the next user turn is answered with
      that call (stop reason "tool use") instead of text; it is cleared as that turn takes it.
    - ``tool_done_reply``: the text that answers a request carrying a tool's result.
    - ``tool_results``: the tool results the agent sent back, in order; ``wait_for_tool_results``.
    """

    name = "mock"

    def __init__(
        self,
        reply: ReplyFn | None = None,
        delay_s: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.reply: ReplyFn = reply or default_reply
        self.delay_s = delay_s
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.reply_finished_at: list[tuple[float, float]] = []
        self.tool_call_next: ToolCall | None = None
        self.tool_done_reply: str = TOOL_DONE_REPLY
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._release = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.owner = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._release.set()  # let any held reply finish
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash, no ``/v1``)."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not started")
        return f"http://{self.host}:{self.port}"

    # --- what tests read ----------------------------------------------------------------

    @property
    def user_turns(self) -> list[str]:
        with self._lock:
            return [r.user_text or "" for r in self.requests if r.is_user_turn]

    @property
    def user_turn_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.is_user_turn]

    @property
    def side_calls(self) -> list[RecordedRequest]:
        """Model calls that carry no ``tools`` (titles, summaries and the like)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if self.is_model_call(r) and not r.is_user_turn and r.tool_output is None
            ]

    @property
    def tool_results(self) -> list[str]:
        """The tool results the agent sent back after the mock's tool calls, in arrival order."""
        with self._lock:
            return [r.tool_output for r in self.requests if r.tool_output is not None]

    def wait_for_tool_results(self, count: int, timeout: float = 30.0) -> list[str]:
        """Block until at least ``count`` tool results came back; return them all."""
        return self._wait_for(
            lambda: [r.tool_output for r in self.requests if r.tool_output is not None],
            count,
            "tool result(s)",
            timeout,
        )

    def _wait_for(
        self, collect: Callable[[], list[T]], count: int, what: str, timeout: float
    ) -> list[T]:
        """Block until ``collect()`` (called under the lock) has ``count`` items; return it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = collect()
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{self.name}: expected {count} {what} within {timeout}s, got "
                        f"{len(found)}: {found!r}"
                    )
                self._changed.wait(left)

    @property
    def usage_handed_out(self) -> list[dict[str, int]]:
        """The usage of every model call answered so far, in arrival order."""
        with self._lock:
            return [r.usage for r in self.requests if r.usage is not None and r.status == 200]

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.status == 404]

    def is_model_call(self, rec: RecordedRequest) -> bool:
        raise NotImplementedError

    def wait_for_user_turns(self, count: int, timeout: float = 30.0) -> list[str]:
        """Block until at least ``count`` user turns were recorded; return them all."""
        return self._wait_for(
            lambda: [r.user_text or "" for r in self.requests if r.is_user_turn],
            count,
            "user turn(s)",
            timeout,
        )

    def wait_for_replies(self, count: int, timeout: float = 30.0) -> None:
        """Block until at least ``count`` user-turn replies were written in full."""
        self._wait_for(lambda: list(self.reply_finished_at), count, "finished replies", timeout)

    def release(self) -> None:
        """End the hold of every reply currently waiting out ``delay_s``."""
        self._release.set()

    def clear(self) -> None:
        """Forget every recorded request (the server keeps running)."""
        with self._lock:
            self.requests.clear()
            self.reply_finished_at.clear()

    # --- used by handlers ---------------------------------------------------------------

    def _record(self, rec: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(rec)
            self._changed.notify_all()

    def _finished(self, rec: RecordedRequest, status: int) -> None:
        now_m, now_w = time.monotonic(), time.time()
        with self._changed:
            rec.status = status
            rec.finished_monotonic, rec.finished_wall = now_m, now_w
            if rec.is_user_turn:
                self.reply_finished_at.append((now_m, now_w))
            self._changed.notify_all()

    def hold(self, rec: RecordedRequest) -> None:
        """Wait out ``delay_s`` for a user turn (cut short by :meth:`release`)."""
        if not rec.is_user_turn or self.delay_s <= 0:
            return
        self._release.clear()
        self._release.wait(self.delay_s)

    def _handle_request(self, handler: _Handler, rec: RecordedRequest) -> None:
        try:
            status = self.route(handler, rec)
        except (BrokenPipeError, ConnectionResetError):
            log.info("%s: client went away during %s %s", self.name, rec.method, rec.path)
            status = 499
        except Exception:
            log.exception("%s: failed to answer %s %s", self.name, rec.method, rec.path)
            self._record_if_missing(rec)
            handler.send_json(500, {"error": {"type": "mock_error", "message": "mock failed"}})
            status = 500
        self._record_if_missing(rec)
        self._finished(rec, status)

    def _record_if_missing(self, rec: RecordedRequest) -> None:
        with self._changed:
            if not any(r is rec for r in self.requests):
                self.requests.append(rec)
                self._changed.notify_all()

    def not_found(self, handler: _Handler, rec: RecordedRequest) -> int:
        log.warning("%s: unknown request %s %s", self.name, rec.method, rec.path)
        self._record(rec)
        handler.send_json(404, {"error": {"type": "not_found_error", "message": "unknown path"}})
        return 404

    def route(self, handler: _Handler, rec: RecordedRequest) -> int:
        """Answer one request; record it (``self._record``) and return the HTTP status."""
        raise NotImplementedError

    def is_user_turn(
        self,
        rec: RecordedRequest,
        body: dict[str, Any],
        tool_output: str | None,
        user_text: str | None,
    ) -> bool:
        """Whether a model call is a turn the user typed: it offers tools and carries no tool
        result (without tools it is one of the CLI's side calls, such as a title)."""
        return bool(body.get("tools")) and tool_output is None

    def begin_answer(
        self,
        rec: RecordedRequest,
        body: dict[str, Any],
        tool_output: str | None,
        user_text: str | None,
    ) -> tuple[ToolCall | None, str]:
        """Record one model call (its API's parts already extracted) and decide the answer:
        the armed tool call, or the reply text (:meth:`is_user_turn` says which calls count)."""
        rec.tool_output = tool_output
        rec.is_user_turn = self.is_user_turn(rec, body, tool_output, user_text)
        rec.user_text = user_text
        self._record(rec)
        call = self.take_tool_call(rec)
        text = "" if call else self.pick_reply(rec)
        rec.reply_text = None if call else text
        return call, text

    def take_tool_call(self, rec: RecordedRequest) -> ToolCall | None:
        """The pending ``tool_call_next`` if ``rec`` is a user turn (clearing it), else None.

        Called once per request, so two turns racing never both get the same call.
        """
        if not rec.is_user_turn:
            return None
        with self._lock:
            call, self.tool_call_next = self.tool_call_next, None
        rec.tool_call = call
        return call

    def pick_reply(self, rec: RecordedRequest) -> str:
        """The reply text for ``rec``: ``self.reply`` for user turns, ``tool_done_reply`` for a
        tool's result, a fixed title otherwise."""
        if rec.is_user_turn:
            return self.reply(rec.user_text or "")
        if rec.tool_output is not None:
            return self.tool_done_reply
        return "Mock title"


@contextmanager
def running(mock: MockModelServer) -> Iterator[MockModelServer]:
    """``with running(MockAnthropic()) as m: ...`` starts and always stops the mock."""
    mock.start()
    try:
        yield mock
    finally:
        mock.stop()


def last_text(content: Any, types: Collection[str] | None = None) -> str | None:
    """The text of one message's ``content`` in the shape every mocked API may send it: a
    string, or a list of parts whose last one with a ``text`` (and, with ``types``, of one of
    those types) counts; None when it holds no text. The three mocks read user messages so."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict)
            and "text" in part
            and (types is None or part.get("type") in types)
        ]
        if texts:
            return str(texts[-1])
    return None


def rough_tokens(obj: Any) -> int:
    """A made-up but stable token count (about 4 characters a token)."""
    return max(1, len(str(obj)) // 4)


def serve_from_command_line(
    server: type[MockModelServer], doc: str | None, show: Callable[[Any], str]
) -> None:
    """Run a mock by hand until Ctrl-C, then list what it was asked."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG)
    with server(delay_s=args.delay, port=args.port) as mock:
        print(show(mock), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        for r in mock.requests:
            print(r.method, r.path, "user_turn" if r.is_user_turn else "", repr(r.user_text))
