"""Sending a message to a session, as ``harnex send`` does: resolve, relay, queue, wait."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harnex_tmux.client import SidecarClient
from harnex_tmux.errors import EXIT_ERROR, EXIT_OK, EXIT_TIMEOUT, HarnexError, UsageError
from harnex_tmux.lookup import find_session
from harnex_tmux.messages import MessageError, check_size, with_relay
from harnex_tmux.state import utc_now

IDLE_START_S = 30.0


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


@dataclass
class SendResult:
    id: str
    status: str
    message_id: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.status in ("delivered", "queued"):
            return EXIT_OK
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
    wanted = request.relay
    if wanted is None:
        wanted = bool(sender_session) and sender_session != target_session_id
    if not wanted or not request.text:
        return request.text
    return with_relay(
        request.text,
        os.environ.get("HARNEX_SESSION_CLI", "unknown"),
        os.environ.get("HARNEX_ID", "unknown"),
        utc_now(),
    )


def send_message(request: SendRequest, progress: Callable[[str], None] | None = None) -> SendResult:
    say = progress or (lambda line: None)
    if request.port is not None and request.token is not None:
        client = SidecarClient(request.host or "127.0.0.1", request.port, request.token)
        target_id, target_session = request.ident or f"port {request.port}", None
    else:
        record = find_session(request.ident, request.repo, request.cli)
        client = SidecarClient.for_record(record)
        target_id, target_session = record.id, record.session_id
    text = _relay_text(request, target_session)
    try:
        check_size(text)
    except MessageError as exc:
        raise UsageError(str(exc)) if exc.status == 400 else HarnexError(str(exc)) from exc
    deadline = time.monotonic() + request.timeout
    first_wait = min(request.timeout, 30.0) if request.wait else 0
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
    if body.get("message_id") and body.get("status") == "failed":
        # Typed (forced) and not confirmed: a result to report, not a transport error.
        return SendResult(target_id, "failed", str(body["message_id"]), str(body.get("error")))
    if answer.status not in (200, 202):
        raise HarnexError(str(body.get("error") or f"sidecar answered HTTP {answer.status}"))
    message_id = body.get("message_id")
    status = str(body.get("status"))
    say(f"{message_id} {status}")
    while request.wait and status == "queued":
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return SendResult(
                target_id,
                "timeout",
                message_id,
                f"not delivered within {request.timeout:g}s (still queued)",
            )
        slice_s = min(remaining, 30.0)
        poll = client.request(
            "GET", f"/messages/{message_id}?wait={slice_s:.3f}", timeout=slice_s + 10
        )
        if poll.status != 200:
            raise HarnexError(str(poll.body.get("error") or f"HTTP {poll.status}"))
        status = str(poll.body.get("status"))
        body = poll.body
        say(f"{message_id} {status}")
    if status not in ("delivered", "queued"):
        return SendResult(target_id, status, message_id, str(body.get("error") or status))
    if request.reply and status == "delivered":
        return _wait_reply(client, target_id, str(message_id), deadline, request.timeout)
    if request.wait_for_idle and status == "delivered":
        idle = _wait_for_idle(client, deadline)
        if idle is not None:
            return SendResult(target_id, "timeout", message_id, idle)
    return SendResult(target_id, status, message_id)


def _wait_reply(
    client: SidecarClient, target_id: str, message_id: str, deadline: float, timeout: float
) -> SendResult:
    """Wait for the turn this message started to finish; the result carries the reply."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return SendResult(
                target_id, "timeout", message_id, f"delivered, but no reply within {timeout:g}s"
            )
        slice_s = min(remaining, 30.0)
        answer = client.request(
            "GET", f"/messages/{message_id}?wait={slice_s:.3f}&until=reply", timeout=slice_s + 10
        )
        body = answer.body
        if answer.status != 200:
            raise HarnexError(str(body.get("error") or f"HTTP {answer.status}"))
        if body.get("completed_at"):
            extra = {k: body.get(k) for k in ("delivered_at", "completed_at", "reply")}
            return SendResult(target_id, "delivered", message_id, extra=extra)


def _wait_for_idle(client: SidecarClient, deadline: float) -> str | None:
    """See the agent leave its prompt (up to 30 s), then wait until it is back at it."""
    start_by = min(deadline, time.monotonic() + IDLE_START_S)
    left = max(0.0, start_by - time.monotonic())
    client.request("GET", f"/wait?until=busy&timeout={left:.3f}", timeout=left + 10)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "delivered, but the agent did not return to its prompt in time"
        slice_s = min(remaining, 30.0)
        answer = client.request(
            "GET", f"/wait?until=prompt&timeout={slice_s:.3f}", timeout=slice_s + 10
        ).body
        if answer.get("reached") or answer.get("state") == "exited":
            return None
