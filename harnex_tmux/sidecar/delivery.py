"""Typing messages into the agent's pane, one at a time, and checking that they landed.

The lessons behind the order of steps: text goes in first (multi-line as one bracketed paste),
the submit key is pressed on its own once the text has landed, and the agent must visibly
react; if it does not, the submit is pressed once more before the message counts as failed.
What was typed and how each message ended go into the session's ledger (:mod:`.ledger`),
where the agent's own reports of its prompts and turns arrive too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from harnex_tmux.adapters.base import Adapter, Observation, State
from harnex_tmux.errors import StateDirFull
from harnex_tmux.foreground import TerminalUse
from harnex_tmux.sidecar.dialog_keys import answer_dialog
from harnex_tmux.sidecar.inbox import (
    DELIVERED,
    EXPIRED,
    FAILED,
    UNCONFIRMED,
    Message,
)
from harnex_tmux.sidecar.ledger import MISMATCH, Ledger
from harnex_tmux.sidecar.output_clock import OutputClock
from harnex_tmux.sidecar.pane import Pane
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.sidecar.turns import same_text
from harnex_tmux.tmux import CursorLine, typed_as_keys

# How long typed text may take to show in the input line before the adapter's tidy keys
# are given up (see Deliverer._tidy_input), and how often it is looked for meanwhile.
TIDY_WAIT_MAX_S = 10.0
TIDY_POLL_S = 0.05
# How long an agent that shows it is still taking a paste is waited for before submitting.
PASTE_TAKE_MAX_S = 60.0
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
# How often a dialog is looked at while waiting for it to go (a dialog may not print as it
# closes: the next screen can be drawn over it without much output).
DIALOG_POLL_S = 0.05
KEPT_FOR_RESUME = "the session ended before it was typed; `harnex resume` delivers it"
# How often a held inbox looks whether its hold ended.
HELD_POLL_S = 0.2
PANE_WENT_AFTER_TYPING = (
    "the agent's pane went away after the text was typed, before it was confirmed"
)
# How often a queued message is tried again while its claim cannot be written (disk full).
NO_ROOM_RETRY_S = 1.0


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
    """Types the inbox's messages into ``pane`` one at a time, as ``adapter`` says the agent
    takes them, timing by the pane's output (``clock``) and recording what it typed and how
    each message ended in ``ledger``, where the agent's reports arrive."""

    def __init__(
        self,
        *,
        adapter: Adapter,
        pane: Pane,
        clock: OutputClock,
        ledger: Ledger,
        readiness: Readiness,
        log: Callable[[str], None],
        keep_on_exit: Callable[[], bool] = lambda: False,
        pane_gone: Callable[[], bool] = lambda: False,
        held: Callable[[], bool] = lambda: False,
    ) -> None:
        self.adapter = adapter
        # The inbox is held (a spent budget): what is queued stays queued, neither typed nor
        # expired, until the hold ends.
        self.held = held
        self.keep_on_exit = keep_on_exit
        self.pane_gone = pane_gone
        self.pane = pane
        self.clock = clock
        self.ledger = ledger
        self.inbox = ledger.inbox
        self.readiness = readiness
        self.log = log
        self._stop = threading.Event()
        self._no_room: str | None = None
        # Whether the message being typed has gone into the pane (set under pane.typing).
        self._text_in = False
        self._thread = threading.Thread(target=self._run, name="deliver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    # --- the queue ----------------------------------------------------------------------------

    def _run(self) -> None:
        readiness = self.readiness
        while not self._stop.is_set():
            message = self.inbox.head(timeout=1.0)
            if message is None:
                continue
            if self.held():
                self._stop.wait(HELD_POLL_S)
                continue
            remaining = message.expires_at - time.time()
            if remaining <= 0:
                self.ledger.finish(message, EXPIRED, "not delivered before the inbox TTL")
                continue
            state = readiness.wait_for(lambda s: s == State.PROMPT, min(remaining, 1.0))
            if state == State.EXITED:
                # Ended without a stop (tmux killed, a crash): the journal keeps them queued
                # for `harnex resume`; after a stop they end here.
                keep = self.keep_on_exit()
                for pending in self.inbox.pending():
                    self.ledger.finish(
                        pending, FAILED, KEPT_FOR_RESUME if keep else "session exited", keep=keep
                    )
                return
            if state != State.PROMPT or message.status != "queued":
                continue
            if self.held():
                # The budget ran out while this waited for the prompt (the interrupt that
                # stopped the turn is what brought the prompt back).
                continue
            if not self.deliver(message) and message.status == "queued":
                # Not claimed: no room to record it. It waits, queued, until there is.
                self._stop.wait(NO_ROOM_RETRY_S)

    # --- typing -------------------------------------------------------------------------------

    def deliver(self, message: Message) -> bool:
        """Type ``message`` now (the caller decided the agent is ready, or forced it)."""
        ledger = self.ledger
        with self.pane.typing:
            if not self._claim(message):
                return False
            ledger.typing_begins(message, awaits_report=self.adapter.has_hooks)
            reports_before = ledger.turns.prompt_count
            self._text_in = False
            try:
                outcome = self._type(message)
            except Exception as exc:  # tmux failed under us: report, never crash the thread
                if self.pane_gone():
                    # The pane (or the whole tmux server) went away: whatever went in was
                    # never submitted to an agent that still runs. It stays queued (for
                    # `harnex resume`), as if never claimed.
                    ledger.forget_turn(message)
                    if message in self.inbox.pending():
                        self.inbox.release(message)
                    elif self._text_in:
                        # Forced, and its text went in before the pane went (the agent may
                        # have quit on it): it may have arrived, so it is never `failed`.
                        ledger.finish(message, UNCONFIRMED, f"{PANE_WENT_AFTER_TYPING} ({exc})")
                    else:  # forced: it had no place in the queue to go back to
                        ledger.finish(message, FAILED, f"the agent's pane is gone ({exc})")
                    self.log(f"{message.id}: not typed, the pane is gone ({exc})")
                    return False
                # Some of the text may have gone in before tmux failed.
                outcome = Outcome(UNCONFIRMED, f"typing failed: {exc}")
            if outcome.status != DELIVERED:
                ledger.forget_turn(message)
            if outcome.status == DELIVERED:
                ledger.finish(message, DELIVERED)
                if self.adapter.busy_after_submit and self._starts_turn(message):
                    ledger.turn_started()
                if self._reportable(message) and not message.proven:
                    ledger.note_report(message, reports_before)
                return True
            ledger.finish(message, outcome.status, outcome.error)
            return False

    def _claim(self, message: Message) -> bool:
        """Claim ``message`` for typing, on disk first. Without room for that record it is
        not typed: a queued message stays queued (tried again later), a forced one fails
        with the reason."""
        try:
            return self.inbox.claim(message)
        except StateDirFull as exc:
            if message in self.inbox.pending():
                if self._no_room != str(exc):
                    self.log(f"{message.id}: not typed, its claim cannot be recorded: {exc}")
                self._no_room = str(exc)
            else:
                self.ledger.finish(message, FAILED, str(exc))
            return False

    def _type(self, message: Message) -> Outcome:
        pane, clock, adapter = self.pane, self.clock, self.adapter
        dialog = self._dialog_showing() if message.text and not message.enter_only else None
        if not message.enter_only and message.text:
            before_typing = clock.count
            if adapter.types_by_paste:
                pane.paste(message.text)
            else:
                pane.type_text(message.text)
            self._text_in = True
            kib = len(message.text.encode()) / 1024
            if not self._landed_in_reader(message.text, before_typing):
                clock.wait_quiet(
                    LANDED_QUIET_S, min(LANDED_MAX_S, LANDED_BASE_S + LANDED_PER_KIB_S * kib)
                )
            self._wait_paste_taken()
            time.sleep(adapter.settle_s)
            if adapter.tidies_input:
                self._tidy_input(message.text)
            if clock.count == before_typing:
                self._wait_until_reading(clock.count)
        if not (message.submit or message.enter_only):
            return DONE
        if dialog is not None:
            return self._submit_into_dialog(message, dialog)
        if message.enter_only and (dialog := self._dialog_showing()) is not None:
            return self._answer_dialog(dialog)
        if adapter.proves_submit and self.ledger.turns.hooks_seen and message.text:
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
                self.log(f"{message.id}: the text is still in the input line, submitting again")
        return Outcome(FAILED, STILL_TYPED)

    def _wait_paste_taken(self) -> None:
        """Wait while the screen shows the agent still taking the text (its adapter's
        ``[paste] pending`` markers, or an input line still empty with ``shown``): Qwen Code
        reads a 100 KB paste a few KiB at a time, and a submit key right behind its end
        submits the collapsed marker instead of the text; Gemini CLI turns an Enter right
        after a paste into a new line."""
        if not self.adapter.reads_screen:
            return
        deadline = time.monotonic() + PASTE_TAKE_MAX_S
        while True:
            screen = self.pane.capture_screen()
            if screen is None or not self.adapter.taking_paste(screen):
                return
            if time.monotonic() >= deadline:
                self.log(f"the agent still shows the paste pending after {PASTE_TAKE_MAX_S:g}s")
                return
            time.sleep(TIDY_POLL_S)

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
        keys = self.adapter.keys_after_typing(look.line if look else None)
        if keys:
            self.pane.send_keys(*keys)

    def _landed_in_reader(self, text: str, count: int) -> bool:
        """One line typed as keys has landed once it was echoed and the kernel shows the
        program blocked reading its terminal again: it has taken all there was (raw mode),
        or the line waits whole in the terminal's line buffer (canonical mode); the submit
        key comes after it either way. Anything else (no echo yet, an event loop, a
        paste) waits for the output to go quiet instead."""
        if not self.adapter.reads_terminal or not typed_as_keys(text):
            return False
        deadline = time.monotonic() + LANDED_QUIET_S
        if not self.clock.wait_after(count, LANDED_QUIET_S):
            return False
        while True:
            use = self.pane.terminal_use()
            if use == TerminalUse.READING:
                return True
            if use != TerminalUse.WORKING or time.monotonic() >= deadline:
                return False
            time.sleep(LANDED_POLL_S)

    def _wait_until_reading(self, count: int) -> None:
        """Typed text that nothing echoed, into a program the kernel says is not reading:
        wait until it reads (or prints) before pressing submit."""
        if not self.adapter.reads_terminal:
            return
        deadline = time.monotonic() + READ_WAIT_MAX_S
        while self.pane.terminal_use() == TerminalUse.WORKING and time.monotonic() < deadline:
            if self.clock.wait_after(count, TERMINAL_POLL_S):
                return

    def _look(self) -> ScreenLook | None:
        """One capture of the screen, read by the adapter; None when it reads no screen."""
        adapter = self.adapter
        screen = self.pane.capture_screen() if adapter.reads_screen else None
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
        if self.adapter.proves_submit:
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
        """``--submit-only`` at a dialog: its accepting option is taken (the one its adapter
        file names, else the submit key), and counts once the dialog has gone. A dialog
        drawn a moment ago may not take keys yet (seen with Codex's folder-trust dialog),
        so a key it ignored is pressed once more."""
        for attempt in range(2):
            answer_dialog(self.pane, self.adapter, dialog, self.log)
            deadline = time.monotonic() + SUBMIT_CONFIRM_S
            while time.monotonic() < deadline:
                if self._dialog_showing() != dialog:
                    return DONE
                time.sleep(DIALOG_POLL_S)
            if attempt == 0:
                self.log(f"the {dialog.value} dialog stayed; pressing submit again")
        return Outcome(FAILED, f"the {dialog.value} dialog did not take its answer (tried twice)")

    def _submit_proven(self, message: Message) -> Outcome:
        """Submit, then wait for the agent's own report of the prompt it accepted. Without
        one, the screen decides: submitted (delivered, proven if the report comes late),
        still in the input box (pressed once more), or unknown (unconfirmed)."""
        for attempt in range(2):
            seen = self.clock.count
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
                self.log(f"{message.id}: no prompt report, pressing submit again")
        return Outcome(FAILED, STILL_TYPED)

    def _press_submit(self) -> None:
        self.pane.send_keys(*self.adapter.submit_keys)

    def _submit_for_report(self) -> str | None:
        """Press submit; the prompt the agent then reports accepting, if it does in time."""
        turns = self.ledger.turns
        seen = turns.prompt_count
        self._press_submit()
        return turns.wait_prompt(seen, HOOK_CONFIRM_S)

    # --- which messages make turns ------------------------------------------------------------

    def _reportable(self, message: Message) -> bool:
        """Whether the agent will report this message's prompt when it submits it."""
        return bool(
            self.adapter.proves_submit
            and message.text
            and message.submit
            and not message.enter_only
        )

    @staticmethod
    def _starts_turn(message: Message) -> bool:
        """A typed, submitted message whose turn has not been reported finished yet."""
        typed = bool(message.text) and message.submit and not message.enter_only
        return typed and message.completed_at is None

    def _input_probe(self) -> str | CursorLine | None:
        """What the agent's input line shows: its input box for screen adapters, the line
        under the cursor for programs read through the kernel; None when neither is known."""
        if self.adapter.reads_terminal:
            return self.pane.cursor_line()
        look = self._look()
        return look.line if look is not None else None

    def _reading(self) -> bool:
        """Whether the kernel shows the agent blocked reading its terminal right now."""
        return self.adapter.reads_terminal and self.pane.terminal_use() == TerminalUse.READING

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
        clock = self.clock
        started = time.monotonic()
        lost_at = started + SUBMIT_CONFIRM_S
        give_up = lost_at + (SUBMIT_PATIENCE_S if patience is None else patience)
        while True:
            now = time.monotonic()
            if now >= give_up:
                break
            if reading and self.pane.terminal_use() == TerminalUse.WORKING:
                return Submit.TOOK
            if clock.wait_after(seen, min(SUBMIT_POLL_S, max(0.0, give_up - now))):
                seen = clock.count
                if self._took(before):
                    return Submit.TOOK
            if time.monotonic() >= lost_at and self._still_typed(before, typed):
                return Submit.LOST
        return Submit.UNSURE

    def _took(self, before: str | CursorLine | None) -> bool:
        if not before and not self.adapter.reads_terminal:
            return True  # nothing to compare: output after the key is all there is
        if self.adapter.reads_terminal:
            return self._input_probe() != before
        look = self._look()
        return look is not None and (look.state == State.BUSY or look.line != before)

    def _still_typed(self, before: str | CursorLine | None, typed: str) -> bool:
        """The input line unchanged since the key, still showing what was typed (for a
        program read through the kernel: and that program reading its input)."""
        if not before:
            return False
        if not self.adapter.reads_terminal:
            # An input box: the same text, and the agent not working on it.
            look = self._look()
            return look is not None and look.line == before and look.state != State.BUSY
        if self._input_probe() != before:
            return False
        shown = before.text if isinstance(before, CursorLine) else before
        tail = typed.strip().splitlines()[-1].strip()[-TYPED_TAIL_CHARS:] if typed.strip() else ""
        return bool(tail) and tail in shown and self.pane.terminal_use() != TerminalUse.WORKING
