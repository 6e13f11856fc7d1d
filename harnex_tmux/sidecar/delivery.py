"""Typing messages into the agent's pane, one at a time, and checking that they landed.

The lessons behind the order of steps: text goes in first (multi-line as one bracketed paste),
the submit key is pressed on its own once the text has landed, and the agent must visibly
react; if it does not, the submit is pressed once more before the message counts as failed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from harnex_tmux.adapters.base import Adapter, Observation, State
from harnex_tmux.events import EventLog, preview
from harnex_tmux.foreground import TerminalUse
from harnex_tmux.sidecar.inbox import DELIVERED, EXPIRED, FAILED, UNCONFIRMED, Inbox, Message
from harnex_tmux.sidecar.output_clock import OutputClock
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.sidecar.turns import Turns, garbled_text, same_text
from harnex_tmux.state import SessionRecord, utc_now
from harnex_tmux.tmux import CursorLine, Tmux, typed_as_keys


class DeliveryHost(Protocol):
    """What the deliverer needs of the session it types into (the sidecar, or a test's
    stand-in): the pane and how to read it, the agent's reports, and where to say what
    happened."""

    adapter: Adapter
    tmux: Tmux
    record: SessionRecord
    output: OutputClock
    readiness: Readiness
    turns: Turns
    events: EventLog

    def capture_screen(self) -> str | None: ...
    def terminal_use(self) -> TerminalUse: ...
    def log(self, line: str) -> None: ...
    def release_hold(self) -> None: ...
    def turn_started(self) -> None: ...
    def note_injected(self) -> None: ...


# How long typed text may take to show in the input line before the adapter's tidy keys
# are given up (see Deliverer._tidy_input), and how often it is looked for meanwhile.
TIDY_WAIT_MAX_S = 10.0
TIDY_POLL_S = 0.05
# How long output must pause after typing before the text counts as landed.
LANDED_QUIET_S = 0.03
# Upper bound on that wait: a base plus a little per KiB, as terminals echo large pastes slowly.
LANDED_BASE_S = 0.075
LANDED_PER_KIB_S = 0.01
LANDED_MAX_S = 3.0
# How often the kernel is asked whether a program that echoed typed text is reading again.
LANDED_POLL_S = 0.002
# How long the typed text must sit unsubmitted in the input line before submit is pressed
# again, and how much longer a submit may take to show before it counts as unconfirmed.
SUBMIT_CONFIRM_S = 1.0
SUBMIT_PATIENCE_S = 2.0
SUBMIT_POLL_S = 0.05
# Typed text nobody echoed, into a program that is not reading: how long to wait for it.
READ_WAIT_MAX_S = 30.0
TERMINAL_POLL_S = 0.02
# How much of the end of the typed text must show in the input line to count as "still there".
TYPED_TAIL_CHARS = 24
NO_SIGN = "no sign that the agent took the submit key, and none that it was lost"
STILL_TYPED = "the text is still in the agent's input line after pressing submit twice"
# How long the agent's hook gets to report the prompt after the submit key.
HOOK_CONFIRM_S = 3.0
MISMATCH = "the agent reported a different prompt than the text typed"
# How often a dialog is looked at while waiting for it to go (a dialog may not print as it
# closes: the next screen can be drawn over it without much output).
DIALOG_POLL_S = 0.05


class Submit(Enum):
    TOOK = "took"
    LOST = "lost"
    UNSURE = "unsure"


@dataclass(frozen=True)
class Outcome:
    """How typing one message ended: delivered, failed or unconfirmed, and why."""

    status: str
    error: str | None = None


DONE = Outcome(DELIVERED)


@dataclass(frozen=True)
class ScreenLook:
    """What one capture of the screen says: the state, and the input line if one shows."""

    state: State
    line: str | None


class Deliverer:
    def __init__(self, sidecar: DeliveryHost, inbox: Inbox) -> None:
        self.sidecar = sidecar
        self.inbox = inbox
        self.typing = threading.Lock()
        # Delivered messages whose turn has not finished yet, oldest first, and a short
        # memory of delivered texts to recognise the agent's reports by.
        self._awaiting: list[Message] = []
        self._recent: deque[Message] = deque(maxlen=32)
        # Messages the screen confirmed whose prompt report has not come yet.
        self._unreported: list[Message] = []
        self._lock = threading.Lock()
        self._typed = 0
        self._typed_order: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deliver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    # --- the queue ----------------------------------------------------------------------------

    def _run(self) -> None:
        readiness = self.sidecar.readiness
        while not self._stop.is_set():
            message = self.inbox.head(timeout=1.0)
            if message is None:
                continue
            remaining = message.expires_at - time.time()
            if remaining <= 0:
                self._finish(message, EXPIRED, "not delivered before the inbox TTL")
                continue
            state = readiness.wait_for(lambda s: s == State.PROMPT, min(remaining, 1.0))
            if state == State.EXITED:
                for pending in self.inbox.pending():
                    self._finish(pending, FAILED, "session exited")
                return
            if state != State.PROMPT or message.status != "queued":
                continue
            self.deliver(message)

    # --- typing -------------------------------------------------------------------------------

    def deliver(self, message: Message) -> bool:
        """Type ``message`` now (the caller decided the agent is ready, or forced it)."""
        with self.typing:
            if message.status != "queued":
                return False
            # Typing starts a new turn: a finished turn's reported state no longer holds.
            self.sidecar.release_hold()
            # Expect the turn before pressing submit: a fast agent can report it finished
            # before the submit has been confirmed here.
            self._expect_turn(message)
            self._typed += 1
            self._typed_order[message.id] = self._typed
            if len(self._typed_order) > 512:
                del self._typed_order[next(iter(self._typed_order))]
            reports_before = self.sidecar.turns.prompt_count
            try:
                outcome = self._type(message)
            except Exception as exc:  # tmux failed under us: report, never crash the thread
                # Some of the text may have gone in before tmux failed.
                outcome = Outcome(UNCONFIRMED, f"typing failed: {exc}")
            if outcome.status != DELIVERED:
                self._forget_turn(message)
            if outcome.status == DELIVERED:
                self._finish(message, DELIVERED)
                if self.sidecar.adapter.busy_after_submit and self._starts_turn(message):
                    self.sidecar.turn_started()
                if self._reportable(message) and not message.proven:
                    self._note_report(message, reports_before)
                return True
            self._finish(message, outcome.status, outcome.error)
            return False

    def _type(self, message: Message) -> Outcome:
        tmux, pane = self.sidecar.tmux, self.sidecar.record.pane_id or ""
        clock = self.sidecar.output
        dialog = self._dialog_showing() if message.text and not message.enter_only else None
        if not message.enter_only and message.text:
            before_typing = clock.count
            if self.sidecar.adapter.types_by_paste:
                tmux.paste(pane, message.text)
            else:
                tmux.type_text(pane, message.text)
            kib = len(message.text.encode()) / 1024
            if not self._landed_in_reader(message.text, before_typing):
                clock.wait_quiet(
                    LANDED_QUIET_S, min(LANDED_MAX_S, LANDED_BASE_S + LANDED_PER_KIB_S * kib)
                )
            time.sleep(self.sidecar.adapter.settle_s)
            if self.sidecar.adapter.tidies_input:
                self._tidy_input(message.text)
            if clock.count == before_typing:
                self._wait_until_reading(clock.count)
        if not (message.submit or message.enter_only):
            return DONE
        if dialog is not None:
            return self._submit_into_dialog(message, dialog)
        if message.enter_only and (dialog := self._dialog_showing()) is not None:
            return self._answer_dialog(dialog)
        if self.sidecar.adapter.proves_submit and self.sidecar.turns.hooks_seen and message.text:
            return self._submit_proven(message)
        for attempt in range(2):
            seen = clock.count
            before = self._input_probe()
            reading = self._reading()
            self._press_submit()
            verdict = self._await_submit(seen, before, message.text, reading=reading)
            if verdict == Submit.TOOK:
                return DONE
            if verdict == Submit.UNSURE:
                return Outcome(UNCONFIRMED, NO_SIGN)
            if attempt == 0:
                self.sidecar.log(
                    f"{message.id}: the text is still in the input line, submitting again"
                )
        return Outcome(FAILED, STILL_TYPED)

    def _tidy_input(self, text: str) -> None:
        """Press the keys the adapter wants for what the input line shows after typing
        (OpenCode: delete the space after its collapsed-paste marker), once the typed text
        shows there. A CLI slow to take a paste (a loaded machine) still shows its empty
        input after the settle time; read then, the marker was never seen and its space
        reached the model with the text."""
        look = self._look()
        deadline = time.monotonic() + TIDY_WAIT_MAX_S
        while look is not None and not look.line and text.strip():
            if time.monotonic() >= deadline:
                return
            time.sleep(TIDY_POLL_S)
            look = self._look()
        keys = self.sidecar.adapter.keys_after_typing(look.line if look else None)
        if keys:
            self.sidecar.tmux.send_keys(self.sidecar.record.pane_id or "", *keys)

    def _landed_in_reader(self, text: str, count: int) -> bool:
        """One line typed as keys has landed once it was echoed and the kernel shows the
        program blocked reading its terminal again: it has taken all there was (raw mode),
        or the line waits whole in the terminal's line buffer (canonical mode); the submit
        key comes after it either way. Anything else (no echo yet, an event loop, a
        paste) waits for the output to go quiet instead."""
        host = self.sidecar
        if not host.adapter.reads_terminal or not typed_as_keys(text):
            return False
        deadline = time.monotonic() + LANDED_QUIET_S
        if not host.output.wait_after(count, LANDED_QUIET_S):
            return False
        while True:
            use = host.terminal_use()
            if use == TerminalUse.READING:
                return True
            if use != TerminalUse.WORKING or time.monotonic() >= deadline:
                return False
            time.sleep(LANDED_POLL_S)

    def _wait_until_reading(self, count: int) -> None:
        """Typed text that nothing echoed, into a program the kernel says is not reading:
        wait until it reads (or prints) before pressing submit."""
        host = self.sidecar
        if not host.adapter.reads_terminal:
            return
        deadline = time.monotonic() + READ_WAIT_MAX_S
        while host.terminal_use() == TerminalUse.WORKING and time.monotonic() < deadline:
            if host.output.wait_after(count, TERMINAL_POLL_S):
                return

    def _look(self) -> ScreenLook | None:
        """One capture of the screen, read by the adapter; None when it reads no screen."""
        adapter = self.sidecar.adapter
        screen = self.sidecar.capture_screen() if adapter.reads_screen else None
        if screen is None:
            return None
        state = adapter.detect(Observation(screen=screen, quiet_for=0.0))
        return ScreenLook(state, adapter.input_line(screen))

    def _dialog_showing(self) -> State | None:
        look = self._look()
        return look.state if look is not None and look.state.is_dialog else None

    def _submit_into_dialog(self, message: Message, dialog: State) -> Outcome:
        """A forced message typed while a dialog shows: the dialog reacts to the submit key,
        so only the agent's own report of the prompt can confirm the text arrived."""
        if self.sidecar.adapter.proves_submit:
            received = self._submit_for_report()
            if received is not None and same_text(message.text, received):
                message.proven = True
                return DONE
        else:
            self._press_submit()
        return Outcome(
            UNCONFIRMED,
            f"a dialog was showing ({dialog.value}); the text was not confirmed as a prompt",
        )

    def _answer_dialog(self, dialog: State) -> Outcome:
        """``--submit-only`` at a dialog: the key counts once the dialog has gone. A dialog
        drawn a moment ago may not take keys yet (seen with Codex's folder-trust dialog),
        so a key it ignored is pressed once more."""
        for attempt in range(2):
            self._press_submit()
            deadline = time.monotonic() + SUBMIT_CONFIRM_S
            while time.monotonic() < deadline:
                if self._dialog_showing() != dialog:
                    return DONE
                time.sleep(DIALOG_POLL_S)
            if attempt == 0:
                self.sidecar.log(f"the {dialog.value} dialog stayed; pressing submit again")
        return Outcome(
            FAILED, f"the {dialog.value} dialog did not react to the submit key (pressed twice)"
        )

    def _submit_proven(self, message: Message) -> Outcome:
        """Submit, then wait for the agent's own report of the prompt it accepted. Without
        one, the screen decides: submitted (delivered, proven if the report comes late),
        still in the input box (pressed once more), or unknown (unconfirmed)."""
        for attempt in range(2):
            seen = self.sidecar.output.count
            before = self._input_probe()
            received = self._submit_for_report()
            if received is not None:
                if same_text(message.text, received):
                    message.proven = True
                    return DONE
                message.received = received
                return Outcome(FAILED, MISMATCH)
            verdict = self._await_submit(seen, before, message.text, patience=0.0)
            if verdict == Submit.TOOK:
                return DONE
            if verdict == Submit.UNSURE:
                return Outcome(UNCONFIRMED, "the agent did not report accepting the prompt")
            if attempt == 0:
                self.sidecar.log(f"{message.id}: no prompt report, pressing submit again")
        return Outcome(FAILED, STILL_TYPED)

    def _press_submit(self) -> None:
        self.sidecar.tmux.send_keys(
            self.sidecar.record.pane_id or "", *self.sidecar.adapter.submit_keys
        )

    def _submit_for_report(self) -> str | None:
        """Press submit; the prompt the agent then reports accepting, if it does in time."""
        turns = self.sidecar.turns
        seen = turns.prompt_count
        self._press_submit()
        return turns.wait_prompt(seen, HOOK_CONFIRM_S)

    # --- turns --------------------------------------------------------------------------------

    def _reportable(self, message: Message) -> bool:
        """Whether the agent will report this message's prompt when it submits it."""
        return bool(
            self.sidecar.adapter.proves_submit
            and message.text
            and message.submit
            and not message.enter_only
        )

    @staticmethod
    def _starts_turn(message: Message) -> bool:
        """A typed, submitted message whose turn has not been reported finished yet."""
        typed = bool(message.text) and message.submit and not message.enter_only
        return typed and message.completed_at is None

    def _expect_turn(self, message: Message) -> None:
        if not message.text or message.enter_only or not message.submit:
            return
        with self._lock:
            self._recent.append(message)
            if self.sidecar.adapter.has_hooks:
                self._awaiting.append(message)
                del self._awaiting[:-16]

    def _forget_turn(self, message: Message) -> None:
        with self._lock:
            if message in self._recent:
                self._recent.remove(message)
            if message in self._awaiting:
                self._awaiting.remove(message)

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

    def prompt_reported(self, text: str) -> None:
        """The agent reported a prompt: if the screen already confirmed the message it is
        for (typed before any hook was seen, so nobody waited for the report), prove it, or
        fail it when the agent got a damaged copy."""
        with self._lock:
            waiting, self._unreported = self._unreported, []
        self._judge_report(waiting, [text])

    def _note_report(self, message: Message, reports_before: int) -> None:
        """After the screen confirmed ``message``: judge it by a report that already came,
        or leave it for :meth:`prompt_reported`."""
        with self._lock:
            reports = self.sidecar.turns.prompts_after(reports_before)
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
                self._finish(message, FAILED, MISMATCH)

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
            self._finish(message, FAILED, MISMATCH)
        elif received is not None:
            message.proven = True
        message.reply = reply
        message.completed_at = utc_now()
        self.inbox.changed()
        return message

    def _input_probe(self) -> str | CursorLine | None:
        """What the agent's input line shows: its input box for screen adapters, the line
        under the cursor for programs read through the kernel; None when neither is known."""
        host = self.sidecar
        if host.adapter.reads_terminal:
            return host.tmux.cursor_line(host.record.pane_id or "")
        look = self._look()
        return look.line if look is not None else None

    def _reading(self) -> bool:
        """Whether the kernel shows the agent blocked reading its terminal right now."""
        host = self.sidecar
        return host.adapter.reads_terminal and host.terminal_use() == TerminalUse.READING

    def _await_submit(
        self,
        seen: int,
        before: str | CursorLine | None,
        typed: str,
        patience: float | None = None,
        reading: bool = False,
    ) -> Submit:
        """Did the submit take? TOOK when the agent went busy or its input line changed;
        LOST when, after a while, the typed text still sits in the input line of an agent
        reading input (only then is pressing again safe); UNSURE otherwise.

        ``reading``: the agent was blocked reading its terminal when the key went in, so
        finding it working means it got a whole input. (An event-loop program works a
        moment on any key, taken or ignored: for it only the screen can tell.)
        Adapters that show nothing to compare fall back to "any output means it took".
        """
        host = self.sidecar
        clock = host.output
        started = time.monotonic()
        lost_at = started + SUBMIT_CONFIRM_S
        give_up = lost_at + (SUBMIT_PATIENCE_S if patience is None else patience)
        while True:
            now = time.monotonic()
            if now >= give_up:
                break
            if reading and host.terminal_use() == TerminalUse.WORKING:
                return Submit.TOOK
            if clock.wait_after(seen, min(SUBMIT_POLL_S, max(0.0, give_up - now))):
                seen = clock.count
                if self._took(before):
                    return Submit.TOOK
            if time.monotonic() >= lost_at and self._still_typed(before, typed):
                return Submit.LOST
        return Submit.UNSURE

    def _took(self, before: str | CursorLine | None) -> bool:
        host = self.sidecar
        if not before and not host.adapter.reads_terminal:
            return True  # nothing to compare: output after the key is all there is
        if host.adapter.reads_terminal:
            return self._input_probe() != before
        look = self._look()
        return look is not None and (look.state == State.BUSY or look.line != before)

    def _still_typed(self, before: str | CursorLine | None, typed: str) -> bool:
        """The input line unchanged since the key, still showing what was typed (for a
        program read through the kernel: and that program reading its input)."""
        if not before:
            return False
        host = self.sidecar
        if not host.adapter.reads_terminal:
            # An input box: the same text, and the agent not working on it.
            look = self._look()
            return look is not None and look.line == before and look.state != State.BUSY
        if self._input_probe() != before:
            return False
        shown = before.text if isinstance(before, CursorLine) else before
        tail = typed.strip().splitlines()[-1].strip()[-TYPED_TAIL_CHARS:] if typed.strip() else ""
        return bool(tail) and tail in shown and host.terminal_use() != TerminalUse.WORKING

    def _finish(self, message: Message, status: str, error: str | None = None) -> None:
        self.inbox.finish(message, status, error)
        events = self.sidecar.events
        if status == DELIVERED:
            shown, cut = preview(message.text)
            events.emit("send", msg=shown, msg_truncated=cut, forced=message.force)
            events.emit("delivered", message_id=message.id)
            self.sidecar.note_injected()
        else:
            events.emit("failed", message_id=message.id, reason=error or status)
