"""``harnex mcp``: harnex's commands as MCP tools, so any agent that loads MCP servers can
start, message and watch other agents natively instead of shelling out to the CLI.

Each tool is a thin layer over the library and answers with the object the CLI prints with
``--json``; a failure is a tool error carrying the CLI's one-line message. Waiting (``wait``,
and ``send`` until the message is typed or answered) runs on the event loop as long-polls of
the sidecars (:mod:`harnex_tmux.session.polling`), so any number of waits in flight hold no thread
and never hold up ``status``, ``pane`` or ``stop``; the short calls run in worker threads.
A cancelled request ends at once; a cancelled or timed-out send withdraws its message if it
was not typed yet.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from harnex_tmux import __version__
from harnex_tmux.errors import FailedWithResult, HarnexError
from harnex_tmux.mcp.children import Children
from harnex_tmux.mcp.config import DEFAULT_CALL_LIMIT_S
from harnex_tmux.mcp.wording import argument_error, in_tool_terms
from harnex_tmux.session.client import ApiResponse
from harnex_tmux.session.polling import Driver, Steps, run_steps_async
from harnex_tmux.tokens import token_hex
from harnex_tmux.waits import MAX_TIMEOUT_S, Until

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
`status`, `pane`, `wait` and `events`, end it with `stop`. `run` takes a `budget` (5usd, 2M);
the `budget` tool shows it and raises or clears it. A session started by another agent
can tell its spawner something with `report`. After a restart (tmux server killed, reboot),
`resume` lists the sessions that ended without a stop and brings them back."""

Ident = Annotated[
    str,
    Field(
        strict=True,
        description="Session id, as given to run or shown by status; NAME:id for a session "
        "on host NAME (harnex hosts).",
    ),
]


def seconds(default: float, what: str) -> Any:
    """A finite timeout between 0 and :data:`MAX_TIMEOUT_S` (no NaN, no Infinity): the
    CLI's ``--timeout`` rule (:func:`harnex_tmux.waits.check_timeout`) as a schema, so the
    client sees the bounds."""
    return Field(
        default,
        ge=0,
        le=MAX_TIMEOUT_S,
        allow_inf_nan=False,
        strict=True,
        description=f"{what} (0 to {MAX_TIMEOUT_S:g}).",
    )


# More scrollback than any pane keeps; a bound all the same.
MAX_LINES = 100_000
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
# Starts sessions, deletes nothing; the same call again starts nothing more (a running
# session is refused).
STARTS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True)
# Changes a session's settings; deletes nothing, but the same call twice adds twice.
CHANGES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False)


def budget_text(text: str, argument: str = "budget") -> str:
    """An amount checked by the CLI's own parser; one line naming the argument when it is
    not one (``argument 'budget': invalid budget '5eur' (use e.g. ...)``)."""
    from harnex_tmux.budgets import parse_budget
    from harnex_tmux.errors import BudgetError, UsageError

    try:
        return parse_budget(text).to_text()
    except BudgetError as exc:
        raise UsageError(f"argument {argument!r}: {exc}") from None


# Every tool answers with the CLI's JSON object; the SDK publishes its schema.
Result = Annotated[CallToolResult, dict[str, Any]]


def answer(data: dict[str, Any]) -> CallToolResult:
    """A result the client reads both ways: as data, and as the JSON text the CLI prints."""
    text = json.dumps(data, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def failure(exc: HarnexError) -> CallToolResult:
    """A tool error whose text is the CLI's stderr line in the tool's terms (arguments, not
    flags); a failure that has a result object (a send: its message id, whether it was
    typed) carries it as data."""
    text = TextContent(type="text", text=f"harnex: {in_tool_terms(str(exc))}")
    data = exc.data if isinstance(exc, FailedWithResult) else None
    return CallToolResult(content=[text], structured_content=data, is_error=True)


async def respond(call: Callable[[], dict[str, Any]]) -> CallToolResult:
    """Run ``call`` (short: it reads files and asks sidecars once) in a worker thread and
    answer with its result or its error."""

    def guarded() -> CallToolResult:
        try:
            return answer(call())
        except HarnexError as exc:
            return failure(exc)

    return await anyio.to_thread.run_sync(guarded, abandon_on_cancel=True)


async def respond_waiting(
    steps: Callable[[], Steps[dict[str, Any]]],
    ctx: Context,
    total: float,
    what: str,
    limit: float | None,
    still: Callable[[float], dict[str, Any]],
) -> CallToolResult:
    """Drive a waiting loop on the event loop, reporting progress (seconds elapsed of
    ``total``, always a number) while it runs. Cancelling the request cancels the loop.

    Past ``limit`` seconds (when that comes before ``total``) the loop is ended as if
    cancelled (a send withdraws a message still queued, so nothing is typed behind the
    caller's back) and the call answers ``still(elapsed)``: a result, not an error, saying
    how to go on."""
    started = time.monotonic()

    async def tick() -> None:
        while True:
            await anyio.sleep(PROGRESS_EVERY_S)
            elapsed = round(time.monotonic() - started, 1)
            await ctx.report_progress(elapsed, float(total), f"{what} ({elapsed:g}s)")

    cut = limit is not None and 0 < limit < total
    result: CallToolResult | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        with anyio.move_on_after(limit if cut and limit is not None else math.inf):
            try:
                result = answer(await run_steps_async(steps()))
            except HarnexError as exc:
                result = failure(exc)
        group.cancel_scope.cancel()
    if result is None:
        result = answer(still(round(time.monotonic() - started, 1)))
    return result


T = TypeVar("T")


def noting_turns(steps: Steps[T], seen: list[int]) -> Steps[T]:
    """``steps`` unchanged, with the turn count of each sidecar answer appended to ``seen``:
    where a task_complete wait that is cut short goes on from."""
    driver = Driver(steps)
    while (step := driver.next()) is not None:
        try:
            driver.outcome = yield step
        except Exception as exc:  # thrown in by the driver: passed on to the loop
            driver.failure = exc
            continue
        outcome = driver.outcome
        turn = outcome.body.get("turn") if isinstance(outcome, ApiResponse) else None
        if isinstance(turn, int) and not isinstance(turn, bool):
            seen.append(turn)
    return driver.result()


class HarnexServer(MCPServer):
    """The SDK's server, answering a refused argument with one line that names it."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            text = f"harnex: {name}: {argument_error(exc.__cause__)}"
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def only_tools(server: MCPServer) -> None:
    """Unregister the SDK's empty prompt and resource lists, so the server advertises the
    one capability it has: a client that sees prompts or resources offered goes looking."""
    handlers = server._lowlevel_server._request_handlers
    for method in list(handlers):
        if method.startswith(("prompts/", "resources/")):
            del handlers[method]


def create_server(
    socket: str | None = None, call_limit: float | None = DEFAULT_CALL_LIMIT_S
) -> MCPServer:
    """The server with harnex's tools; ``socket`` is the tmux server new sessions go to
    (default: the caller's, like ``harnex run``); ``call_limit`` the seconds after which a
    long ``wait`` or ``send`` answers "still waiting" (None or 0: never)."""
    server: MCPServer = HarnexServer(
        "harnex", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    only_tools(server)

    children = Children()
    # One send at a time per session and message id: a retry that comes while the call it
    # retries is still tidying up after a cancel (withdrawing its message, here or on a
    # host) waits for that first, or the withdrawal could take the retry's message instead.
    sending: dict[tuple[str, str], anyio.Lock] = {}

    def tool(
        annotations: ToolAnnotations | None = None,
    ) -> Callable[[Callable[..., Awaitable[CallToolResult]]], None]:
        def add(fn: Callable[..., Awaitable[CallToolResult]]) -> None:
            # The docstring without its indentation is what the agent reads about the tool.
            description = inspect.cleandoc(fn.__doc__ or "")
            server.add_tool(fn, description=description, annotations=annotations)

        return add

    @tool()
    async def run(
        cli: Annotated[
            str, Field(strict=True, description="Agent command: claude, codex, or any CLI.")
        ],
        id: Annotated[
            str | None, Field(strict=True, description="Session id (default: random).")
        ] = None,
        description: Annotated[
            str | None, Field(strict=True, description="Shown by status.")
        ] = None,
        context: Annotated[
            str | None,
            Field(strict=True, description="First message, delivered once the agent is ready."),
        ] = None,
        args: Annotated[
            list[str] | None, Field(strict=True, description="Arguments for the agent.")
        ] = None,
        budget: Annotated[
            str | None,
            Field(
                strict=True,
                max_length=40,
                description="What the session may spend: 5usd, $2.50 (US dollars) or 2M, "
                "150k (tokens). At 80 % a warning event; at 100 % its turn is interrupted and "
                "messages are refused until the budget tool raises it.",
            ),
        ] = None,
        host: Annotated[
            str | None,
            Field(
                strict=True,
                description="Start it on this host (harnex hosts), in its user's home (or "
                "cwd there); its id is then NAME:id.",
            ),
        ] = None,
        cwd: Annotated[
            str | None,
            Field(
                strict=True,
                description="Folder to start in (default: the MCP server's own); with host, "
                "a folder on that host, ~ being its user's home.",
            ),
        ] = None,
    ) -> Result:
        """Start an agent in its own tmux window (detached) and return its session record.
        When this agent runs in tmux, its pane is the new session's spawner pane, so the new
        agent can `report` back. With host, it starts on that machine."""
        from harnex_tmux.adapters import load_catalog
        from harnex_tmux.launch import spec_for, start_folder, start_session
        from harnex_tmux.state import repo_root_for

        def start_remote(name: str) -> dict[str, Any]:
            from harnex_tmux.hosts.remote import RemoteSession, start_on

            limit = None if budget is None else budget_text(budget)
            started = start_on(name, [cli, *(args or [])], id, description, limit, cwd)
            if context:
                # Over stdin like every message, never on the remote command line (ps); with
                # the header a local run puts before its context: the agent's own id there.
                session = RemoteSession.for_target(str(started["id"]))
                text = f"[harnex session id={session.id}] {context}"
                session.send(text, wait=False, relay=False, message_id=f"ctx-{token_hex(6)}")
            return started

        def start() -> dict[str, Any]:
            if host is not None:
                return start_remote(host)
            limit = None if budget is None else budget_text(budget)
            here = start_folder(cwd)
            catalog = load_catalog(repo_root_for(here))
            spec = spec_for(
                [cli, *(args or [])],
                cwd=here,
                socket=socket,
                ident=id,
                description=description,
                context=context,
                catalog=catalog,
                budget=limit,
            )
            started = start_session(spec, timeout=START_TIMEOUT_S, catalog=catalog)
            children.adopt(started.sidecar)  # reaped once the session ends
            return started.summary()

        return await respond(start)

    @tool()
    async def send(
        id: Ident,
        message: Annotated[str, Field(strict=True, description="The text to type into the agent.")],
        ctx: Context,
        reply: Annotated[
            bool,
            Field(strict=True, description="Wait for the agent's turn to end; return its reply."),
        ] = False,
        timeout: Annotated[float, seconds(DEFAULT_SEND_S, "Seconds to wait")] = DEFAULT_SEND_S,
        message_id: Annotated[
            str | None,
            Field(
                strict=True,
                description="Your own id for this message (A-Z a-z 0-9 . _ -, up to 64): "
                "sending again with it finds the first one instead of queueing a second.",
            ),
        ] = None,
    ) -> Result:
        """Queue a message for a session and wait until it is typed (and, with reply, until
        the agent answers: claude and codex). The result names the message and its status;
        status "unconfirmed" means it was typed but harnex saw no sign either way: look at
        the pane before sending it again. An error that says typed: false left nothing
        queued; resend with the same message_id to be safe either way."""
        from harnex_tmux.hosts.target import find

        # Always an id of our own making when the caller gave none: a send cut short by the
        # call limit names it, so sending again finds this message instead of a second.
        chosen = message_id or f"mcp-{token_hex(8)}"

        def deliver() -> Steps[dict[str, Any]]:
            session = find(id, any_repo=True)
            result = yield from session.send_steps(
                message, reply=reply, timeout=timeout, message_id=chosen
            )
            # Unconfirmed is an answer, not an error: the agent may have it.
            if result.exit_code and result.status != "unconfirmed":
                raise FailedWithResult(result.error or result.status, result.to_dict())
            return result.to_dict()

        def still(elapsed: float) -> dict[str, Any]:
            what = "its reply" if reply else "it to be typed"
            return {
                "ok": False,
                "id": id,
                "status": "still_waiting",
                "message_id": chosen,
                "waited_s": elapsed,
                "next": f"harnex stopped waiting for {what} after {elapsed:g}s (the call "
                f"limit). Call send again with the same arguments and message_id {chosen!r}: "
                "it finds this message if it was typed, or queues it again if it was still "
                "waiting in the queue (it was withdrawn), never typing it twice; then it goes "
                "on waiting.",
            }

        key = (id, chosen)
        lock = sending.setdefault(key, anyio.Lock())
        try:
            async with lock:
                return await respond_waiting(
                    deliver, ctx, timeout, f"send to {id}", call_limit, still
                )
        finally:
            if not lock.locked() and not lock.statistics().tasks_waiting:
                sending.pop(key, None)

    @tool(READ_ONLY)
    async def status(
        id: Annotated[str | None, Field(strict=True, description="Only this session.")] = None,
        all: Annotated[bool, Field(strict=True, description="Sessions of every repo.")] = False,
    ) -> Result:
        """The sessions of this repo (or all) with their live state, and those of every
        host (harnex hosts), each row's machine naming its host (null: this one). A host
        that does not answer is named in down, its sessions shown as last seen."""
        from harnex_tmux.hosts.fleet import all_rows

        def rows() -> dict[str, Any]:
            found, down = all_rows(id, None, None, all, None)
            return {"sessions": found, **({"down": down} if down else {})}

        return await respond(rows)

    @tool(READ_ONLY)
    async def pane(
        id: Ident,
        lines: Annotated[
            int | None,
            Field(
                strict=True, ge=1, le=MAX_LINES, description="Only the last N lines (default: all)."
            ),
        ] = None,
    ) -> Result:
        """What the session's tmux pane shows right now."""
        from harnex_tmux.hosts.target import find

        return await respond(lambda: find(id, any_repo=True).pane(lines).to_dict())

    @tool(READ_ONLY)
    async def wait(
        id: Ident,
        ctx: Context,
        until: Annotated[Until, Field(description="State to wait for.")] = "exit",
        timeout: Annotated[float, seconds(DEFAULT_WAIT_S, "Seconds to wait")] = DEFAULT_WAIT_S,
        after_turn: Annotated[
            int | None,
            Field(
                strict=True,
                ge=0,
                description="task_complete only: the first turn past this count (as a "
                "still_waiting answer names it), so a continued wait misses no turn.",
            ),
        ] = None,
    ) -> Result:
        """Wait until the session reaches a state; task_complete returns the reply of the
        turn that finishes, exit the agent's exit `code`. An error if the session ends first
        or the time runs out. A long wait may answer status "still_waiting" first: call
        again as its `next` says."""
        from harnex_tmux.hosts.target import find

        turns: list[int] = []

        def waiting() -> Steps[dict[str, Any]]:
            steps = find(id, any_repo=True).wait_steps(until, timeout, after_turn)
            result = yield from noting_turns(steps, turns)
            return result.to_dict()

        def still(elapsed: float) -> dict[str, Any]:
            again: dict[str, Any] = {"id": id, "until": until}
            if until == "task_complete":
                seen = turns[-1] if turns else after_turn
                if seen is not None:
                    again["after_turn"] = seen
            return {
                "ok": False,
                "id": id,
                "status": "still_waiting",
                "waited_s": elapsed,
                "arguments": again,
                "next": f"{id} has not reached {until!r} after {elapsed:g}s (the call limit). "
                "Call wait again with these arguments to go on; nothing is missed.",
            }

        return await respond_waiting(
            waiting, ctx, timeout, f"waiting for {id} ({until})", call_limit, still
        )

    @tool(READ_ONLY)
    async def events(
        id: Ident,
        since: Annotated[
            str | None,
            Field(strict=True, description="Only events at or after this ISO-8601 time."),
        ] = None,
    ) -> Result:
        """The session's events so far (live or ended), oldest first."""
        from harnex_tmux.session.events import locate, parse_since, read_events

        def read() -> dict[str, Any]:
            if ":" in id:
                from harnex_tmux.hosts.remote import RemoteSession

                if since is not None:
                    parse_since(since)  # refused here, as for a local session
                session = RemoteSession.for_target(id)
                return {"id": session.target, "events": session.event_rows(since)}
            moment = parse_since(since) if since is not None else None
            source = locate(id)
            found = [event.data for event in read_events(source, moment, follow=False)]
            return {"id": source.id, "events": found}

        return await respond(read)

    @tool()
    async def stop(
        id: Ident,
        timeout: Annotated[float, seconds(5.0, "Seconds to wait for the agent to exit")] = 5.0,
    ) -> Result:
        """Stop a session (the agent's own exit sequence, then terminate) and close its
        window."""
        from harnex_tmux.hosts.target import find

        return await respond(lambda: find(id, any_repo=True).stop(timeout).to_dict())

    @tool(STARTS)
    async def resume(
        id: Annotated[
            str | None,
            Field(
                strict=True, description="The ended session to start again (also a stopped one)."
            ),
        ] = None,
        all: Annotated[
            bool, Field(strict=True, description="Every session that ended without a stop.")
        ] = False,
        fresh: Annotated[
            bool,
            Field(strict=True, description="Start a new conversation instead of continuing it."),
        ] = False,
    ) -> Result:
        """Bring back sessions whose tmux server, machine or agent went away. Without id or
        all: list the sessions that ended without a stop (what all would start). With id (or
        all): start it again in a new window under the same id; the agent continues its own
        conversation where its CLI can (else it starts fresh, and the result's note says
        so), then the messages still queued for it are delivered, in order, once."""
        from harnex_tmux.errors import UsageError
        from harnex_tmux.resume import find_ended, resume_all, status_rows
        from harnex_tmux.resume import resume as resume_one

        def tool_terms(row: dict[str, Any]) -> dict[str, Any]:
            for key in ("note", "error"):
                if isinstance(row.get(key), str):
                    row[key] = in_tool_terms(row[key])
            return row

        def act() -> dict[str, Any]:
            if id is not None and all:
                raise UsageError("give either id or all, not both")
            if id is not None:
                done = resume_one(find_ended(id), START_TIMEOUT_S, fresh)
                if done.sidecar is not None:
                    children.adopt(done.sidecar)  # reaped once the session ends
                return tool_terms(done.to_dict())
            if all:
                results = resume_all(None, False, START_TIMEOUT_S, fresh, children.adopt)
                return {"resumed": [tool_terms(r) for r in results]}
            return {"resumable": status_rows(None, None, False)}

        return await respond(act)

    @tool(CHANGES)
    async def budget(
        id: Ident,
        add: Annotated[
            str | None,
            Field(
                strict=True,
                max_length=40,
                description="Raise the limit by this much (2usd, 1M, 150k); on a session "
                "without a budget it sets one.",
            ),
        ] = None,
        clear: Annotated[
            bool, Field(strict=True, description="Take the budget away: nothing is enforced.")
        ] = False,
    ) -> Result:
        """A session's budget: what it may spend and what it spent (budget null: none). add
        raises the limit, clear removes it; either lets a session whose budget was spent go
        on, and the messages it held are then typed."""
        from harnex_tmux.errors import UsageError
        from harnex_tmux.session.control import change_budget
        from harnex_tmux.session.find import find_session

        def act() -> dict[str, Any]:
            if add is not None and clear:
                raise UsageError("give either add or clear, not both")
            extra = None if add is None else budget_text(add, "add")
            if ":" in id:
                from harnex_tmux.hosts.remote import RemoteSession

                shown = RemoteSession.for_target(id).budget(add=extra, clear=clear)
                return {"ok": True, "id": id, "budget": shown}
            found = find_session(id, None, None, any_repo=True)
            shown = change_budget(found, add=extra, clear=clear)
            return {"ok": True, "id": id, "budget": shown}

        return await respond(act)

    @tool()
    async def report(
        message: Annotated[str, Field(strict=True, description="What to tell the spawner.")],
        pane: Annotated[
            str | None,
            Field(strict=True, description="tmux pane id (default: $HARNEX_SPAWNER_PANE)."),
        ] = None,
    ) -> Result:
        """Type a message into the pane of the agent that started this session (for a
        worker or buddy reporting back) and press Enter."""
        from harnex_tmux.reporting import report as report_to

        return await respond(lambda: report_to(message, pane=pane, socket=socket).to_dict())

    return server


def serve_stdio(socket: str | None = None, call_limit: float | None = DEFAULT_CALL_LIMIT_S) -> None:
    create_server(socket, call_limit).run("stdio")
