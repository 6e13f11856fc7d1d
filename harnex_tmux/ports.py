"""Port allocation for sidecar APIs.

The preferred port is derived from the repo and id so a session tends to get the same port
every time; when it is taken, the next ports are tried, wrapping around inside the span.
"""

from __future__ import annotations

import os
import socket

from harnex_tmux.errors import HarnexError
from harnex_tmux.tokens import sha256_digest

DEFAULT_BASE_PORT = 43000
DEFAULT_PORT_SPAN = 4000


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise HarnexError(f"{name} must be an integer, got {raw!r}") from exc


def preferred_port(repo_root: str, ident: str, base: int, span: int) -> int:
    digest = sha256_digest(f"{repo_root}\0{ident}".encode())
    return base + int.from_bytes(digest, "big") % span


def bind_listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Lets a restarted sidecar take its port back while old connections sit in TIME_WAIT;
    # on Linux it never lets two live listeners share a port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def allocate_listener(
    repo_root: str, ident: str, host: str, port: int | None = None
) -> socket.socket:
    """A bound, listening socket for the sidecar.

    An explicit ``port`` must be free (a user who names a port wants that one); otherwise the
    span is walked from the preferred port.
    """
    if port is not None:
        try:
            return bind_listener(host, port)
        except OSError as exc:
            raise HarnexError(f"port {port} on {host} is not available: {exc.strerror}") from exc
    base = _env_int("HARNEX_BASE_PORT", DEFAULT_BASE_PORT)
    span = max(1, _env_int("HARNEX_PORT_SPAN", DEFAULT_PORT_SPAN))
    start = preferred_port(repo_root, ident, base, span) - base
    for step in range(span):
        candidate = base + (start + step) % span
        try:
            return bind_listener(host, candidate)
        except OSError:
            continue
    raise HarnexError(f"no free port in {base}..{base + span - 1} on {host}")
