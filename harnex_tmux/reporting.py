"""``harnex report``: type a message back into the pane that started this session.

A worker or buddy often has to tell its spawner something, and the spawner need not be a
harnex session (a person's shell, an agent started by hand), so there may be no inbox to send
to. What every session started from tmux does have is ``$HARNEX_SPAWNER_PANE``. This types into
that pane with the same precautions as ``harnex send``: terminal controls removed, the size
limit, one relay header naming the sender, the text typed (multi-line as one bracketed paste)
and the submit key pressed on its own once the text has landed.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harnex_tmux.errors import HarnexError, MessageError, UsageError
from harnex_tmux.messages import check_size, sanitize, with_relay
from harnex_tmux.state import utc_now
from harnex_tmux.tmux import Tmux, choose_server

SPAWNER_ENV = "HARNEX_SPAWNER_PANE"
_PANE_ID = re.compile(r"%\d+")
# Agents read a paste in chunks and may take a moment to render it; an Enter that arrives
# before the paste is taken in can be swallowed as part of it. A short base pause plus a
# little per KiB, with a cap, mirrors what the sidecar waits before submitting.
SETTLE_BASE_S = 0.2
SETTLE_PER_KIB_S = 0.01
SETTLE_MAX_S = 3.0


@dataclass(frozen=True)
class ReportResult:
    pane: str
    text: str
    relay: bool
    socket_path: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "pane": self.pane,
            "relay": self.relay,
            "bytes": len(self.text.encode()),
            "tmux_socket": self.socket_path,
        }


def spawner_pane(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``explicit`` (``--pane``), else ``$HARNEX_SPAWNER_PANE``; a pane id like ``%3``."""
    env = os.environ if env is None else env
    pane = (explicit or env.get(SPAWNER_ENV) or "").strip()
    if not pane:
        raise HarnexError(
            f"no spawner pane: ${SPAWNER_ENV} is not set (this session was not started from "
            "tmux); name one with --pane %N"
        )
    if not _PANE_ID.fullmatch(pane):
        raise UsageError(f"{pane!r} is not a tmux pane id (like %3)")
    return pane


def report_text(text: str, relay: bool | None, env: Mapping[str, str]) -> tuple[str, bool]:
    """The text as it will be typed: sanitised, trimmed, and with the relay header when the
    sender is a harnex session (or ``relay`` forces it)."""
    body = sanitize(text).strip("\n")
    if not body.strip():
        raise UsageError("the message is empty")
    wanted = bool(env.get("HARNEX_SESSION_ID")) if relay is None else relay
    if wanted:
        body = with_relay(
            body,
            env.get("HARNEX_SESSION_CLI", "unknown"),
            env.get("HARNEX_ID", "unknown"),
            utc_now(),
        )
    try:
        check_size(body)
    except MessageError as exc:
        raise (UsageError(str(exc)) if exc.status == 400 else HarnexError(str(exc))) from exc
    return body, wanted


def report(
    text: str,
    *,
    pane: str | None = None,
    socket: str | None = None,
    relay: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> ReportResult:
    """Type ``text`` into the spawner's pane and press Enter.

    Fails (exit 1) when there is no spawner pane, or the pane is gone or its program ended,
    rather than typing into nothing.
    """
    env = os.environ if env is None else env
    target = spawner_pane(pane, env)
    body, relayed = report_text(text, relay, env)
    choice = choose_server(socket, env)
    tmux = Tmux(choice.socket_path)
    status = tmux.pane_status(target)
    if status is None:
        raise HarnexError(f"pane {target} does not exist on tmux server {choice.socket_path}")
    if status.dead:
        raise HarnexError(f"pane {target} is dead: the program in it has exited")
    tmux.type_text(target, body)
    kib = len(body.encode()) / 1024
    time.sleep(min(SETTLE_MAX_S, SETTLE_BASE_S + SETTLE_PER_KIB_S * kib))
    tmux.send_keys(target, "Enter")
    return ReportResult(pane=target, text=body, relay=relayed, socket_path=choice.socket_path)
