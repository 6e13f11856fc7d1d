"""The inbox's withdraw-or-type decision and callers' own message ids, without a session."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harnex_tmux.errors import MessageIdTaken
from harnex_tmux.sidecar.inbox import (
    DROPPED,
    FAILED,
    Inbox,
    Message,
)


def race(inbox: Inbox, message: Message) -> dict[str, bool]:
    """The deliverer taking ``message`` and a sender withdrawing it, at the same moment."""
    outcome: dict[str, bool] = {}
    start = threading.Barrier(2)

    def take() -> None:
        start.wait()
        outcome["claimed"] = inbox.claim(message)

    def withdraw() -> None:
        start.wait()
        outcome["dropped"] = bool(inbox.drop(message.id))

    threads = [threading.Thread(target=take), threading.Thread(target=withdraw)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def test_a_message_is_withdrawn_or_typed_never_both(tmp_path: Path) -> None:
    """Exactly one of the two wins, every time."""
    for round_ in range(200):
        inbox = Inbox(tmp_path / f"i{round_}.jsonl", 600)
        message = inbox.add(Message(text="hi"))
        outcome = race(inbox, message)
        assert outcome["claimed"] != outcome["dropped"]
        if outcome["dropped"]:
            assert (message.status, message.error) == (FAILED, DROPPED)


def test_a_known_message_id_is_the_same_message_or_an_error(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.jsonl", 600)
    first = inbox.add(Message(text="hello", id="job-1"))
    assert inbox.add(Message(text="hello", id="job-1")) is first
    assert len(inbox) == 1
    # A relay header carries the time of sending: a retry's differs, the text does not.
    relayed = "[harnex relay from=claude id=a at=2026-01-01T00:00:01Z]\nhello"
    assert inbox.add(Message(text=relayed, id="job-1")) is first
    with pytest.raises(MessageIdTaken):
        inbox.add(Message(text="other", id="job-1"))
    # Withdrawn, it was never typed: the same id may be queued again.
    inbox.drop("job-1")
    again = inbox.add(Message(text="hello", id="job-1"))
    assert again is not first and len(inbox) == 1
