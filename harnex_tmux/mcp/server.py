"""``harnex mcp``: harnex's commands as MCP tools, so any agent that loads MCP servers can
start, message and watch other agents natively instead of shelling out to the CLI.

Each tool is a thin layer over the library and answers with the object the CLI prints with
``--json``; a failure is a tool error carrying the CLI's one-line message. The library calls
block (they long-poll sidecars), so they run in worker threads: one long ``wait`` never holds
up another call, reports progress while it lasts, and a cancelled request ends at once (the
wait behind it within a second).
"""

from __future__ import annotations

import inspect
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent
from pydantic import Field

from harnex_tmux import __version__
from harnex_tmux.errors import HarnexError
from harnex_tmux.waits import Until

# How often a long call tells the client it is still going.
PROGRESS_EVERY_S = 2.0
# Long enough for an agent's turn; a caller that wants longer says so.
DEFAULT_WAIT_S = 600.0
DEFAULT_SEND_S = 120.0
# A sidecar is ready in well under a second; a loaded machine may take several. An agent
# calling `run` has nothing better to do than wait, so give it more room than the CLI's 5 s.
START_TIMEOUT_S = 20.0

INSTRUCTIONS = """\
harnex runs AI coding agents (claude, codex, or any terminal CLI) in visible tmux windows.
Start one with `run`, talk to it with `send` (reply=true waits for its answer), watch it with
`status`, `pane`, `wait` and `events`, end it with `stop`. A session started by another agent
can tell its spawner something with `report`."""

Ident = Annotated[str, Field(description="Session id, as given to run or shown by status.")]
# Every tool answers with the CLI's JSON object; the SDK publishes its schema.
Result = Annotated[CallToolResult, dict[str, Any]]


def answer(data: dict[str, Any]) -> CallToolResult:
    """A result the client reads both ways: as data, and as the JSON text the CLI prints."""
    text = json.dumps(data, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def failure(exc: HarnexError) -> CallToolResult:
    """A tool error whose text is the CLI's stderr line, nothing added."""
    return CallToolResult(content=[TextContent(type="text", text=f"harnex: {exc}")], is_error=True)


async def respond(
    call: Callable[[], dict[str, Any]],
    ctx: Context | None = None,
    total: float | None = None,
    what: str = "",
    cancel: threading.Event | None = None,
) -> CallToolResult:
    """Run ``call`` in a worker thread and answer with its result or its error. With ``ctx``,
    report progress (seconds elapsed of ``total``) while it runs. On cancellation the request
    ends at once and ``cancel`` is set: a long wait that watches it stops at its next poll
    (within a second), and its result is dropped."""
    started = time.monotonic()

    async def tick() -> None:
        assert ctx is not None
        while True:
            await anyio.sleep(PROGRESS_EVERY_S)
            elapsed = round(time.monotonic() - started, 1)
            await ctx.report_progress(elapsed, total, f"{what} ({elapsed:g}s)")

    def guarded() -> CallToolResult:
        try:
            return answer(call())
        except HarnexError as exc:
            return failure(exc)

    async with anyio.create_task_group() as group:
        if ctx is not None:
            group.start_soon(tick)
        try:
            result = await anyio.to_thread.run_sync(guarded, abandon_on_cancel=True)
        finally:
            group.cancel_scope.cancel()
            if cancel is not None:
                cancel.set()  # harmless once the call has returned
    return result


def create_server(socket: str | None = None) -> MCPServer:
    """The server with harnex's tools; ``socket`` is the tmux server new sessions go to
    (default: the caller's, like ``harnex run``)."""
    server: MCPServer = MCPServer(
        "harnex", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    def tool(fn: Callable[..., Awaitable[CallToolResult]]) -> None:
        # The docstring without its indentation is what the agent reads about the tool.
        server.add_tool(fn, description=inspect.cleandoc(fn.__doc__ or ""))

    @tool
    async def run(
        cli: Annotated[str, Field(description="Agent command: claude, codex, or any CLI.")],
        id: Annotated[str | None, Field(description="Session id (default: random).")] = None,
        description: Annotated[str | None, Field(description="Shown by status.")] = None,
        context: Annotated[
            str | None, Field(description="First message, delivered once the agent is ready.")
        ] = None,
        args: Annotated[list[str] | None, Field(description="Arguments for the agent.")] = None,
    ) -> Result:
        """Start an agent in its own tmux window (detached) and return its session record.
        When this agent runs in tmux, its pane is the new session's spawner pane, so the new
        agent can `report` back."""
        from harnex_tmux.adapters import load_catalog
        from harnex_tmux.launch import spec_for, start_session
        from harnex_tmux.state import repo_root_for

        def start() -> dict[str, Any]:
            catalog = load_catalog(repo_root_for(os.getcwd()))
            spec = spec_for(
                [cli, *(args or [])],
                cwd=os.getcwd(),
                socket=socket,
                ident=id,
                description=description,
                context=context,
                catalog=catalog,
            )
            return start_session(spec, timeout=START_TIMEOUT_S, catalog=catalog).summary()

        return await respond(start)

    @tool
    async def send(
        id: Ident,
        message: Annotated[str, Field(description="The text to type into the agent.")],
        ctx: Context,
        reply: Annotated[
            bool, Field(description="Wait for the agent's turn to end and return its reply.")
        ] = False,
        timeout: Annotated[float, Field(ge=0, description="Seconds to wait.")] = DEFAULT_SEND_S,
    ) -> Result:
        """Queue a message for a session and wait until it is typed (and, with reply, until
        the agent answers: claude and codex). The result names the message and its status;
        status "unconfirmed" means it was typed but harnex saw no sign either way: look at
        the pane before sending it again."""
        from harnex_tmux.session.handle import Session

        cancel = threading.Event()

        def deliver() -> dict[str, Any]:
            result = Session.find(id).send(message, reply=reply, timeout=timeout, cancel=cancel)
            # Unconfirmed is an answer, not an error: the agent may have the message.
            if result.exit_code and result.status != "unconfirmed":
                raise HarnexError(result.error or result.status)
            return result.to_dict()

        return await respond(deliver, ctx, timeout, f"send to {id}", cancel)

    @tool
    async def status(
        id: Annotated[str | None, Field(description="Only this session.")] = None,
        all: Annotated[bool, Field(description="Sessions of every repo.")] = False,
    ) -> Result:
        """The sessions of this repo (or all) with their live state."""
        from harnex_tmux.session.handle import statuses

        return await respond(
            lambda: {"sessions": [s.to_dict() for s in statuses(id, all_repos=all)]}
        )

    @tool
    async def pane(
        id: Ident,
        lines: Annotated[
            int | None, Field(ge=1, description="Only the last N lines (default: all).")
        ] = None,
    ) -> Result:
        """What the session's tmux pane shows right now."""
        from harnex_tmux.session.handle import Session

        return await respond(lambda: Session.find(id, any_repo=True).pane(lines).to_dict())

    @tool
    async def wait(
        id: Ident,
        ctx: Context,
        until: Annotated[Until, Field(description="State to wait for.")] = "exit",
        timeout: Annotated[float, Field(ge=0, description="Seconds to wait.")] = DEFAULT_WAIT_S,
    ) -> Result:
        """Wait until the session reaches a state; task_complete returns the reply of the
        turn that finishes, exit the agent's exit `code`. An error if the session ends first
        or the time runs out."""
        from harnex_tmux.session.handle import Session

        cancel = threading.Event()
        return await respond(
            lambda: Session.find(id).wait(until, timeout, cancel).to_dict(),
            ctx,
            timeout,
            f"waiting for {id} ({until})",
            cancel,
        )

    @tool
    async def events(
        id: Ident,
        since: Annotated[
            str | None, Field(description="Only events at or after this ISO-8601 time.")
        ] = None,
    ) -> Result:
        """The session's events so far (live or ended), oldest first."""
        from harnex_tmux.event_stream import locate, parse_since, read_events

        def read() -> dict[str, Any]:
            moment = parse_since(since) if since is not None else None
            source = locate(id)
            found = [event.data for event in read_events(source, moment, follow=False)]
            return {"id": source.id, "events": found}

        return await respond(read)

    @tool
    async def stop(
        id: Ident,
        timeout: Annotated[
            float, Field(ge=0, description="Seconds to wait for the agent to exit.")
        ] = 5.0,
    ) -> Result:
        """Stop a session (the agent's own exit sequence, then terminate) and close its
        window."""
        from harnex_tmux.session.handle import Session

        return await respond(lambda: Session.find(id).stop(timeout).to_dict())

    @tool
    async def report(
        message: Annotated[str, Field(description="What to tell the spawner.")],
        pane: Annotated[
            str | None, Field(description="tmux pane id (default: $HARNEX_SPAWNER_PANE).")
        ] = None,
    ) -> Result:
        """Type a message into the pane of the agent that started this session (for a
        worker or buddy reporting back) and press Enter."""
        from harnex_tmux.reporting import report as report_to

        return await respond(lambda: report_to(message, pane=pane, socket=socket).to_dict())

    return server


def serve_stdio(socket: str | None = None) -> None:
    create_server(socket).run("stdio")
