"""The babysitter: notice a stalled session and nudge it with ``resume``, up to a cap.

Unattended runs stall: the agent sits at its prompt, or hangs, and nobody notices. A session
has stalled when its transcript has been quiet for the stall window while it is not showing a
dialog (a dialog waits for a person, nudging it would answer it). On a stall the sidecar types
the forced message ``resume``; once ``max_resumes`` nudges are used up, the next stall is an
escalation: it is recorded and watching stops. Every step is an event (``stall``, ``resume``,
``watch_stop``) so tools following the events log see what happened.

The thread sleeps until the earliest moment a stall is possible (output pushes that moment
back, and it simply sleeps again), so it costs nothing while the agent works and reacts within
a fraction of a second of the window running out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import State
from harnex_tmux.errors import InboxFull
from harnex_tmux.sidecar.filehook import FileHook
from harnex_tmux.sidecar.inbox import Inbox, Message

RESUME_TEXT = "resume"
HOOK_TEMPLATE = "file-change-hook: read {path}"
# While a dialog is showing, look again this often (the dialog may be answered silently).
DIALOG_RECHECK_S = 1.0
# Wake a hair after the window runs out, so float rounding never causes a second, empty wake.
WAKE_SLACK_S = 0.02

Emit = Callable[..., Any]


@dataclass(frozen=True)
class WatchParts:
    """What watching a session uses: its state and how long its output has been quiet, the
    inbox to queue into and ``deliver_now`` for a forced nudge, the events log (``emit``),
    the sidecar's log, and ``remember`` to keep a fact in the session's record."""

    state: Callable[[], State]
    quiet_for: Callable[[], float]
    inbox: Inbox
    deliver_now: Callable[[Message], bool]
    emit: Emit
    log: Callable[[str], None]
    remember: Callable[[str, Any], None]


@dataclass(frozen=True)
class WatchConfig:
    """The stall limits a session was started with (the registry record's ``watch``)."""

    stall_after_s: float
    max_resumes: int
    preset: str | None = None

    @classmethod
    def from_record(cls, watch: dict[str, Any] | None) -> WatchConfig | None:
        if not watch or watch.get("stall_after_s") is None:
            return None
        return cls(
            stall_after_s=float(watch["stall_after_s"]),
            max_resumes=int(watch.get("max_resumes") or 0),
            preset=watch.get("preset"),
        )


class Babysitter:
    """Watches one session for stalls from its own thread.

    It only needs to read the readiness state and how long output has been quiet, to emit
    events and to send the nudge, so tests drive it with stand-ins for all four.
    """

    def __init__(
        self,
        config: WatchConfig,
        *,
        state: Callable[[], State],
        quiet_for: Callable[[], float],
        nudge: Callable[[], bool],
        emit: Emit,
        log: Callable[[str], None] | None = None,
        resumes: int = 0,
        remember: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.config = config
        # Nudges already used (by an earlier sidecar of this session, before a recover).
        self.resumes = resumes
        self._remember = remember
        self.stop_reason: str | None = None
        self._state = state
        self._quiet_for = quiet_for
        self._nudge = nudge
        self._emit = emit
        self._log = log
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="babysitter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def active(self) -> bool:
        return not self._stopped.is_set()

    def stop(self, reason: str, **details: Any) -> bool:
        """Stop watching and record why; False when it had already stopped."""
        with self._lock:
            if self._stopped.is_set():
                return False
            self.stop_reason = reason
            # Recorded before it is announced: a reader that saw the event finds the record.
            if self._remember is not None and reason == "escalated":
                self._remember("watch_escalated", True)
            self._emit("watch_stop", reason=reason, resumes=self.resumes, **details)
            self._stopped.set()
        return True

    def _run(self) -> None:
        # Quiet time counts from the latest of: the last output, the watch start, the last
        # nudge, the last time a dialog was on screen.
        calm_since = time.monotonic()
        while not self._stopped.is_set():
            state = self._state()
            now = time.monotonic()
            if state == State.EXITED:
                self.stop("exited")
                return
            if state.is_dialog:
                calm_since = now
                self._stopped.wait(DIALOG_RECHECK_S)
                continue
            idle = min(self._quiet_for(), now - calm_since)
            remaining = self.config.stall_after_s - idle
            if remaining > 0:
                self._stopped.wait(remaining + WAKE_SLACK_S)
                continue
            self._stalled(idle)
            calm_since = time.monotonic()

    def _stalled(self, idle: float) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            self._emit("stall", idle_s=round(idle, 1))
            if self.resumes >= self.config.max_resumes:
                escalate = True
            else:
                escalate = False
                self.resumes += 1
                if self._remember is not None:
                    self._remember("watch_resumes", self.resumes)
                self._emit("resume", n=self.resumes)
        if escalate:
            self.stop("escalated", idle_s=round(idle, 1), max_resumes=self.config.max_resumes)
            if self._log is not None:
                self._log(f"watch: stalled after {self.resumes} resume(s); escalated, stopping")
            return
        if not self._nudge() and self._log is not None:
            self._log(f"watch: resume nudge {self.resumes} was not delivered")


class SessionWatch:
    """What a session watches: stalls (``--watch``) and a file (``--watch-file``)."""

    def __init__(self, babysitter: Babysitter | None, file_hook: FileHook | None) -> None:
        self.babysitter = babysitter
        self.file_hook = file_hook

    def start(self) -> None:
        if self.babysitter is not None:
            self.babysitter.start()
        if self.file_hook is not None:
            self.file_hook.start()

    def stop(self, reason: str) -> None:
        """The session is ending: record ``watch_stop`` (once) and stop the file hook."""
        if self.babysitter is not None:
            self.babysitter.stop(reason)
        if self.file_hook is not None:
            self.file_hook.stop()


def send_resume(parts: WatchParts) -> bool:
    """Type the forced ``resume`` now, tracked like any message (``GET /messages/<id>``)."""
    message = parts.inbox.record(Message(text=RESUME_TEXT, force=True))
    return parts.deliver_now(message)


def queue_file_hook(parts: WatchParts, path: Path, shown: str | None = None) -> None:
    """Queue the hook message like a normal send: it waits while the agent is busy.

    A hook for the same file that is still waiting is not queued twice: the agent reads the
    file once and sees every change.
    """
    text = HOOK_TEMPLATE.format(path=shown or path)
    waiting = next((m for m in parts.inbox.pending() if m.text == text), None)
    if waiting is None:
        try:
            waiting = parts.inbox.add(Message(text=text))
        except InboxFull as exc:
            parts.log(f"file hook: {exc}; change to {path} not sent")
            parts.emit("file_change", path=str(path), message_id=None)
            return
    parts.emit("file_change", path=str(path), message_id=waiting.id)


def start_watch(
    watch: Mapping[str, Any] | None, facts: Mapping[str, Any], parts: WatchParts
) -> SessionWatch | None:
    """Start what the session's ``watch`` record asks for; None when it asks for nothing.
    ``facts`` are the record's kept facts (how far an earlier sidecar of it got)."""
    watch = dict(watch or {})
    config = WatchConfig.from_record(watch)
    babysitter = None
    # A recovered sidecar carries on where the last one stopped: same nudge count, and no
    # watching again after an escalation.
    if config is not None and not facts.get("watch_escalated"):
        babysitter = Babysitter(
            config,
            state=parts.state,
            quiet_for=parts.quiet_for,
            nudge=lambda: send_resume(parts),
            emit=parts.emit,
            log=parts.log,
            resumes=int(facts.get("watch_resumes") or 0),
            remember=parts.remember,
        )
    file_hook = None
    if watch.get("file"):
        shown = str(watch.get("file_shown") or watch["file"])
        file_hook = FileHook(
            Path(str(watch["file"])),
            lambda path: queue_file_hook(parts, path, shown),
            log=parts.log,
        )
    if babysitter is None and file_hook is None:
        return None
    session_watch = SessionWatch(babysitter, file_hook)
    session_watch.start()
    return session_watch
