"""The inbox journal: what a restart reads back, torn tails, and a disk that is really full."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from small_disk import fill, mounted_tmpfs

from harnex_tmux.errors import StateDirFull
from harnex_tmux.sidecar.inbox import (
    CLAIMED_BEFORE_RESTART,
    DELIVERED,
    QUEUED,
    UNCONFIRMED,
    Inbox,
    Message,
)


def ops(path: Path) -> list[str]:
    return [json.loads(line).get("op", "?") for line in path.read_text().splitlines()]


def test_claimed_without_an_outcome_is_unconfirmed_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "inbox" / "s.jsonl"
    inbox = Inbox(path, 600)
    first, second, third = (inbox.add(Message(text=t)) for t in ("one", "two", "three"))
    assert inbox.claim(first)
    inbox.finish(first, DELIVERED)
    assert inbox.claim(second)  # the sidecar dies while typing it
    assert ops(path) == ["queued", "queued", "queued", "claimed", "finished", "claimed"]
    again = Inbox(path, 600)
    assert [m.text for m in again.pending()] == ["three"]
    lost = again.get(second.id)
    assert lost is not None and lost.status == UNCONFIRMED and lost.error == CLAIMED_BEFORE_RESTART
    done = again.get(first.id)
    assert done is not None and done.status == DELIVERED and done.delivered_at
    # Compacted on start: only what is still pending is left, and a third start agrees.
    assert ops(path) == ["queued"]
    assert [m.id for m in Inbox(path, 600).pending()] == [third.id]


def test_a_torn_tail_is_skipped_and_never_glued_to_the_next_record(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    inbox = Inbox(path, 600)
    inbox.add(Message(text="whole"))
    with open(path, "ab") as handle:
        handle.write(b'{"op": "queued", "id": "msg-torn", "text": "hal')  # a crash mid-write
    again = Inbox(path, 600)
    assert [m.text for m in again.pending()] == ["whole"]
    again.add(Message(text="after"))
    assert [m.text for m in Inbox(path, 600).pending()] == ["whole", "after"]


def test_the_older_whole_queue_file_is_read_as_queued(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"id": "msg-old", "text": "from 0.5", "status": "queued"}) + "\n")
    assert [m.text for m in Inbox(path, 600).pending()] == ["from 0.5"]


def test_the_journal_is_compacted_as_messages_finish(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    inbox = Inbox(path, 600)
    for n in range(40):
        message = inbox.add(Message(text=f"m{n}"))
        assert inbox.claim(message)
        inbox.finish(message, DELIVERED)
    assert len(path.read_text().splitlines()) <= 20


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "small", 300) as folder:
        yield folder


def test_a_full_disk_refuses_new_messages_and_keeps_recording_outcomes(small: Path) -> None:
    """Messages fill the disk until one is refused; the ones before are whole, and each
    claim and outcome is still written (into the room kept for them), so a restart knows."""
    path = small / "inbox" / "s.jsonl"
    inbox = Inbox(path, 600)
    accepted: list[Message] = []
    with pytest.raises(StateDirFull) as refused:
        for n in range(100):
            accepted.append(inbox.add(Message(text=f"{n}:" + "x" * 40_000)))
    assert str(refused.value) == f"the state directory is full: {small}"
    assert 3 <= len(accepted) < 10
    assert inbox.storage_problem() == str(refused.value)
    assert [m.id for m in Inbox(path, 600).pending()] == [m.id for m in accepted]
    fill(small)  # and whatever else was left, by someone else
    first = accepted[0]
    assert inbox.claim(first)
    inbox.finish(first, DELIVERED)
    after = Inbox(path, 600)
    seen = after.get(first.id)
    assert seen is not None and seen.status == DELIVERED
    assert [m.id for m in after.pending()] == [m.id for m in accepted[1:]]


def test_no_room_even_for_a_claim_means_the_message_is_not_typed(small: Path) -> None:
    path = small / "inbox" / "s.jsonl"
    inbox = Inbox(path, 600)
    message = inbox.add(Message(text="wait for room"))
    inbox.journal.reserve.unlink()  # the room kept for status records is used up
    fill(small)
    with open(path, "ab", buffering=0) as handle:  # and the journal's own last page
        while True:
            try:
                handle.write(b" ")
            except OSError:
                break
    with pytest.raises(StateDirFull):
        inbox.claim(message)
    assert message.status == QUEUED and inbox.pending() == [message]
    assert Inbox(path, 600).pending()[0].status == QUEUED  # still queued on disk, not claimed
    (small / "filler").unlink()
    (small / "filler.tail").unlink(missing_ok=True)
    assert inbox.storage_problem() is None  # room again: the reserve is back
    assert inbox.claim(message)
    inbox.finish(message, DELIVERED)
    assert inbox.add(Message(text="new")).status == QUEUED
