"""``harnex mcp --http PORT``: the same server over the SDK's streamable HTTP, on loopback only
and behind a bearer token, for clients that cannot start a child process.

Any local process can reach a loopback port, and the tools type into agents' terminals, so
every request must carry ``Authorization: Bearer <token>``. The SDK's own Host/Origin checks
for a loopback server stay on (DNS rebinding from a browser page).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from harnex_tmux.errors import HarnexError
from harnex_tmux.mcp.config import DEFAULT_CALL_LIMIT_S

HOST = "127.0.0.1"
PATH = "/mcp"


async def _json(send: Send, status: int, body: dict[str, object]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


class TokenGate:
    """ASGI middleware: HTTP requests without the bearer token get 401; the app's lifespan
    and everything else pass through.

    The 401 carries no ``WWW-Authenticate: Bearer`` challenge: a client following the MCP
    authorization spec reads that as "go and discover an OAuth server", and there is none:
    the token is given by hand. For the same reason ``/.well-known/...`` (where that
    discovery looks) answers a plain 404 with or without the token.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if str(scope.get("path", "")).startswith("/.well-known/"):
                await _json(send, 404, {"ok": False, "error": "not found"})
                return
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                error = "invalid token: send Authorization: Bearer <the token harnex mcp printed>"
                await _json(send, 401, {"ok": False, "error": error})
                return
        await self.app(scope, receive, send)


def serve_http(
    port: int,
    token: str,
    socket: str | None,
    ready: Callable[[str], None] | None = None,
    call_limit: float | None = DEFAULT_CALL_LIMIT_S,
) -> None:
    """Serve until interrupted; ``ready`` gets the endpoint URL once the port is bound (with
    port 0, the one the system picked)."""
    import asyncio

    import uvicorn

    from harnex_tmux.mcp.server import create_server
    from harnex_tmux.ports import bind_listener

    try:
        listener = bind_listener(HOST, port)
    except OSError as exc:
        raise HarnexError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from exc
    app = TokenGate(create_server(socket, call_limit).streamable_http_app(host=HOST), token)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    if ready is not None:
        ready(f"http://{HOST}:{listener.getsockname()[1]}{PATH}")
    asyncio.run(server.serve(sockets=[listener]))
