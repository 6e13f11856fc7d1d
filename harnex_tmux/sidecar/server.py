"""A small JSON-over-HTTP/1.1 server for the sidecar API, on a socket bound by the caller.

Routing and handlers live in :mod:`harnex_tmux.sidecar.api`; this module only does HTTP:
request parsing, bearer-token checks, body limits, JSON encoding, and turning failures into
JSON errors. One thread per connection, one request per connection (every answer closes it).

It is written on the socket rather than on ``http.server``, whose class stack pulls in
``http.client``, ``email`` and ``ssl`` (OpenSSL): some 2 MB of resident memory and ~15 ms of
start-up in every sidecar for parsing a request line and a few headers. It parses requests
as ``http.server`` does (the same limits and answers: 414 for a request line over 64 KiB,
431 for a header line over 64 KiB or over 100 headers, 400 for a malformed request line or
version, 505 for HTTP/2 and later, ``100 Continue`` on ``Expect``), with JSON bodies for those
errors too.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from harnex_tmux.errors import ApiError
from harnex_tmux.tokens import same_secret

# Large enough for a 256 KiB message even when every character is JSON-escaped.
MAX_BODY_BYTES = 2 * 1024 * 1024
# An oversized body is read and thrown away up to this size, so its sender gets the 413
# instead of a reset connection; past it the connection is simply closed.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")


def _no_constants(name: str) -> Any:
    raise ApiError(400, f"malformed JSON: {name} is not a number here")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body, parse_constant=_no_constants)
        except UnicodeDecodeError as exc:
            raise ApiError(400, "request body is not valid UTF-8") from exc
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"malformed JSON: {exc.msg} at position {exc.pos}") from exc
        except RecursionError as exc:
            raise ApiError(400, "malformed JSON: nested too deeply") from exc
        except ValueError as exc:  # e.g. an integer longer than Python converts
            raise ApiError(400, f"malformed JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "request body must be a JSON object")
        return data


Response = tuple[int, dict[str, Any]]
Handler = Callable[[Request, list[str]], Response]


@dataclass
class Router:
    """Maps (method, path prefix) to handlers; the rest of the path is passed as parts."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def resolve(self, method: str, path: str) -> tuple[Handler, list[str]]:
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        for length in range(len(parts), -1, -1):
            prefix = "/" + "/".join(parts[:length])
            handler = self.routes.get((method, prefix))
            if handler is not None:
                return handler, parts[length:]
        if any(known == "/" + "/".join(parts) for _, known in self.routes):
            raise ApiError(405, f"{method} is not allowed on {path}")
        raise ApiError(404, f"no such endpoint: {path}")


# The limits http.server applies.
MAX_LINE_BYTES = 65536
MAX_HEADERS = 100
# A client that stops sending mid-request must not hold a thread forever.
CLIENT_TIMEOUT_S = 30.0
SERVER_NAME = "harnex-sidecar"


class ApiServer:
    """Accepts connections on ``listener`` (already listening) until :meth:`shutdown`."""

    def __init__(self, listener: socket.socket, token: str, router: Router) -> None:
        self.socket = listener
        self.server_address = listener.getsockname()
        self.token = token
        self.router = router
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopped = threading.Event()
        self._stopped.set()  # until serve_forever runs: shutdown must not wait for it
        # Requests being answered: shutdown lets them finish (the process ends right after,
        # and its handler threads are daemons that would die with their answer unsent).
        self._busy = threading.Condition()
        self._in_flight = 0

    def serve_forever(self) -> None:
        """Accept until :meth:`shutdown`; each connection is answered on its own thread."""
        self._stopped.clear()
        try:
            while True:
                ready, _, _ = select.select([self.socket, self._wake_r], [], [])
                if self._wake_r in ready:
                    return
                try:
                    conn, _ = self.socket.accept()
                except OSError:
                    continue  # the client gave up before we took it
                with self._busy:
                    self._in_flight += 1
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        finally:
            self.socket.close()
            self._stopped.set()

    def shutdown(self, drain_s: float = 0.0) -> bool:
        """Stop accepting, then give the requests in flight up to ``drain_s`` seconds to be
        answered; returns once :meth:`serve_forever` has stopped, True if none was left."""
        self._wake_w.send(b"x")
        self._stopped.wait()
        with self._busy:
            return self._busy.wait_for(lambda: self._in_flight == 0, drain_s)

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._answer(conn)
        finally:
            with self._busy:
                self._in_flight -= 1
                self._busy.notify_all()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(CLIENT_TIMEOUT_S)
            stream = conn.makefile("rb")
            try:
                status, payload = _Exchange(self, conn, stream).answer()
            except (TimeoutError, ConnectionError):
                return
            except _NoRequest:
                return
            finally:
                stream.close()
            _send(conn, status, payload)


class _NoRequest(Exception):
    """The client closed the connection without sending a request line."""


class _Exchange:
    """One request read from a connection, and the answer to it."""

    def __init__(self, server: ApiServer, conn: socket.socket, stream: Any) -> None:
        self.server = server
        self.conn = conn
        self.stream = stream
        self.headers: dict[str, str] = {}

    def answer(self) -> tuple[int, dict[str, Any]]:
        try:
            method, target = self._read_head()
            return self._dispatch(method, target)
        except ApiError as exc:
            return exc.status, {"ok": False, "error": str(exc), **exc.extra}

    def _read_head(self) -> tuple[str, str]:
        raw = self.stream.readline(MAX_LINE_BYTES + 1)
        if len(raw) > MAX_LINE_BYTES:
            raise ApiError(414, "request line too long")
        if not raw:
            raise _NoRequest
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        words = line.split()
        if not words:
            raise _NoRequest
        version = "HTTP/0.9"
        if len(words) >= 3:
            version = words[-1]
            number = _version_number(version)
            if number is None:
                raise ApiError(400, f"bad request version {version[:80]!r}")
            if number >= (2, 0):
                raise ApiError(505, f"HTTP version {version[5:85]} is not supported")
        if not 2 <= len(words) <= 3:
            raise ApiError(400, f"bad request syntax {line[:80]!r}")
        method, target = words[:2]
        if len(words) == 2 and method != "GET":
            raise ApiError(400, f"bad HTTP/0.9 request type {method[:80]!r}")
        if target.startswith("//"):
            target = "/" + target.lstrip("/")  # never read as a host name
        self._read_headers()
        if self.header("Expect").lower() == "100-continue" and version >= "HTTP/1.1":
            self.conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        return method, target

    def _read_headers(self) -> None:
        count = 0
        last = ""
        while True:
            raw = self.stream.readline(MAX_LINE_BYTES + 1)
            if len(raw) > MAX_LINE_BYTES:
                raise ApiError(431, "header line too long")
            if raw in (b"\r\n", b"\n", b""):
                return
            count += 1
            if count > MAX_HEADERS:
                raise ApiError(431, f"more than {MAX_HEADERS} headers")
            line = raw.decode("iso-8859-1").rstrip("\r\n")
            if line[:1] in (" ", "\t") and last:
                # A folded line continues the header before it.
                self.headers[last] += " " + line.strip()
                continue
            name, colon, value = line.partition(":")
            if not colon:
                continue
            last = name.strip().lower()
            # The first of repeated headers counts, as with http.server.
            self.headers.setdefault(last, value.strip())

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def _authorized(self) -> bool:
        scheme, _, supplied = self.header("Authorization").partition(" ")
        return scheme.lower() == "bearer" and same_secret(
            supplied.strip().encode(), self.server.token.encode()
        )

    def _read_body(self) -> bytes:
        raw = (self.header("Content-Length") or "0").strip()
        if not _CONTENT_LENGTH.fullmatch(raw):
            raise ApiError(400, "bad Content-Length")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            self._discard(length)
            raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
        body: bytes = self.stream.read(length) if length > 0 else b""
        return body

    def _discard(self, length: int) -> None:
        if length > DRAIN_LIMIT_BYTES:
            return
        while length > 0:
            chunk = self.stream.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)

    def _dispatch(self, method: str, target: str) -> tuple[int, dict[str, Any]]:
        url = urlsplit(target)
        # Read the body first: closing with unread input would reset the connection before
        # the client sees the 401. A client that stops sending is dropped (no answer).
        body = self._read_body()
        if not self._authorized():
            raise ApiError(401, "missing or wrong bearer token")
        try:
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            handler, rest = self.server.router.resolve(method, url.path)
            return handler(Request(method, url.path, query, body), rest)
        except ApiError:
            raise
        except Exception as exc:  # the API must answer, whatever went wrong inside
            import traceback  # loaded only when something went wrong

            traceback.print_exc(file=sys.stderr)
            return 500, {"ok": False, "error": f"internal error: {exc}"}


def _version_number(version: str) -> tuple[int, int] | None:
    """``HTTP/1.1`` as (1, 1); None for anything http.server would call a bad version."""
    if not version.startswith("HTTP/"):
        return None
    parts = version[5:].split(".")
    if len(parts) != 2 or not all(p.isdigit() and p.isascii() and len(p) <= 10 for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _send(conn: socket.socket, status: int, payload: dict[str, Any]) -> None:
    data = (json.dumps(payload, ensure_ascii=False) + "\n").encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Server: {SERVER_NAME}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("latin-1")
    with contextlib.suppress(OSError):  # the client went away: nobody to tell
        conn.sendall(head + data)
