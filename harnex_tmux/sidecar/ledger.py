"""The session's book of turns: what harnex typed, what the agent reported, how each message
ended, and the state the agent's last report holds.

The deliverer writes into it as it types, the hook reports as they come; each reads what the
other wrote here, so neither calls the other.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from harnex_tmux.adapters.base import State
from harnex_tmux.events import EventLog, preview
from harnex_tmux.sidecar.inbox import (
    DELIVERED,
    FAILED,
    Inbox,
    Message,
)
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.sidecar.turns import Turns, garbled_text, same_text
from harnex_tmux.state import utc_now

# How long a state the agent reported holds against a screen that still shows another.
HOOK_HOLD_S = 1.5
MISMATCH = "the agent reported a different prompt than the text typed"


def _nothing() -> None:
    pass


class Hold:
    """A state the agent reported itself: it holds against a screen that still shows the
    previous one (a redraw behind), until the screen agrees, a dialog shows, harnex types
    again, or :data:`HOOK_HOLD_S` passes."""

    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness
        self._held: tuple[State, float] | None = None

    def report(self, state: State) -> None:
        self._held = (state, time.monotonic() + HOOK_HOLD_S)
        self.readiness.set(state)

    def release(self) -> None:
        self._held = None

    def apply(self, seen: State) -> State:
        """The state to show when the screen says ``seen``: the held one while it holds."""
        if self._held is None:
            return seen
        held, until = self._held
        if seen == held or seen.is_dialog or time.monotonic() > until:
            self._held = None
            return seen
        return held

    def left(self) -> float | None:
        """Seconds until the held state ends on its own (None when nothing is held): it ends
        on time even when the agent prints nothing more."""
        held = self._held
        return None if held is None else max(0.0, held[1] - time.monotonic())


class Ledger:
    """Messages typed and waiting for their turn to end, the agent's reports (``turns``),
    and the :class:`Hold`. ``wake`` asks the main loop to look at the screen again;
    ``on_delivered`` runs after each delivered message is recorded."""

    def __init__(
        self,
        inbox: Inbox,
        events: EventLog,
        readiness: Readiness,
        *,
        wake: Callable[[], None] = _nothing,
        on_delivered: Callable[[], None] = _nothing,
    ) -> None:
        self.inbox = inbox
        self.events = events
        self.turns = Turns()
        self.hold = Hold(readiness)
        self._wake = wake
        self._on_delivered = on_delivered
        # Delivered messages whose turn has not finished yet, oldest first, and a short
        # memory of delivered texts to recognise the agent's reports by.
        self._awaiting: list[Message] = []
        self._recent: deque[Message] = deque(maxlen=32)
        # Messages the screen confirmed whose prompt report has not come yet.
        self._unreported: list[Message] = []
        self._lock = threading.Lock()
        self._typed = 0
        self._typed_order: dict[str, int] = {}

    # --- what harnex typed ----------------------------------------------------------------

    def typing_begins(self, message: Message, awaits_report: bool) -> None:
        """``message`` is about to be typed: a finished turn's reported state no longer
        holds, and its turn is expected before the submit key (a fast agent can report it
        finished before the submit has been confirmed). ``awaits_report``: the agent
        reports its turns' ends."""
        self.hold.release()
        self.expect_turn(message, awaits_report)
        self._typed += 1
        self._typed_order[message.id] = self._typed
        if len(self._typed_order) > 512:
            del self._typed_order[next(iter(self._typed_order))]

    def expect_turn(self, message: Message, awaits_report: bool) -> None:
        if not message.text or message.enter_only or not message.submit:
            return
        with self._lock:
            self._recent.append(message)
            if awaits_report:
                self._awaiting.append(message)
                del self._awaiting[:-16]

    def forget_turn(self, message: Message) -> None:
        """``message`` was not delivered: no turn of its will come."""
        with self._lock:
            if message in self._recent:
                self._recent.remove(message)
            if message in self._awaiting:
                self._awaiting.remove(message)

    def turn_started(self) -> None:
        """A delivered message started a turn the screen may not show yet (see
        ``Adapter.busy_after_submit``): busy, held until the screen agrees."""
        self.hold.report(State.BUSY)
        self._wake()

    def typed_since(self, message: Message | None) -> bool:
        """Whether another message was typed after ``message`` (its turn report is late)."""
        if message is None:
            return False
        return self._typed_order.get(message.id, self._typed) < self._typed

    def match_delivered(self, text: str) -> Message | None:
        with self._lock:
            for message in reversed(self._recent):
                if same_text(message.text, text):
                    return message
        return None

    def finish(
        self, message: Message, status: str, error: str | None = None, keep: bool = False
    ) -> None:
        """Record how ``message`` ended: in the inbox, and as events. ``keep``: only in
        memory, so the journal still has it queued (for ``harnex resume``)."""
        self.inbox.finish(message, status, error, keep=keep)
        if status == DELIVERED:
            shown, cut = preview(message.text)
            self.events.emit("send", msg=shown, msg_truncated=cut, forced=message.force)
            self.events.emit("delivered", message_id=message.id)
            self._on_delivered()
        else:
            self.events.emit("failed", message_id=message.id, reason=error or status)

    # --- what the agent reported ----------------------------------------------------------

    def prompt_reported(self, text: str) -> None:
        """The agent reported a prompt: if the screen already confirmed the message it is
        for (typed before any hook was seen, so nobody waited for the report), prove it, or
        fail it when the agent got a damaged copy."""
        self.turns.prompt_submitted(text)
        with self._lock:
            waiting, self._unreported = self._unreported, []
        self._judge_report(waiting, [text])

    def note_report(self, message: Message, reports_before: int) -> None:
        """After the screen confirmed ``message``: judge it by a report that already came,
        or leave it for :meth:`prompt_reported`."""
        with self._lock:
            reports = self.turns.prompts_after(reports_before)
            if not reports:
                self._unreported = [*self._unreported[-7:], message]
                return
        self._judge_report([message], reports)

    def _judge_report(self, messages: list[Message], reports: list[str]) -> None:
        for message in messages:
            if any(same_text(message.text, r) for r in reports):
                message.proven = True
                self.inbox.changed()
                continue
            damaged = [r for r in reports if garbled_text(message.text, r)]
            if damaged:
                message.received = damaged[0]
                self.finish(message, FAILED, MISMATCH)

    def turn_finished(self, reply: str | None, received: str | None) -> Message | None:
        """Attach a finished turn's reply to the message that started it, if one did.

        ``received`` is the turn's input when the agent reports it only now (Codex): equal to
        a typed message it proves that one; a damaged form of one fails it after the fact,
        with both texts, as a mismatch reported at submit time would have."""
        garbled = False
        with self._lock:
            if received is not None:
                found = [m for m in self._awaiting if same_text(m.text, received)]
                if not found:
                    found = [m for m in self._awaiting if garbled_text(m.text, received)]
                    garbled = bool(found)
                message = found[0] if found else None
            else:
                message = self._awaiting[0] if self._awaiting else None
            if message is not None:
                self._awaiting.remove(message)
        if message is None:
            return None
        if garbled:
            message.received = received
            self.finish(message, FAILED, MISMATCH)
        elif received is not None:
            message.proven = True
        message.reply = reply
        message.completed_at = utc_now()
        self.inbox.changed()
        return message

    def complete_turn(
        self, reply: str | None, received: str | None = None, hold: bool = True
    ) -> None:
        """A turn ended; with ``hold``, the agent is ready now whatever the screen shows
        (else the screen, looked at again at once, says when it takes input)."""
        message = self.turn_finished(reply, received)
        turn = self.turns.turn_completed(reply, message.id if message else None, utc_now())
        shown, cut = preview(reply or "")
        self.events.emit(
            "turn_complete",
            message_id=turn.message_id,
            reply=shown,
            reply_truncated=cut,
        )
        # A report that arrives after harnex typed the next message is about an older turn:
        # the agent is busy with the new one, and its state stays.
        if not self.typed_since(message):
            if hold:
                self.hold.report(State.PROMPT)
            else:
                self.hold.release()  # a busy held since the submit is over: the screen says
        self._wake()
