"""Sending a message to a session, as ``harnex send`` does: resolve, relay, queue, wait."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harnex_tmux.errors import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_UNCONFIRMED,
    HarnexError,
    MessageError,
    SendFailed,
    SidecarUnreachable,
    UsageError,
)
from harnex_tmux.messages import check_size, with_relay
from harnex_tmux.session.client import SidecarClient
from harnex_tmux.session.control import poll_slice
from harnex_tmux.session.find import find_session
from harnex_tmux.state import SessionRecord, utc_now

IDLE_START_S = 30.0
# How often that wait asks whether the message's turn was reported finished meanwhile.
BUSY_SLICE_S = 1.0
AGENT_EXITED = "the agent exited while waiting for it to return to its prompt"


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
    # Set by a caller that gives up (an MCP client cancelling): the waits end with Cancelled.
    cancel: threading.Event | None = None


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
    """Send to the session the request names (``--id``/``--repo``/``--cli``), or straight to
    a sidecar's ``--port`` and ``--token``."""
    _check_text(request)
    if request.port is not None and request.token is not None:
        client = SidecarClient(request.host or "127.0.0.1", request.port, request.token)
        target_id = request.ident or f"port {request.port}"
        return _deliver(request, client, target_id, None, progress)
    return send_to(find_session(request.ident, request.repo, request.cli), request, progress)


def send_to(
    record: SessionRecord, request: SendRequest, progress: Callable[[str], None] | None = None
) -> SendResult:
    """Send to the session of ``record``; the request's target fields are not looked at."""
    _check_text(request)
    return _deliver(
        request, SidecarClient.for_record(record), record.id, record.session_id, progress
    )


def _check_text(request: SendRequest) -> None:
    if not request.text and not request.enter_only:
        raise UsageError("the message is empty")


def _deliver(
    request: SendRequest,
    client: SidecarClient,
    target_id: str,
    target_session: str | None,
    progress: Callable[[str], None] | None,
) -> SendResult:
    """Hand the message to the sidecar, then follow it as far as the request asks."""
    say = progress or (lambda line: None)
    started = time.monotonic()
    text = _relay_text(request, target_session)
    try:
        check_size(text)
    except MessageError as exc:
        raise UsageError(str(exc)) if exc.status == 400 else HarnexError(str(exc)) from exc
    deadline = time.monotonic() + request.timeout
    first_wait = poll_slice(request.timeout, request.cancel) if request.wait else 0
    answer = client.request(
        "POST",
        "/send",
        {
            "text": text,
            "submit": request.submit,
            "enter_only": request.enter_only,
            "force": request.force,
            "wait": first_wait,
        },
        timeout=first_wait + 10,
    )
    body = answer.body
    if body.get("message_id") and body.get("status") in ("failed", "expired", "unconfirmed"):
        # The sidecar decided about the message: a result to report, not a transport error.
        status = str(body["status"])
        return SendResult(target_id, status, str(body["message_id"]), str(body.get("error")))
    if answer.status not in (200, 202):
        raise SendFailed.from_answer(answer)
    message_id = body.get("message_id")
    status = str(body.get("status"))
    say(f"{message_id} {status}")
    try:
        return _follow(request, client, target_id, message_id, status, body, deadline, started, say)
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
) -> SendResult:
    """After the sidecar took the message: wait for its delivery, then what was asked for."""
    while request.wait and status == "queued":
        polled = _poll_message(client, str(message_id), deadline, "delivery", request.cancel)
        if polled is None:
            return SendResult(
                target_id,
                "timeout",
                message_id,
                f"not delivered within {request.timeout:g}s (still queued)",
            )
        body = polled
        status = str(body.get("status"))
        say(f"{message_id} {status}")
    if status not in ("delivered", "queued"):
        return SendResult(target_id, status, message_id, str(body.get("error") or status))
    if request.reply and status == "delivered":
        return _wait_reply(
            client, target_id, str(message_id), deadline, request.timeout, request.cancel
        )
    if request.wait_for_idle and status == "delivered":
        state, problem = _wait_for_idle(client, deadline, str(message_id))
        # 0.4.0 answered --wait-for-idle with {ok, id, state, waited_seconds}.
        idle = {"state": state, "waited_seconds": round(time.monotonic() - started, 1)}
        if problem is None:
            return SendResult(target_id, status, message_id, extra=idle)
        if state == "exited":
            return SendResult(target_id, status, message_id, problem, idle, EXIT_ERROR)
        return SendResult(target_id, "timeout", message_id, problem, idle)
    return SendResult(target_id, status, message_id)


def _wait_reply(
    client: SidecarClient,
    target_id: str,
    message_id: str,
    deadline: float,
    timeout: float,
    cancel: threading.Event | None,
) -> SendResult:
    """Wait for the turn this message started to finish; the result carries the reply."""
    while True:
        body = _poll_message(client, message_id, deadline, "reply", cancel)
        if body is None:
            return SendResult(
                target_id, "timeout", message_id, f"delivered, but no reply within {timeout:g}s"
            )
        extra = {k: body.get(k) for k in ("delivered_at", "completed_at", "reply")}
        if body.get("status") not in ("queued", "delivered"):
            # Failed after delivery: the agent reported a damaged copy of the text.
            return SendResult(
                target_id, str(body.get("status")), message_id, body.get("error"), extra
            )
        if body.get("completed_at"):
            return SendResult(target_id, "delivered", message_id, extra=extra)


def _poll_message(
    client: SidecarClient,
    message_id: str,
    deadline: float,
    until: str,
    cancel: threading.Event | None = None,
) -> dict[str, Any] | None:
    """One long-poll of the message's record until its delivery or its reply (a slice of the
    time left); None once the deadline has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    slice_s = poll_slice(remaining, cancel)
    answer = client.request(
        "GET", f"/messages/{message_id}?wait={slice_s:.3f}&until={until}", timeout=slice_s + 10
    )
    if answer.status != 200:
        raise SendFailed.from_answer(answer, message_id)
    return answer.body


def _wait_for_idle(
    client: SidecarClient, deadline: float, message_id: str
) -> tuple[str, str | None]:
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
        while not _turn_reported(client, message_id):
            left = max(0.0, start_by - time.monotonic())
            slice_s = min(left, BUSY_SLICE_S)
            first = client.request(
                "GET", f"/wait?until=busy&timeout={slice_s:.3f}", timeout=slice_s + 10
            )
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
            answer = client.request(
                "GET", f"/wait?until=prompt&timeout={slice_s:.3f}", timeout=slice_s + 10
            ).body
        except SidecarUnreachable:
            return "exited", AGENT_EXITED
        state = str(answer.get("state") or state)
        if answer.get("reached"):
            return "prompt", None
    return state, AGENT_EXITED


def _turn_reported(client: SidecarClient, message_id: str) -> bool:
    """Whether the agent reported the turn this message started as finished (CLIs with
    hooks); a message the sidecar no longer knows counts as not."""
    answer = client.request("GET", f"/messages/{message_id}")
    return answer.status == 200 and bool(answer.body.get("completed_at"))
