"""Proven delivery in the sidecar's deliverer, with the agent's hook reports simulated: the
typed text must equal the prompt the agent reports, or the message fails with both texts.
Also ``--submit-only`` at a dialog, which counts once the dialog has gone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harnex_tmux.adapters import adapter_for
from harnex_tmux.events import EventLog
from harnex_tmux.foreground import TerminalUse
from harnex_tmux.sidecar.delivery import Deliverer
from harnex_tmux.sidecar.inbox import Inbox, Message
from harnex_tmux.sidecar.ledger import Ledger
from harnex_tmux.sidecar.output_clock import OutputClock
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.tmux import CursorLine

IDLE = "─" * 20 + "\n❯\n" + "─" * 20 + "\n  ? for shortcuts\n"
TRUST = """
 Quick safety check: Is this a project you created or one you trust? (Like your own code)

 ❯ 1. Yes, I trust this folder
   2. No, exit

 Enter to confirm · Esc to cancel
"""


class FakePane:
    """A pane that records what would be typed and shows ``screen``; pressing a key makes
    the 'agent' run ``report`` a moment later."""

    def __init__(self) -> None:
        self.typing = threading.Lock()
        self.report: Callable[[], None] | None = None
        self.on_type: Callable[[str], None] | None = None
        self.typed: list[str] = []
        self.keys: list[tuple[str, ...]] = []
        self.screen = IDLE

    def type_text(self, text: str) -> None:
        self.typed.append(text)
        if self.on_type is not None:
            self.on_type(text)

    def paste(self, text: str) -> None:
        self.type_text(text)

    def send_keys(self, *keys: str) -> None:
        self.keys.append(keys)
        if self.report is not None:
            threading.Timer(0.05, self.report).start()

    def cursor_line(self) -> CursorLine | None:
        return None

    def capture_screen(self) -> str | None:
        return self.screen

    def terminal_use(self) -> TerminalUse:
        return TerminalUse.UNKNOWN


@dataclass
class Rig:
    """A deliverer built from its parts: a fake pane, and a real clock, inbox and ledger."""

    pane: FakePane
    output: OutputClock
    inbox: Inbox
    ledger: Ledger
    deliverer: Deliverer
    lines: list[str] = field(default_factory=list)


def _rig(tmp: Path, adapter: str = "claude", hooks_seen: bool = True) -> Rig:
    inbox = Inbox(tmp / "inbox.jsonl", ttl_s=60)
    readiness = Readiness()
    ledger = Ledger(inbox, EventLog(tmp / "events.jsonl", "s1"), readiness)
    if hooks_seen:
        ledger.turns.saw_hook()
    pane, output = FakePane(), OutputClock()
    lines: list[str] = []
    deliverer = Deliverer(
        adapter=adapter_for(adapter),
        pane=pane,
        clock=output,
        ledger=ledger,
        readiness=readiness,
        log=lines.append,
    )
    return Rig(pane, output, inbox, ledger, deliverer, lines)


def _deliver(tmp_path: Path, text: str, reported: str | None) -> tuple[Message, Rig]:
    rig = _rig(tmp_path)
    if reported is not None:
        rig.pane.report = lambda: rig.ledger.turns.prompt_submitted(reported)
    message = rig.inbox.add(Message(text=text))
    rig.deliverer.deliver(message)
    return message, rig


def test_matching_report_proves_delivery(tmp_path: Path) -> None:
    text = "line one\r\nline two e\u0301"
    message, rig = _deliver(tmp_path, text, "line one\nline two \u00e9\n")
    assert message.status == "delivered" and message.proven is True
    assert rig.pane.typed == [text] and rig.pane.keys == [("Enter",)]


def test_different_report_fails_with_both_texts(tmp_path: Path) -> None:
    message, _ = _deliver(tmp_path, "deploy to staging", "deploy to production")
    assert message.status == "failed" and message.proven is False
    public = message.public()
    assert public["typed"] == "deploy to staging"
    assert public["received"] == "deploy to production"
    assert "different prompt" in (public["error"] or "")


def test_no_report_and_nothing_to_see_is_unconfirmed_after_one_press(tmp_path: Path) -> None:
    """No report and a screen that shows nothing either way: the agent may have it, so
    submit is not pressed again and the message is not called failed."""
    message, rig = _deliver(tmp_path, "hello", None)
    assert message.status == "unconfirmed"
    assert rig.pane.keys == [("Enter",)]
    assert "did not report" in (message.error or "")


def _deliver_into_box(tmp_path: Path, clears_on: int | None) -> tuple[Message, Rig]:
    """The typed text shows in the input box; the box empties on press ``clears_on``."""
    rig = _rig(tmp_path)
    rig.pane.on_type = lambda text: setattr(rig.pane, "screen", IDLE.replace("❯", "❯ " + text))

    def press() -> None:
        if clears_on is not None and len(rig.pane.keys) >= clears_on:
            rig.pane.screen = IDLE
            rig.output.tick()

    rig.pane.report = press
    message = rig.inbox.add(Message(text="hello there"))
    rig.deliverer.deliver(message)
    return message, rig


def test_no_report_but_the_box_emptied_is_delivered_unproven(tmp_path: Path) -> None:
    message, rig = _deliver_into_box(tmp_path, clears_on=1)
    assert message.status == "delivered" and message.proven is False
    assert rig.pane.keys == [("Enter",)]


def test_text_left_in_the_box_gets_one_more_press(tmp_path: Path) -> None:
    message, rig = _deliver_into_box(tmp_path, clears_on=2)
    assert message.status == "delivered"
    assert rig.pane.keys == [("Enter",), ("Enter",)]
    assert any("pressing submit again" in line for line in rig.lines)


def test_text_still_in_the_box_after_two_presses_fails(tmp_path: Path) -> None:
    """Known not submitted (the text sits in the box): failed, with a reason that says so."""
    message, rig = _deliver_into_box(tmp_path, clears_on=None)
    assert message.status == "failed"
    assert rig.pane.keys == [("Enter",), ("Enter",)]
    assert "still in the agent's input line" in (message.error or "")


def _submit_only_at_trust_dialog(tmp_path: Path, ignored: int) -> tuple[Message, Rig]:
    """The dialog ignores the first ``ignored`` Enter presses, then gives way to the prompt."""
    rig = _rig(tmp_path)
    rig.pane.screen = TRUST

    def dialog_reacts() -> None:
        if len(rig.pane.keys) > ignored:
            rig.pane.screen = IDLE

    rig.pane.report = dialog_reacts
    message = rig.inbox.add(Message(text="", submit=False, enter_only=True))
    rig.deliverer.deliver(message)
    return message, rig


def test_submit_only_at_a_dialog_counts_once_the_dialog_is_gone(tmp_path: Path) -> None:
    message, rig = _submit_only_at_trust_dialog(tmp_path, ignored=0)
    assert message.status == "delivered"
    assert rig.pane.keys == [("Enter",)]


def test_submit_only_presses_again_when_the_dialog_ignored_the_key(tmp_path: Path) -> None:
    message, rig = _submit_only_at_trust_dialog(tmp_path, ignored=1)
    assert message.status == "delivered"
    assert rig.pane.keys == [("Enter",), ("Enter",)]
    assert any("dialog stayed" in line for line in rig.lines)


def test_submit_only_fails_when_the_dialog_never_reacts(tmp_path: Path) -> None:
    message, rig = _submit_only_at_trust_dialog(tmp_path, ignored=2)
    assert message.status == "failed"
    assert rig.pane.keys == [("Enter",), ("Enter",)]
    assert "workspace-trust-prompt dialog did not take its answer" in (message.error or "")


def _codex_turn(tmp_path: Path, typed: str, received: str) -> tuple[Message, Message | None]:
    """A message Codex took (the screen said so); its turn then ends with ``received``, the
    input Codex reports only at the end of a turn."""
    rig = _rig(tmp_path, adapter="codex")
    message = rig.inbox.add(Message(text=typed))
    rig.ledger.expect_turn(message, awaits_report=True)
    rig.inbox.finish(message, "delivered")
    return message, rig.ledger.turn_finished("the reply", received)


def test_codex_turn_with_the_typed_text_proves_the_message(tmp_path: Path) -> None:
    message, matched = _codex_turn(tmp_path, "one\ntwo", "one\r\ntwo\n")
    assert matched is message
    assert message.status == "delivered" and message.proven is True
    assert message.reply == "the reply"


def test_codex_turn_with_part_of_the_text_fails_the_message(tmp_path: Path) -> None:
    message, matched = _codex_turn(tmp_path, "first half\nsecond half", "first half")
    assert matched is message
    assert message.status == "failed" and message.proven is False
    assert message.public()["received"] == "first half"
    assert message.public()["typed"] == "first half\nsecond half"
    events = (tmp_path / "events.jsonl").read_text()
    assert '"failed"' in events and message.id in events


def test_codex_turn_typed_onto_a_draft_fails_the_message(tmp_path: Path) -> None:
    message, _ = _codex_turn(tmp_path, "run the tests", "half-written draft run the tests")
    assert message.status == "failed"


def test_codex_turn_with_unrelated_input_leaves_the_message_waiting(tmp_path: Path) -> None:
    message, matched = _codex_turn(tmp_path, "run the tests", "typed by a person")
    assert matched is None
    assert message.status == "delivered" and message.proven is False and message.reply is None


def _first_message(tmp_path: Path, reported: str, late: bool) -> Message:
    """A session's first message: no hook seen yet, so the screen confirms it; the agent's
    prompt report comes while that check runs, or only after it."""
    rig = _rig(tmp_path, hooks_seen=False)

    def report() -> None:
        rig.ledger.prompt_reported(reported)

    def screen_reacts() -> None:
        if not late:
            report()  # before the screen shows it: the typist finds it when it checks
        rig.output.tick()

    rig.pane.report = screen_reacts
    message = rig.inbox.add(Message(text="first message\nline two"))
    rig.deliverer.deliver(message)
    assert rig.pane.keys == [("Enter",)]
    if late:
        assert message.status == "delivered" and message.proven is False
        report()
    return message


def test_first_message_is_proven_by_a_report_during_the_screen_check(tmp_path: Path) -> None:
    message = _first_message(tmp_path, "first message\nline two", late=False)
    assert message.status == "delivered" and message.proven is True


def test_first_message_is_proven_by_a_later_report(tmp_path: Path) -> None:
    message = _first_message(tmp_path, "first message\nline two", late=True)
    assert message.status == "delivered" and message.proven is True


def test_first_message_fails_when_the_agent_reports_part_of_it(tmp_path: Path) -> None:
    message = _first_message(tmp_path, "first message", late=True)
    assert message.status == "failed" and message.received == "first message"


def test_an_unrelated_report_leaves_the_first_message_unproven(tmp_path: Path) -> None:
    message = _first_message(tmp_path, "typed by a person", late=True)
    assert message.status == "delivered" and message.proven is False


SCREENS = Path(__file__).parent / "screens"


def test_collapsed_paste_is_tidied_once_it_shows(tmp_path: Path) -> None:
    """OpenCode slow to take a paste (a loaded machine): its input is still empty after the
    settle time and shows "[Pasted ~30 lines] " only later. The marker's space is deleted
    (BSpace) once it shows, before the submit key; read too early, it reached the model."""
    rig = _rig(tmp_path, adapter="opencode")
    rig.pane.screen = (SCREENS / "opencode-home.txt").read_text()
    pasted = (SCREENS / "opencode-pasted.txt").read_text()
    shown = threading.Event()

    def show() -> None:
        rig.pane.screen = pasted
        shown.set()

    rig.pane.on_type = lambda text: threading.Timer(1.0, show).start()
    rig.pane.report = lambda: rig.ledger.turns.prompt_submitted("x")
    text = "\n".join(f"line {i}" for i in range(30))
    rig.deliverer.deliver(rig.inbox.add(Message(text=text)))
    assert shown.is_set()
    assert rig.pane.keys[0] == ("BSpace",), rig.pane.keys


class PaneGone(Exception):
    """What tmux raises for a pane that no longer exists."""


def _forced_into_closing_pane(tmp_path: Path, gone_at: str) -> Message:
    """A forced message whose pane disappears at ``gone_at`` (``typing`` or ``submit``)."""
    rig = _rig(tmp_path, hooks_seen=False)
    rig.pane.screen = TRUST
    gone = threading.Event()

    def vanish(*args: object) -> None:
        gone.set()
        raise PaneGone("can't find pane: %9")

    if gone_at == "typing":
        rig.pane.paste = vanish  # type: ignore[method-assign]
        rig.pane.type_text = vanish  # type: ignore[method-assign]
    else:
        rig.pane.send_keys = vanish  # type: ignore[method-assign]
    rig.deliverer.pane_gone = gone.is_set
    message = rig.inbox.record(Message(text="hello", force=True))
    rig.deliverer.deliver(message)
    return message


def test_a_forced_message_typed_before_its_pane_went_is_unconfirmed(tmp_path: Path) -> None:
    """The agent quit on the forced text (a dialog's "No, exit"): it may have it, so the
    message is never called failed."""
    message = _forced_into_closing_pane(tmp_path, gone_at="submit")
    assert message.status == "unconfirmed"
    assert "after the text was typed" in (message.error or "")


def test_a_forced_message_whose_pane_went_before_typing_failed(tmp_path: Path) -> None:
    message = _forced_into_closing_pane(tmp_path, gone_at="typing")
    assert message.status == "failed"
    assert "pane is gone" in (message.error or "")


def test_submit_waits_while_the_agent_still_takes_the_paste(tmp_path: Path) -> None:
    """Qwen Code shows "Pasting… N KB" while it reads a large paste: the submit key waits
    until that is gone and the input line shows the text."""
    rig = _rig(tmp_path, adapter="qwen", hooks_seen=False)
    rule = "─" * 40
    pasting = f"{rule}\n>   Type your message or @path/to/file\n{rule}\n  Pasting… 4 KB\n"
    taken = f"{rule}\n> [Pasted Content 104747 chars]\n{rule}\n  ⏸ Ask (shift + tab to cycle)\n"
    rig.pane.screen = pasting
    keys_at_change: list[int] = []

    def taken_later(text: str) -> None:
        def show() -> None:
            keys_at_change.append(len(rig.pane.keys))
            rig.pane.screen = taken

        threading.Timer(0.8, show).start()

    rig.pane.on_type = taken_later
    message = rig.inbox.add(Message(text="x" * 2000))
    rig.deliverer.deliver(message)
    assert keys_at_change == [0], "no key before the paste was taken"
    assert rig.pane.keys and rig.pane.keys[0] == ("Enter",)
