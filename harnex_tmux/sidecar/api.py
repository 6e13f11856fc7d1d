"""The sidecar's HTTP endpoints, as thin handlers over the session they serve."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harnex_tmux.adapters.base import State
from harnex_tmux.budgets import BUDGET_REACHED
from harnex_tmux.errors import (
    ApiError,
    BudgetError,
    InboxFull,
    MessageError,
    MessageIdTaken,
    StateDirFull,
)
from harnex_tmux.messages import check_message_id, check_size, sanitize
from harnex_tmux.sidecar.inbox import (
    DELIVERED,
    FAILED,
    QUEUED,
    UNCONFIRMED,
    Inbox,
    Message,
)
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.sidecar.server import Request, Response, Router
from harnex_tmux.sidecar.turns import Turns
from harnex_tmux.waits import WAITABLE


@dataclass(frozen=True)
class ApiParts:
    """What the endpoints use of the sidecar: the session's name (``ident``), its pane (its
    id, and ``read_pane`` to capture it with that many lines of scrollback), its state, the
    inbox and ``deliver_now`` for forced input, the turns for replies, and the few things the
    API can ask for (the status, a stop, a hook event taken in)."""

    ident: str
    pane_id: str
    read_pane: Callable[[int], str]
    readiness: Readiness
    inbox: Inbox
    turns: Turns
    deliver_now: Callable[[Message], bool]
    status_payload: Callable[[], dict[str, Any]]
    request_stop: Callable[[], bool]
    on_hook: Callable[[str, str, dict[str, Any]], None]
    usage: Callable[[], dict[str, Any]] = dict
    budget_refusal: Callable[[], str | None] = lambda: None
    budget_show: Callable[[], dict[str, Any] | None] = lambda: None
    budget_change: Callable[..., dict[str, Any] | None] = lambda **_: None


# The state directory has no room to record a new message (HTTP 507 Insufficient Storage).
INSUFFICIENT_STORAGE = 507
# A long-poll answers at least this often, so clients notice a vanished sidecar quickly.
MAX_WAIT_S = 30.0


# Query numbers are plain ASCII decimals of sane length: ``float()`` would also take "nan",
# "inf", "1e999" and non-ASCII digits, and a NaN timeout never expires.
_SECONDS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
_COUNT = re.compile(r"[0-9]{1,9}")


def _seconds(query: dict[str, str], name: str, default: float) -> float:
    raw = query.get(name)
    if raw is None:
        return default
    if not _SECONDS.fullmatch(raw):
        raise ApiError(400, f"{name} must be a non-negative number of seconds")
    return float(raw)


def _count(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not _COUNT.fullmatch(raw):
        raise ApiError(400, f"{name} must be a whole number")
    return int(raw)


def _body_seconds(body: dict[str, Any], name: str) -> float:
    """A JSON number of seconds, capped at :data:`MAX_WAIT_S` without ever overflowing."""
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"{name} must be a non-negative number of seconds")
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(400, f"{name} must be a finite number of seconds")
    if value < 0:
        raise ApiError(400, f"{name} must be a non-negative number of seconds")
    return MAX_WAIT_S if value >= MAX_WAIT_S else float(value)


def build_router(sidecar: ApiParts) -> Router:
    """The endpoints over ``sidecar``, the parts of the sidecar they use."""
    router = Router()

    def status(request: Request, rest: list[str]) -> Response:
        return 200, {"ok": True, **sidecar.status_payload()}

    def stop(request: Request, rest: list[str]) -> Response:
        request.json()
        started = sidecar.request_stop()
        return 202, {"ok": True, "stopping": True, "already": not started}

    def wait(request: Request, rest: list[str]) -> Response:
        until = request.query.get("until", "prompt")
        if until not in WAITABLE:
            raise ApiError(400, f"cannot wait until {until!r}; one of {sorted(WAITABLE)}")
        timeout = min(_seconds(request.query, "timeout", MAX_WAIT_S), MAX_WAIT_S)
        if until == "task_complete":
            after = _count(request.query, "after")
            seen = after if after is not None else sidecar.turns.turn_count
            turn = sidecar.turns.wait_turn(seen, timeout)
            if turn is None:
                state = sidecar.readiness.state.value
                return 200, {"ok": True, "state": state, "reached": False, "turn": seen}
            return 200, {
                "ok": True,
                "state": sidecar.readiness.state.value,
                "reached": True,
                "turn": turn.number,
                "reply": turn.reply,
                "message_id": turn.message_id,
                "completed_at": turn.completed_at,
            }
        target = State.EXITED.value if until == "exit" else until
        state = sidecar.readiness.wait_for(lambda s: s.value == target, timeout)
        return 200, {"ok": True, "state": state.value, "reached": state.value == target}

    def pane(request: Request, rest: list[str]) -> Response:
        from harnex_tmux.pane_text import snapshot, trim_capture

        count = _count(request.query, "lines")
        if count is not None and count < 1:
            raise ApiError(400, "lines must be a positive integer")
        pane_id = sidecar.pane_id
        text = trim_capture(sidecar.read_pane(count or 0), count)
        return 200, snapshot(sidecar.ident, pane_id, sidecar.readiness.state.value, text, count)

    def send(request: Request, rest: list[str]) -> Response:
        body = request.json()
        text = body.get("text", "")
        if not isinstance(text, str):
            raise ApiError(400, "text must be a string")
        flags = {}
        for name, default in (
            ("submit", True),
            ("enter_only", False),
            ("force", False),
            ("queue", True),
        ):
            value = body.get(name, default)
            if not isinstance(value, bool):
                raise ApiError(400, f"{name} must be true or false")
            flags[name] = value
        wait_s = _body_seconds(body, "wait")
        try:
            check_size(text)
        except MessageError as exc:
            raise ApiError(exc.status, str(exc)) from exc
        text = sanitize(text)
        if not text and not flags["enter_only"]:
            raise ApiError(400, "text is empty")
        message = Message(
            text=text, submit=flags["submit"], enter_only=flags["enter_only"], force=flags["force"]
        )
        chosen = body.get("message_id")
        if chosen is not None:
            # The caller's own id: sending again with it finds this message, never a second.
            if not isinstance(chosen, str):
                raise ApiError(400, "message_id must be a string")
            try:
                message.id = check_message_id(chosen)
            except MessageError as exc:
                raise ApiError(400, str(exc)) from exc
        state = sidecar.readiness.state
        if state == State.EXITED:
            raise ApiError(409, "session has exited", state=state.value)
        refusal = sidecar.budget_refusal()
        if refusal is not None:
            # Forced input too: anything typed would start the spending again.
            raise ApiError(BUDGET_REACHED, refusal, budget=sidecar.budget_show())
        if flags["force"] or flags["enter_only"]:
            # Forced input and bare submits (answering a dialog) skip the queue and readiness,
            # but still wait their turn behind a delivery that is typing right now.
            try:
                message = sidecar.inbox.record(message)
            except MessageIdTaken as exc:
                raise ApiError(409, str(exc)) from exc
            sidecar.deliver_now(message)  # a no-op for a retry of one already typed
            if message.status == FAILED and message.error == sidecar.inbox.storage_problem():
                raise ApiError(INSUFFICIENT_STORAGE, message.error or "no room")
            return _send_answer(message)
        if state.is_dialog:
            raise ApiError(
                409,
                f"agent is showing a dialog ({state.value}); answer it first or force the send",
                state=state.value,
            )
        if not flags["queue"] and (state != State.PROMPT or len(sidecar.inbox)):
            raise ApiError(409, f"agent is not ready ({state.value})", state=state.value)
        try:
            message = sidecar.inbox.add(message)
        except InboxFull as exc:
            raise ApiError(503, str(exc)) from exc
        except StateDirFull as exc:
            # Nothing of it was kept; what was queued before stays queued.
            raise ApiError(INSUFFICIENT_STORAGE, str(exc)) from exc
        except MessageIdTaken as exc:
            raise ApiError(409, str(exc)) from exc
        if wait_s:
            sidecar.inbox.wait_finished(message.id, wait_s)
        return _send_answer(message)

    def message_status(request: Request, rest: list[str]) -> Response:
        if len(rest) != 1:
            raise ApiError(404, "use /messages/<id>")
        wait_s = min(_seconds(request.query, "wait", 0.0), MAX_WAIT_S)
        until = request.query.get("until", "delivery")
        if until not in ("delivery", "reply"):
            raise ApiError(400, "until must be delivery or reply")
        if not wait_s:
            message = sidecar.inbox.get(rest[0])
        elif until == "reply":
            message = sidecar.inbox.wait_reply(rest[0], wait_s)
        else:
            message = sidecar.inbox.wait_finished(rest[0], wait_s)
        if message is None:
            raise ApiError(404, f"no message {rest[0]!r}")
        return 200, {"ok": True, **message.public()}

    def inbox_list(request: Request, rest: list[str]) -> Response:
        return 200, {"ok": True, "messages": [m.public() for m in sidecar.inbox.pending()]}

    def inbox_drop(request: Request, rest: list[str]) -> Response:
        if len(rest) > 1:
            raise ApiError(404, "use /inbox or /inbox/<id>")
        dropped = sidecar.inbox.drop(rest[0] if rest else None)
        if rest and not dropped:
            raise ApiError(404, f"no pending message {rest[0]!r}")
        answer = {"ok": True, "dropped": [m.id for m in dropped]}
        if rest:
            answer["message"] = dropped[0].public()  # 0.4.0's field
        else:
            answer["cleared"] = len(dropped)  # 0.4.0's field: how many were dropped
        return 200, answer

    def hook(request: Request, rest: list[str]) -> Response:
        body = request.json()
        if rest == ["claude"]:
            # Claude Code's own http hook: the body is the event, and the answer is read as
            # the hook's output, where an empty object asks for nothing.
            event = body.get("hook_event_name")
            if not isinstance(event, str):
                raise ApiError(400, "hook_event_name must be a string")
            sidecar.on_hook("claude", event, body)
            return 200, {}
        if rest:
            raise ApiError(404, "use /hook or /hook/claude")
        source, event, payload = body.get("source"), body.get("event"), body.get("payload")
        if not isinstance(source, str) or not isinstance(event, str):
            raise ApiError(400, "source and event must be strings")
        sidecar.on_hook(source, event, payload if isinstance(payload, dict) else {})
        return 200, {"ok": True}

    def usage(request: Request, rest: list[str]) -> Response:
        return 200, {"ok": True, "usage": sidecar.usage()}

    def budget_show(request: Request, rest: list[str]) -> Response:
        return 200, {"ok": True, "budget": sidecar.budget_show()}

    def budget_change(request: Request, rest: list[str]) -> Response:
        body = request.json()
        add, clear = body.get("add"), body.get("clear", False)
        if add is not None and not isinstance(add, str):
            raise ApiError(400, "add must be a string such as 2usd or 1M")
        if not isinstance(clear, bool) or (add is None) == (not clear):
            raise ApiError(400, "give one of add (an amount) or clear (true)")
        try:
            shown = sidecar.budget_change(add=add, clear=clear)
        except BudgetError as exc:
            raise ApiError(400, str(exc)) from exc
        return 200, {"ok": True, "budget": shown}

    router.add("GET", "/budget", budget_show)
    router.add("POST", "/budget", budget_change)
    router.add("GET", "/usage", usage)
    router.add("POST", "/hook", hook)
    router.add("POST", "/send", send)
    router.add("GET", "/messages", message_status)
    router.add("GET", "/inbox", inbox_list)
    router.add("DELETE", "/inbox", inbox_drop)
    router.add("GET", "/status", status)
    router.add("GET", "/pane", pane)
    router.add("GET", "/health", status)
    router.add("POST", "/stop", stop)
    router.add("GET", "/wait", wait)
    return router


def _send_answer(message: Message) -> Response:
    data = {
        "ok": message.status in (DELIVERED, QUEUED),
        "message_id": message.id,
        "status": message.status,
    }
    if message.status == DELIVERED:
        return 200, {**data, "delivered": True, "delivered_at": message.delivered_at}
    if message.status == QUEUED:
        return 202, {**data, "queued": True}
    if message.status == UNCONFIRMED:
        # Typed and submitted: the agent may have it. Accepted, not proven.
        return 202, {**data, "error": message.error or message.status}
    # Dropped, expired or refused: a decision about the message, not a server error.
    return 409, {**data, "error": message.error or message.status}
