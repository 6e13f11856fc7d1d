"""A small JSON-over-HTTP server for the sidecar API, on a socket bound by the caller.

Routing and handlers live in :mod:`harnex_tmux.sidecar.api`; this module only does HTTP:
bearer-token checks, body limits, JSON encoding, and turning failures into JSON errors.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

# Large enough for a 256 KiB message even when every character is JSON-escaped.
MAX_BODY_BYTES = 2 * 1024 * 1024
# An oversized body is read and thrown away up to this size, so its sender gets the 413
# instead of a reset connection; past it the connection is simply closed.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")


def _no_constants(name: str) -> Any:
    raise ApiError(400, f"malformed JSON: {name} is not a number here")


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


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


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listener: socket.socket, token: str, router: Router) -> None:
        super().__init__(listener.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.server_address = listener.getsockname()
        self.token = token
        self.router = router


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "harnex-sidecar"
    # A client that stops sending mid-request must not hold a thread forever.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def __getattr__(self, name: str) -> Any:
        # Any other method (PUT, HEAD, or a made-up one) gets the router's 405/404 in JSON,
        # not http.server's "501 Unsupported method".
        if name.startswith("do_"):
            return lambda: self._dispatch(name[3:])
        raise AttributeError(name)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, supplied = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            supplied.strip().encode(), self.server.token.encode()
        )

    def _read_body(self) -> bytes:
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not _CONTENT_LENGTH.fullmatch(raw):
            self.close_connection = True
            raise ApiError(400, "bad Content-Length")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            self._discard(length)
            raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _discard(self, length: int) -> None:
        if length > DRAIN_LIMIT_BYTES:
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            # Read the body first: closing with unread input would reset the connection
            # before the client sees the 401.
            body = self._read_body()
            if not self._authorized():
                raise ApiError(401, "missing or wrong bearer token")
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            handler, rest = self.server.router.resolve(method, url.path)
            status, payload = handler(Request(method, url.path, query, body), rest)
        except ApiError as exc:
            status, payload = exc.status, {"ok": False, "error": str(exc), **exc.extra}
        except Exception as exc:  # the API must answer, whatever went wrong inside
            traceback.print_exc(file=sys.stderr)
            status, payload = 500, {"ok": False, "error": f"internal error: {exc}"}
        self._send(status, payload)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = (json.dumps(payload, ensure_ascii=False) + "\n").encode()
        try:
            self.send_response(status, HTTPStatus(status).phrase)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True
