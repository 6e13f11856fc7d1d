"""Sending a message to a session, as ``harnex send`` does: resolve, relay, queue, wait."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

from harnex_tmux.budgets import BUDGET_REACHED
from harnex_tmux.errors import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_UNCONFIRMED,
    BudgetReached,
    Cancelled,
    HarnexError,
    MessageError,
    SendFailed,
    SidecarUnreachable,
    UsageError,
)
from harnex_tmux.messages import check_message_id, check_size, with_relay
from harnex_tmux.session.client import ApiResponse, SidecarClient
from harnex_tmux.session.control import poll_slice
from harnex_tmux.session.find import find_session
from harnex_tmux.session.polling import Call, Pause, Steps, run_steps
from harnex_tmux.state import SessionRecord, utc_now
from harnex_tmux.tokens import token_hex

IDLE_START_S = 30.0
# How often that wait asks whether the message's turn was reported finished meanwhile.
BUSY_SLICE_S = 1.0
# After a withdrawal came too late (the deliverer had the message), how long to wait for its
# typing to end so the result can say how it went.
WITHDRAW_SETTLE_S = 30.0
WITHDRAW_TRIES = 10
AGENT_EXITED = "the agent exited while waiting for it to return to its prompt"


def _refused(answer: ApiResponse, message_id: str | None = None) -> SendFailed:
    """The sidecar's error answer as the exception ``harnex send`` reports."""
    text = str(answer.body.get("error") or f"sidecar answered HTTP {answer.status}")
    body = dict(answer.body)
    if message_id is not None:
        body["message_id"] = message_id  # a poll's 404 names no message; we know it
    if answer.status == BUDGET_REACHED:
        return BudgetReached(text, body, answer.status)
    return SendFailed(text, body, answer.status)


def failure_report(ident: str | None, exc: HarnexError) -> dict[str, Any]:
    """The JSON object ``harnex send`` prints when it fails before it has a result: the same
    fields as a result, ``error`` being the text of the stderr line, plus what the sidecar
    answered (its ``state``, for example) when it refused."""
    body = dict(exc.body) if isinstance(exc, SendFailed) else {}
    report: dict[str, Any] = {
        "ok": False,
        "id": ident,
        "status": "timeout" if exc.exit_code == EXIT_TIMEOUT else "failed",
        "message_id": body.pop("message_id", None),
        "error": str(exc),
    }
    if isinstance(exc, SendFailed):
        if exc.http_status is not None:
            report["http_status"] = exc.http_status
        for key, value in body.items():
            report.setdefault(key, value)
    return report


@dataclass
class SendRequest:
    text: str
    ident: str | None = None
    repo: str | None = None
    cli: str | None = None
    submit: bool = True
    enter_only: bool = False
    force: bool = False
    relay: bool | None = None
    host: str | None = None
    port: int | None = None
    token: str | None = None
    wait: bool = True
    wait_for_idle: bool = False
    reply: bool = False
    timeout: float = 120.0
    # Chosen by the caller so that a retry finds the first send instead of queueing another.
    message_id: str | None = None


class SendOptions(TypedDict, total=False):
    """How far to follow a send (the fields of :class:`SendRequest` past its target), for
    callers that pass them on by name; the defaults are :class:`SendRequest`'s."""

    submit: bool
    enter_only: bool
    force: bool
    relay: bool | None
    wait: bool
    wait_for_idle: bool
    reply: bool
    timeout: float
    message_id: str | None


def options_of(request: SendRequest) -> SendOptions:
    """The request's options as :meth:`Session.send` takes them, to hand a request already
    made (the CLI's) to another session kind without naming each field again."""
    return cast(SendOptions, {name: getattr(request, name) for name in SendOptions.__annotations__})


@dataclass
class SendResult:
    id: str
    status: str
    message_id: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Set when the status alone does not decide it (delivered, then the agent exited).
    exit_override: int | None = None

    @property
    def exit_code(self) -> int:
        if self.exit_override is not None:
            return self.exit_override
        if self.status in ("delivered", "queued"):
            return EXIT_OK
        if self.status == "unconfirmed":
            return EXIT_UNCONFIRMED
        return EXIT_TIMEOUT if self.status == "timeout" else EXIT_ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.exit_code == EXIT_OK,
            "id": self.id,
            "status": self.status,
            "message_id": self.message_id,
            "error": self.error,
            **self.extra,
        }


def _relay_text(request: SendRequest, target_session_id: str | None) -> str:
    sender_session = os.environ.get("HARNEX_SESSION_ID")
    if not sender_session or not request.text or request.relay is False:
        return request.text  # a header names the sending session: outside one there is none
    # With --port/--token the target is unknown, so only --relay adds the header (as 0.4.0).
    wanted = request.relay or (
        target_session_id is not None and target_session_id != sender_session
    )
    if not wanted:
        return request.text
    return with_relay(
        request.text,
        os.environ.get("HARNEX_SESSION_CLI", "unknown"),
        os.environ.get("HARNEX_ID", "unknown"),
        utc_now(),
    )


def send_message(request: SendRequest, progress: Callable[[str], None] | None = None) -> SendResult:
    """Send as ``harnex send`` does, blocking: to the session the request names
    (``--id``/``--repo``/``--cli``), or straight to a sidecar's ``--port`` and ``--token``;
    see :func:`send_steps`."""
    return run_steps(send_steps(request, progress))


def send_steps(
    request: SendRequest,
    progress: Callable[[str], None] | None = None,
    record: SessionRecord | None = None,
) -> Steps[SendResult]:
    """Resolve the target (``record`` when given), queue the message, and wait for what was
    asked for.

    A send that ends in an error leaves nothing behind to be typed later: when the time runs
    out, or the caller gives up (Cancelled thrown in), while the message is still queued, it
    is withdrawn from the inbox; if the agent's deliverer took it first, the result says so
    (``typed``). With ``message_id``, sending again after an error finds the first message
    instead of queueing a second.
    """
    if not request.text and not request.enter_only:
        raise UsageError("the message is empty")
    if request.message_id is not None:
        try:
            check_message_id(request.message_id)
        except MessageError as exc:
            raise UsageError(str(exc)) from exc
    say = progress or (lambda line: None)
    started = time.monotonic()
    if record is None and request.port is not None and request.token is not None:
        client = SidecarClient(request.host or "127.0.0.1", request.port, request.token)
        target_id, target_session = request.ident or f"port {request.port}", None
    else:
        if record is None:
            record = find_session(request.ident, request.repo, request.cli)
        client = SidecarClient.for_record(record)
        target_id, target_session = record.id, record.session_id
    text = _relay_text(request, target_session)
    try:
        check_size(text)
    except MessageError as exc:
        raise UsageError(str(exc)) if exc.status == 400 else HarnexError(str(exc)) from exc
    deadline = time.monotonic() + request.timeout
    first_wait = poll_slice(request.timeout) if request.wait else 0
    payload: dict[str, Any] = {
        "text": text,
        "submit": request.submit,
        "enter_only": request.enter_only,
        "force": request.force,
        "wait": first_wait,
    }
    # Our own id even when the caller chose none: a send cancelled before the sidecar has
    # answered can still be withdrawn by it.
    payload["message_id"] = request.message_id or f"msg-{token_hex(6)}"
    try:
        answer = yield Call(client, "POST", "/send", payload, first_wait + 10)
    except Cancelled:
        late = yield from _withdraw(client, payload["message_id"], unknown_ok=True)
        raise Cancelled(_cancelled_text(payload["message_id"], late)) from None
    assert isinstance(answer, ApiResponse)
    body = answer.body
    if body.get("message_id") and body.get("status") in ("failed", "expired", "unconfirmed"):
        # The sidecar decided about the message: a result to report, not a transport error.
        status = str(body["status"])
        return SendResult(target_id, status, str(body["message_id"]), str(body.get("error")))
    if answer.status not in (200, 202):
        raise _refused(answer)
    message_id = body.get("message_id")
    status = str(body.get("status"))
    say(f"{message_id} {status}")
    follow = _follow(request, client, target_id, message_id, status, body, deadline, started, say)
    try:
        return (yield from follow)
    except SidecarUnreachable as exc:
        # Queued, then the sidecar went away: the report still names the message.
        raise SendFailed(str(exc), {"message_id": message_id}, None) from exc


def _follow(
    request: SendRequest,
    client: SidecarClient,
    target_id: str,
    message_id: str | None,
    status: str,
    body: dict[str, Any],
    deadline: float,
    started: float,
    say: Callable[[str], None],
) -> Steps[SendResult]:
    """After the sidecar took the message: wait for its delivery, then what was asked for."""
    while request.wait and status == "queued":
        try:
            polled = yield from _poll_message(client, str(message_id), deadline, "delivery")
        except Cancelled:
            late = yield from _withdraw(client, str(message_id))
            raise Cancelled(_cancelled_text(str(message_id), late)) from None
        if polled is None:
            late = yield from _withdraw(client, str(message_id))
            if late is None:
                error = f"not delivered within {request.timeout:g}s; withdrawn, never typed"
                return SendResult(target_id, "timeout", message_id, error, {"typed": False})
            polled = late
        body = polled
        status = str(body.get("status"))
        say(f"{message_id} {status}")
    if status not in ("delivered", "queued"):
        typed = {"typed": status == "unconfirmed" or body.get("delivered_at") is not None}
        return SendResult(target_id, status, message_id, str(body.get("error") or status), typed)
    if request.reply and status == "delivered":
        return (
            yield from _wait_reply(client, target_id, str(message_id), deadline, request.timeout)
        )
    if request.wait_for_idle and status == "delivered":
        state, problem = yield from _wait_for_idle(client, deadline, str(message_id))
        # 0.4.0 answered --wait-for-idle with {ok, id, state, waited_seconds}.
        idle = {"state": state, "waited_seconds": round(time.monotonic() - started, 1)}
        if problem is None:
            return SendResult(target_id, status, message_id, extra=idle)
        if state == "exited":
            return SendResult(target_id, status, message_id, problem, idle, EXIT_ERROR)
        return SendResult(target_id, "timeout", message_id, problem, {**idle, "typed": True})
    return SendResult(target_id, status, message_id)


def _cancelled_text(message_id: str, late: dict[str, Any] | None) -> str:
    """What became of a cancelled send's message, for the line that reports the cancel."""
    if late is None or not was_typed(late):
        return f"{message_id} withdrawn, never typed"
    return f"{message_id} was typed before it could be withdrawn ({late.get('status')})"


def was_typed(body: dict[str, Any]) -> bool:
    """Whether a message's record (the sidecar's ``/messages/<id>`` answer) says it was
    typed: delivered, typed without proof (unconfirmed), or failed after its typing."""
    return body.get("status") in ("delivered", "unconfirmed") or bool(body.get("delivered_at"))


def withdraw_message(ident: str | None, message_id: str) -> SendResult:
    """Take back message ``message_id`` from session ``ident``'s inbox: the far half of a
    send cancelled on another host (``harnex send --withdraw``). Status ``withdrawn`` when
    it will never be typed (also when the sidecar never had it); otherwise the message's
    own status, ``typed`` saying whether it was."""
    record = find_session(ident)
    client = SidecarClient.for_record(record)
    late = run_steps(_withdraw(client, message_id, unknown_ok=True))
    if late is None or not was_typed(late):
        return SendResult(
            record.id, "withdrawn", message_id, "withdrawn, never typed", {"typed": False}
        )
    status = str(late.get("status"))
    return SendResult(record.id, status, message_id, late.get("error"), {"typed": True})


def _withdraw(
    client: SidecarClient, message_id: str, unknown_ok: bool = False
) -> Steps[dict[str, Any] | None]:
    """Take a still-queued message back out of the inbox; None when that worked. When the
    deliverer had already taken it, wait (briefly) for how its typing ended and give the
    message's record: it was typed, and the caller must say so.

    ``unknown_ok``: the send itself was cut short, so the sidecar may not have the message
    yet (its request still being read): try again for a moment before taking "no such
    message" as "never sent"."""
    for attempt in range(WITHDRAW_TRIES if unknown_ok else 1):
        answer = yield Call(client, "DELETE", f"/inbox/{message_id}", None, 10)
        assert isinstance(answer, ApiResponse)
        if answer.status == 200:
            return None
        known = yield Call(client, "GET", f"/messages/{message_id}", None, 10)
        assert isinstance(known, ApiResponse)
        if known.status == 200:
            break
        if attempt + 1 < WITHDRAW_TRIES and unknown_ok:
            yield Pause(0.1)
    else:
        return None  # the sidecar never got it
    polled = yield Call(
        client, "GET", f"/messages/{message_id}?wait={WITHDRAW_SETTLE_S:g}", None, 40
    )
    assert isinstance(polled, ApiResponse)
    if polled.status != 200:
        raise _refused(polled, message_id)
    return polled.body


def _wait_reply(
    client: SidecarClient,
    target_id: str,
    message_id: str,
    deadline: float,
    timeout: float,
) -> Steps[SendResult]:
    """Wait for the turn this message started to finish; the result carries the reply."""
    while True:
        body = yield from _poll_message(client, message_id, deadline, "reply")
        if body is None:
            error = f"delivered, but no reply within {timeout:g}s"
            return SendResult(target_id, "timeout", message_id, error, {"typed": True})
        extra = {k: body.get(k) for k in ("delivered_at", "completed_at", "reply")}
        if body.get("status") not in ("queued", "delivered"):
            # Failed after delivery: the agent reported a damaged copy of the text.
            return SendResult(
                target_id,
                str(body.get("status")),
                message_id,
                body.get("error"),
                {**extra, "typed": True},
            )
        if body.get("completed_at"):
            return SendResult(target_id, "delivered", message_id, extra=extra)


def _poll_message(
    client: SidecarClient, message_id: str, deadline: float, until: str
) -> Steps[dict[str, Any] | None]:
    """One long-poll of the message's record until its delivery or its reply (a slice of the
    time left); None once the deadline has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    slice_s = poll_slice(remaining)
    path = f"/messages/{message_id}?wait={slice_s:.3f}&until={until}"
    answer = yield Call(client, "GET", path, None, slice_s + 10)
    assert isinstance(answer, ApiResponse)
    if answer.status != 200:
        raise _refused(answer, message_id)
    return answer.body


def _wait_for_idle(
    client: SidecarClient, deadline: float, message_id: str
) -> Steps[tuple[str, str | None]]:
    """See the agent leave its prompt (up to 30 s, or until the agent reports the message's
    turn finished: a quick turn may have come and gone unseen), then wait until it is back at
    its prompt.

    Returns the last state seen and, when it did not get back to the prompt, why not (the
    agent exited, or the time ran out). A sidecar that stops answering meanwhile went away
    with its agent, as 0.4.0 also took it.
    """
    start_by = min(deadline, time.monotonic() + IDLE_START_S)
    state = "unknown"
    try:
        while not (yield from _turn_reported(client, message_id)):
            left = max(0.0, start_by - time.monotonic())
            slice_s = min(left, BUSY_SLICE_S)
            path = f"/wait?until=busy&timeout={slice_s:.3f}"
            first = yield Call(client, "GET", path, None, slice_s + 10)
            assert isinstance(first, ApiResponse)
            state = str(first.body.get("state") or state)
            if first.body.get("reached") or state == "exited" or slice_s >= left:
                break
    except SidecarUnreachable:
        return "exited", AGENT_EXITED
    while state != "exited":
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return state, "delivered, but the agent did not return to its prompt in time"
        slice_s = min(remaining, 30.0)
        try:
            path = f"/wait?until=prompt&timeout={slice_s:.3f}"
            answer = yield Call(client, "GET", path, None, slice_s + 10)
        except SidecarUnreachable:
            return "exited", AGENT_EXITED
        assert isinstance(answer, ApiResponse)
        state = str(answer.body.get("state") or state)
        if answer.body.get("reached"):
            return "prompt", None
    return state, AGENT_EXITED


def _turn_reported(client: SidecarClient, message_id: str) -> Steps[bool]:
    """Whether the agent reported the turn this message started as finished (CLIs with
    hooks); a message the sidecar no longer knows counts as not."""
    answer = yield Call(client, "GET", f"/messages/{message_id}")
    assert isinstance(answer, ApiResponse)
    return answer.status == 200 and bool(answer.body.get("completed_at"))
