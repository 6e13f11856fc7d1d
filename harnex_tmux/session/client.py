"""Talking to a sidecar over its loopback HTTP API.

A deliberately small HTTP/1.1 client on a raw socket: ``http.client`` costs more import time
than a whole ``harnex status`` is allowed, and the hook entry point must start fast too.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

from harnex_tmux.errors import HarnexError, SidecarUnreachable


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class SidecarClient:
    def __init__(self, host: str, port: int, token: str, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout

    @classmethod
    def for_record(cls, record: Any, timeout: float = 5.0) -> SidecarClient:
        return cls(record.host, int(record.port), record.token, timeout)

    def request(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ApiResponse:
        head, body = self.encode(method, path, payload)
        wait = self.timeout if timeout is None else timeout
        try:
            with socket.create_connection((self.host, self.port), timeout=wait) as sock:
                sock.sendall(head + body)
                chunks = []
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
        except TimeoutError as exc:
            raise SidecarUnreachable(
                f"sidecar at {self.host}:{self.port} did not answer within {wait:g}s"
            ) from exc
        except OSError as exc:
            raise SidecarUnreachable(
                f"sidecar at {self.host}:{self.port} is not answering ({exc.strerror or exc})"
            ) from exc
        return parse_answer(b"".join(chunks), self.host, self.port)

    def encode(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> tuple[bytes, bytes]:
        """The request's head and body, as both this client and the event-loop one send it."""
        body = b"" if payload is None else json.dumps(payload).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        return head, body

    def status(self, timeout: float | None = None) -> dict[str, Any]:
        return self.expect(self.request("GET", "/status", timeout=timeout))

    @staticmethod
    def expect(response: ApiResponse) -> dict[str, Any]:
        if not response.ok:
            raise HarnexError(str(response.body.get("error") or f"HTTP {response.status}"))
        return response.body


def parse_answer(raw: bytes, host: str, port: int) -> ApiResponse:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise SidecarUnreachable(f"sidecar at {host}:{port} closed the connection mid-answer")
    status_line = head.split(b"\r\n", 1)[0].split()
    try:
        status = int(status_line[1])
    except (IndexError, ValueError) as exc:
        raise SidecarUnreachable(f"sidecar at {host}:{port} sent a malformed answer") from exc
    try:
        data = json.loads(body) if body.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = {"error": body.decode(errors="replace")[:200]}
    return ApiResponse(status, data if isinstance(data, dict) else {"data": data})
