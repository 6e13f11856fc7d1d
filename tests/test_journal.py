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


def test_a_claim_given_back_is_queued_again_after_a_restart(tmp_path: Path) -> None:
    """Claimed, then the pane went away before anything was submitted: released, it is
    neither typed twice nor taken for half-typed."""
    path = tmp_path / "s.jsonl"
    inbox = Inbox(path, 600)
    message = inbox.add(Message(text="not typed"))
    assert inbox.claim(message)
    inbox.release(message)
    assert inbox.claim(message)  # the deliverer may take it again
    inbox.release(message)
    (again,) = Inbox(path, 600).pending()
    assert (again.id, again.status) == (message.id, QUEUED)


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


def test_messages_kept_for_resume_outlive_a_compaction(tmp_path: Path) -> None:
    """The session ended without a stop: its queued messages end in memory only, and stay
    queued on disk through whatever the journal writes afterwards."""
    path = tmp_path / "s.jsonl"
    inbox = Inbox(path, 600)
    typing = inbox.add(Message(text="being typed"))
    kept = [inbox.add(Message(text=f"kept {n}")) for n in range(2)]
    assert inbox.claim(typing)
    for message in kept:
        inbox.finish(message, "failed", "the session ended", keep=True)
    for n in range(30):  # enough journal traffic to compact it
        extra = inbox.add(Message(text=f"x{n}"))
        inbox.finish(extra, "failed", "dropped")
    inbox.finish(typing, DELIVERED)
    again = Inbox(path, 600)
    assert [(m.text, m.status, m.error) for m in again.pending()] == [
        ("kept 0", QUEUED, None),
        ("kept 1", QUEUED, None),
    ]


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


def test_the_events_log_and_records_stay_whole_on_a_full_disk(small: Path) -> None:
    """A write the disk refuses leaves the events log, the registry record and the resume
    card as they were: whole, never a half line or half a file a later read believes."""
    from harnex_tmux.events import EventLog
    from harnex_tmux.resume_card import ResumeCard
    from harnex_tmux.state import SessionRecord

    log = EventLog(small / "events" / "s.jsonl", "s")
    log.emit("started")
    record = SessionRecord(
        id="s",
        cli="demo",
        repo_root="/r",
        host="127.0.0.1",
        port=1,
        token="t",
        session_id="x",
        started_at="now",
        output_log_path="o",
        events_log_path="e",
    )
    record.save(small / "s.json")
    card = ResumeCard(spec={"id": "s"}, conversation="first")
    card.save(small / "card.json")
    fill(small)
    with open(log.path, "ab", buffering=0) as handle:  # the log's own last page too
        while True:
            try:
                handle.write(b" ")
            except OSError:
                break
    big = "y" * 20_000
    log.emit("send", msg=big)  # refused: cut back, not left half-written
    record.description = big
    with pytest.raises(OSError):
        record.save(small / "s.json")
    ResumeCard(spec={"id": "s"}, conversation=big).save(small / "card.json")
    assert json.loads((small / "s.json").read_text())["description"] is None
    loaded = ResumeCard.load(small / "card.json")
    assert loaded is not None and loaded.conversation == "first"
    (small / "filler").unlink()
    (small / "filler.tail").unlink(missing_ok=True)
    log.emit("state", to="prompt")
    lines = [line for line in log.path.read_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events] == ["started", "state"]
    assert [e["seq"] for e in events] == [1, 3]  # the refused one kept its number
    assert not [p.name for p in small.iterdir() if p.name.endswith(".tmp")]
