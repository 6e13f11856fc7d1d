"""``harnex dash --web``: the same dashboard in a browser, on loopback, behind a token.

textual-serve does the serving: each browser connection gets its own ``harnex dash``
process (Textual's web driver) whose screen goes to xterm.js over a websocket. What
textual-serve does not do, this module adds around its aiohttp app:

- one middleware in front of every route (the page, the websocket, the static files): the
  ``Host`` header must name this loopback address (a page on another site cannot reach the
  dashboard through DNS rebinding), a websocket's ``Origin`` must be this one, and the token
  must come with the request, as ``?token=`` or as the cookie the first good request set;
- a socket bound before serving, so ``--port 0`` (any free port) prints the real address;
- a page of our own (no fonts from the internet, no logo), and no banner on stdout.

Loaded only by ``harnex dash --web``: textual-serve pulls in aiohttp.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from textual_serve.server import Server

from harnex_tmux.errors import UsageError
from harnex_tmux.tokens import same_secret, token_hex

HOST = "127.0.0.1"
TOKEN_ENV = "HARNEX_DASH_TOKEN"
MIN_TOKEN = 16  # characters: a shorter one could be guessed by trying
TEMPLATES = Path(__file__).resolve().parent / "web_page"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class WebOptions:
    repo_root: str | None  # None: every repository
    port: int  # 0: any free port
    token: str | None  # None: make one and print it
    read_only: bool


@dataclass(frozen=True)
class Serving:
    """Where the dashboard listens, and the address to open (with the token when it was
    made here; a token the user chose is not echoed to the terminal)."""

    port: int
    token: str
    url: str


def check_token(token: str) -> str:
    if len(token) < MIN_TOKEN or any(c.isspace() for c in token):
        raise UsageError(
            f"the dashboard token must be at least {MIN_TOKEN} characters, without spaces"
        )
    return token


def dash_command(options: WebOptions) -> str:
    """The command textual-serve runs for each browser connection (through a shell)."""
    argv = [sys.executable, "-m", "harnex_tmux", "dash"]
    argv += ["--all"] if options.repo_root is None else ["--repo", options.repo_root]
    if options.read_only:
        argv.append("--read-only")
    return shlex.join(argv)


def cookie_name(port: int) -> str:
    # Browsers send a cookie to every port of a host: one name per port keeps two
    # dashboards (two tokens) from overwriting each other's.
    return f"harnex_dash_{port}"


def token_gate(token: str, port: int) -> Any:
    """The aiohttp middleware that refuses every request without the token."""
    expected = token.encode()
    hosts = {f"{HOST}:{port}", f"localhost:{port}"}
    origins = {f"http://{host}" for host in hosts}
    cookie = cookie_name(port)

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.host not in hosts:
            return _refuse(403, f"harnex dash answers only to {HOST}:{port}")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in origins:
            return _refuse(403, "harnex dash refuses requests from other sites")
        from_query = request.query.get("token")
        supplied = from_query if from_query is not None else request.cookies.get(cookie)
        if supplied is None:
            return _refuse(401, "harnex dash needs its token: open the address it printed")
        if not same_secret(supplied.encode(), expected):
            return _refuse(403, "harnex dash: wrong token")
        response = await handler(request)
        if from_query is not None and not response.prepared:
            # The page's scripts, styles and websocket then carry the token by themselves.
            response.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")
        return response

    return gate


def _refuse(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")


class _Quiet(Server):
    """textual-serve's server without its start-up banner (we print one line ourselves)."""

    async def on_startup(self, app: web.Application) -> None:
        return None


def bind(port: int) -> socket.socket:
    """The listening socket, bound now, so the address printed is the one served."""
    try:
        listener = socket.create_server((HOST, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from exc
    return listener


def build_app(options: WebOptions, token: str, port: int) -> Awaitable[web.Application]:
    server = _Quiet(
        dash_command(options),
        host=HOST,
        port=port,
        title="harnex dash",
        templates_path=TEMPLATES,
    )

    async def make() -> web.Application:
        app = await server._make_app()
        app.middlewares.append(token_gate(token, port))
        return app

    return make()


def serve(options: WebOptions, announce: Callable[[Serving], None]) -> None:
    """Serve until SIGINT or SIGTERM; each browser tab's dashboard process ends with it."""
    token = check_token(options.token) if options.token is not None else token_hex(16)
    listener = bind(options.port)
    port = int(listener.getsockname()[1])
    shown = token if options.token is None else "<your token>"
    announce(Serving(port, token, f"http://{HOST}:{port}/?token={shown}"))
    asyncio.run(_run(listener, build_app(options, token, port)))


async def _run(listener: socket.socket, making: Awaitable[web.Application]) -> None:
    runner = web.AppRunner(await making, handle_signals=False, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.SockSite(runner, listener).start()
        await stop.wait()
    finally:
        await runner.cleanup()  # closes the websockets: their dashboards are told to quit
