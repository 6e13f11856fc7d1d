"""Proven delivery in the sidecar's deliverer, with the agent's hook reports simulated: the
typed text must equal the prompt the agent reports, or the message fails with both texts.
Also ``--submit-only`` at a dialog, which counts once the dialog has gone."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.adapters import adapter_for
from harnex_tmux.events import EventLog
from harnex_tmux.sidecar.delivery import Deliverer
from harnex_tmux.sidecar.inbox import Inbox, Message
from harnex_tmux.sidecar.output_clock import OutputClock
from harnex_tmux.sidecar.turns import Turns

IDLE = "─" * 20 + "\n❯\n" + "─" * 20 + "\n  ? for shortcuts\n"
TRUST = """
 Quick safety check: Is this a project you created or one you trust? (Like your own code)

 ❯ 1. Yes, I trust this folder
   2. No, exit

 Enter to confirm · Esc to cancel
"""


@dataclass
class FakeTmux:
    """Records what would be typed; pressing Enter makes the 'agent' report a prompt."""

    report: Any = None
    on_type: Any = None
    typed: list[str] = field(default_factory=list)
    keys: list[tuple[str, ...]] = field(default_factory=list)

    def type_text(self, pane: str, text: str) -> None:
        self.typed.append(text)
        if self.on_type is not None:
            self.on_type(text)

    def send_keys(self, pane: str, *keys: str) -> None:
        self.keys.append(keys)
        if self.report is not None:
            threading.Timer(0.05, self.report).start()


@dataclass
class FakeRecord:
    pane_id: str = "%1"


class FakeSidecar:
    def __init__(self, tmp: Path) -> None:
        self.adapter = adapter_for("claude")
        self.tmux = FakeTmux()
        self.record = FakeRecord()
        self.output = OutputClock()
        self.turns = Turns()
        self.turns.saw_hook()
        self.events = EventLog(tmp / "events.jsonl", "s1")
        self.lines: list[str] = []
        self.screen = IDLE

    def capture_screen(self) -> str:
        return self.screen

    def log(self, line: str) -> None:
        self.lines.append(line)

    def note_injected(self) -> None:
        pass

    def release_hold(self) -> None:
        pass


def _deliver(tmp_path: Path, text: str, reported: str | None) -> tuple[Message, FakeSidecar]:
    sidecar = FakeSidecar(tmp_path)
    if reported is not None:
        sidecar.tmux.report = lambda: sidecar.turns.prompt_submitted(reported)
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    deliverer = Deliverer(sidecar, inbox)  # type: ignore[arg-type]
    message = inbox.add(Message(text=text))
    deliverer.deliver(message)
    return message, sidecar


def test_matching_report_proves_delivery(tmp_path: Path) -> None:
    text = "line one\r\nline two e\u0301"
    message, sidecar = _deliver(tmp_path, text, "line one\nline two \u00e9\n")
    assert message.status == "delivered" and message.proven is True
    assert sidecar.tmux.typed == [text] and sidecar.tmux.keys == [("Enter",)]


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
    message, sidecar = _deliver(tmp_path, "hello", None)
    assert message.status == "unconfirmed"
    assert sidecar.tmux.keys == [("Enter",)]
    assert "did not report" in (message.error or "")


def _deliver_into_box(tmp_path: Path, clears_on: int | None) -> tuple[Message, FakeSidecar]:
    """The typed text shows in the input box; the box empties on press ``clears_on``."""
    sidecar = FakeSidecar(tmp_path)
    sidecar.tmux.on_type = lambda text: setattr(sidecar, "screen", IDLE.replace("❯", "❯ " + text))

    def press() -> None:
        if clears_on is not None and len(sidecar.tmux.keys) >= clears_on:
            sidecar.screen = IDLE
            sidecar.output.tick()

    sidecar.tmux.report = press
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    deliverer = Deliverer(sidecar, inbox)  # type: ignore[arg-type]
    message = inbox.add(Message(text="hello there"))
    deliverer.deliver(message)
    return message, sidecar


def test_no_report_but_the_box_emptied_is_delivered_unproven(tmp_path: Path) -> None:
    message, sidecar = _deliver_into_box(tmp_path, clears_on=1)
    assert message.status == "delivered" and message.proven is False
    assert sidecar.tmux.keys == [("Enter",)]


def test_text_left_in_the_box_gets_one_more_press(tmp_path: Path) -> None:
    message, sidecar = _deliver_into_box(tmp_path, clears_on=2)
    assert message.status == "delivered"
    assert sidecar.tmux.keys == [("Enter",), ("Enter",)]
    assert any("pressing submit again" in line for line in sidecar.lines)


def test_text_still_in_the_box_after_two_presses_fails(tmp_path: Path) -> None:
    """Known not submitted (the text sits in the box): failed, with a reason that says so."""
    message, sidecar = _deliver_into_box(tmp_path, clears_on=None)
    assert message.status == "failed"
    assert sidecar.tmux.keys == [("Enter",), ("Enter",)]
    assert "still in the agent's input line" in (message.error or "")


def _submit_only_at_trust_dialog(tmp_path: Path, ignored: int) -> tuple[Message, FakeSidecar]:
    """The dialog ignores the first ``ignored`` Enter presses, then gives way to the prompt."""
    sidecar = FakeSidecar(tmp_path)
    sidecar.screen = TRUST

    def dialog_reacts() -> None:
        if len(sidecar.tmux.keys) > ignored:
            sidecar.screen = IDLE

    sidecar.tmux.report = dialog_reacts
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    deliverer = Deliverer(sidecar, inbox)  # type: ignore[arg-type]
    message = inbox.add(Message(text="", submit=False, enter_only=True))
    deliverer.deliver(message)
    return message, sidecar


def test_submit_only_at_a_dialog_counts_once_the_dialog_is_gone(tmp_path: Path) -> None:
    message, sidecar = _submit_only_at_trust_dialog(tmp_path, ignored=0)
    assert message.status == "delivered"
    assert sidecar.tmux.keys == [("Enter",)]


def test_submit_only_presses_again_when_the_dialog_ignored_the_key(tmp_path: Path) -> None:
    message, sidecar = _submit_only_at_trust_dialog(tmp_path, ignored=1)
    assert message.status == "delivered"
    assert sidecar.tmux.keys == [("Enter",), ("Enter",)]
    assert any("dialog stayed" in line for line in sidecar.lines)


def test_submit_only_fails_when_the_dialog_never_reacts(tmp_path: Path) -> None:
    message, sidecar = _submit_only_at_trust_dialog(tmp_path, ignored=2)
    assert message.status == "failed"
    assert sidecar.tmux.keys == [("Enter",), ("Enter",)]
    assert "workspace-trust-prompt dialog did not react" in (message.error or "")


def _codex_turn(tmp_path: Path, typed: str, received: str) -> tuple[Message, Message | None]:
    """A message Codex took (the screen said so); its turn then ends with ``received``, the
    input Codex reports only at the end of a turn."""
    sidecar = FakeSidecar(tmp_path)
    sidecar.adapter = adapter_for("codex")
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    deliverer = Deliverer(sidecar, inbox)  # type: ignore[arg-type]
    message = inbox.add(Message(text=typed))
    deliverer._expect_turn(message)
    inbox.finish(message, "delivered")
    return message, deliverer.turn_finished("the reply", received)


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
    sidecar = FakeSidecar(tmp_path)
    sidecar.turns = Turns()
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    deliverer = Deliverer(sidecar, inbox)  # type: ignore[arg-type]

    def report() -> None:
        sidecar.turns.prompt_submitted(reported)
        deliverer.prompt_reported(reported)

    def screen_reacts() -> None:
        if not late:
            report()  # before the screen shows it: the typist finds it when it checks
        sidecar.output.tick()

    sidecar.tmux.report = screen_reacts
    message = inbox.add(Message(text="first message\nline two"))
    deliverer.deliver(message)
    assert sidecar.tmux.keys == [("Enter",)]
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
    sidecar = FakeSidecar(tmp_path)
    sidecar.adapter = adapter_for("opencode")
    sidecar.screen = (SCREENS / "opencode-home.txt").read_text()
    pasted = (SCREENS / "opencode-pasted.txt").read_text()
    shown = threading.Event()

    def paste(pane: str, text: str) -> None:
        sidecar.tmux.typed.append(text)

        def show() -> None:
            sidecar.screen = pasted
            shown.set()

        threading.Timer(1.0, show).start()

    sidecar.tmux.paste = paste  # type: ignore[attr-defined]
    sidecar.tmux.report = lambda: sidecar.turns.prompt_submitted("x")
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    deliverer = Deliverer(sidecar, inbox)  # type: ignore[arg-type]
    text = "\n".join(f"line {i}" for i in range(30))
    deliverer.deliver(inbox.add(Message(text=text)))
    assert shown.is_set()
    assert sidecar.tmux.keys[0] == ("BSpace",), sidecar.tmux.keys
