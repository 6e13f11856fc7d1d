"""The session's message queue: FIFO, bounded, expiring, and journaled on every change.

Every step of a message is appended to its journal (``inbox/<key>.jsonl``, see
:mod:`.journal`): queued, claimed (about to be typed, on disk before any key), finished. A
sidecar that is killed and restarted reads it back: what was waiting is delivered in the same
order, and what was claimed without an outcome is reported unconfirmed, never typed again.
Finished messages are kept in memory for ``GET /messages/<id>``.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.errors import InboxFull, MessageIdTaken
from harnex_tmux.messages import without_relay
from harnex_tmux.sidecar.journal import CLAIMED_OP, FINISHED_OP, QUEUED_OP, RELEASED_OP, Journal
from harnex_tmux.state import utc_now
from harnex_tmux.tokens import token_hex

DEFAULT_CAPACITY = 64
FINISHED_KEPT = 1024

QUEUED = "queued"
DELIVERED = "delivered"
FAILED = "failed"
EXPIRED = "expired"
DROPPED = "dropped"
# Typed and submitted, but harnex saw no sign that the agent took it, nor that it was lost:
# the agent may have it, so it must not be sent again blindly.
UNCONFIRMED = "unconfirmed"
CLAIMED_BEFORE_RESTART = (
    "claimed for typing before the sidecar restarted, with no record of how it ended: "
    "the agent may have it, so it is not typed again"
)
# The journal is compacted once it holds this many records more than the pending ones need.
COMPACT_SLACK = 16


@dataclass
class Message:
    text: str
    submit: bool = True
    enter_only: bool = False
    force: bool = False
    id: str = field(default_factory=lambda: f"msg-{token_hex(6)}")
    status: str = QUEUED
    queued_at: str = field(default_factory=utc_now)
    expires_at: float = 0.0
    delivered_at: str | None = None
    error: str | None = None
    # Filled in from the agent's hooks: whether it reported getting exactly this text, what
    # it got instead, and how the turn this message started ended.
    proven: bool = False
    received: str | None = None
    reply: str | None = None
    completed_at: str | None = None

    def public(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "queued_at": self.queued_at,
            "delivered_at": self.delivered_at,
            "error": self.error,
            "chars": len(self.text),
            "proven": self.proven,
            "completed_at": self.completed_at,
            "reply": self.reply,
        }
        if self.received is not None:
            data["typed"] = self.text
            data["received"] = self.received
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _never_typed(message: Message) -> bool:
    return message.status == EXPIRED or (message.status == FAILED and message.error == DROPPED)


class Inbox:
    def __init__(self, path: Path, ttl_s: float, capacity: int = DEFAULT_CAPACITY) -> None:
        self.path = path
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._cond = threading.Condition()
        self._pending: list[Message] = []
        self._finished: OrderedDict[str, Message] = OrderedDict()
        # Ids of messages the deliverer has taken to type: no longer withdrawable.
        self._claimed: set[str] = set()
        # Ended in memory only when the session ended without a stop: still queued in the
        # journal, for `harnex resume`, so a compaction must keep them too.
        self._kept: list[Message] = []
        self.journal = Journal(path)
        self._load()

    def _load(self) -> None:
        """Replay the journal: pending messages in order, finished ones remembered, and a
        claimed one without an outcome ended as unconfirmed."""
        pending: dict[str, Message] = {}
        claimed: set[str] = set()
        for record in self.journal.read():
            op = record.pop("op", QUEUED_OP)  # a line without one: the older whole-queue file
            ident = record.get("id")
            if not isinstance(ident, str):
                continue
            if op == QUEUED_OP:
                try:
                    pending[ident] = Message.from_dict(record)
                except TypeError:
                    continue
                self._finished.pop(ident, None)
            elif op == CLAIMED_OP and ident in pending:
                claimed.add(ident)
            elif op == RELEASED_OP:
                claimed.discard(ident)
            elif op == FINISHED_OP and ident in pending:
                message = pending.pop(ident)
                claimed.discard(ident)
                message.status = str(record.get("status") or FAILED)
                message.error = record.get("error")
                message.delivered_at = record.get("delivered_at")
                self._finished[ident] = message
        self._pending = list(pending.values())
        for message in [m for m in self._pending if m.id in claimed]:
            self._claimed.add(message.id)
            self.finish(message, UNCONFIRMED, CLAIMED_BEFORE_RESTART)
        self._compact(force=True)

    def _compact(self, force: bool = False) -> None:
        """Rewrite the journal as the pending messages alone, when it has grown well past
        them (or ``force``) and there is room; it is correct either way."""
        claimed = sum(m.id in self._claimed for m in self._pending)
        extra = self.journal.records - len(self._kept) - len(self._pending) - claimed
        if extra <= 0 or (not force and extra <= COMPACT_SLACK):
            return
        records: list[dict[str, Any]] = []
        for message in self._kept:
            kept = {**dataclasses.asdict(message), "status": QUEUED, "error": None}
            records.append({"op": QUEUED_OP, **kept})
        for message in self._pending:
            records.append({"op": QUEUED_OP, **dataclasses.asdict(message)})
            if message.id in self._claimed:
                records.append({"op": CLAIMED_OP, "id": message.id})
        self.journal.compact(records)

    def storage_problem(self) -> str | None:
        """Why new messages are refused right now (the state directory is full or cannot
        be written), after trying again; None when all is well."""
        with self._cond:
            if self.journal.problem is None:
                return None
            return self.journal.retry()

    def __len__(self) -> int:
        with self._cond:
            return len(self._pending)

    def add(self, message: Message, ttl_s: float | None = None) -> Message:
        """Queue ``message``; when its id (one the caller chose) names a message already, the
        same text gives back that one (a retry, queued once), another text MessageIdTaken."""
        with self._cond:
            known = self._find(message.id)
            if known is not None and _never_typed(known):
                self._finished.pop(known.id, None)  # withdrawn or expired: a retry goes again
                known = None
            if known is not None:
                if without_relay(known.text) != without_relay(message.text):
                    raise MessageIdTaken(f"message_id {message.id!r} names another message")
                return known
            if len(self._pending) >= self.capacity:
                raise InboxFull(f"inbox full ({self.capacity} messages waiting)")
            message.expires_at = time.time() + (self.ttl_s if ttl_s is None else ttl_s)
            # On disk first (StateDirFull when there is no room): a message is only ever
            # accepted once a restart would find it.
            self.journal.queued(dataclasses.asdict(message))
            self._pending.append(message)
            self._cond.notify_all()
        return message

    def record(self, message: Message) -> Message:
        """Track a message that bypasses the queue (forced), so its status can be asked for;
        a known id is answered as in :meth:`add`."""
        with self._cond:
            known = self._find(message.id)
            if known is not None and not _never_typed(known):
                if without_relay(known.text) != without_relay(message.text):
                    raise MessageIdTaken(f"message_id {message.id!r} names another message")
                return known
            self._finished[message.id] = message
        return message

    def claim(self, message: Message) -> bool:
        """Take a queued message to type it; False when it is no longer queued (withdrawn,
        dropped, expired) or already taken. Atomic with :meth:`drop`: a message is either
        withdrawn or typed, never both.

        The claim is on disk before this returns, so a restart never types the message
        again; StateDirFull when it cannot be written (the message must not be typed)."""
        with self._cond:
            if message.status != QUEUED or message.id in self._claimed:
                return False
            self.journal.claimed(message.id)
            self._claimed.add(message.id)
            return True

    def release(self, message: Message) -> None:
        """Give back a claimed message that was not typed after all: queued again, at its
        place (on disk too, so a restart does not take it for half-typed)."""
        with self._cond:
            if message.id in self._claimed:
                self._claimed.discard(message.id)
                self.journal.released(message.id)

    def head(self, timeout: float | None = None) -> Message | None:
        """The oldest pending message, waiting up to ``timeout`` for one to arrive."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._pending), timeout)
            return self._pending[0] if self._pending else None

    def finish(
        self, message: Message, status: str, error: str | None = None, keep: bool = False
    ) -> None:
        """End ``message``; ``keep``: in memory only, the journal still has it queued."""
        with self._cond:
            message.status = status
            message.error = error
            if status == DELIVERED:
                message.delivered_at = utc_now()
            journaled = not keep and (message.id in self._claimed or message in self._pending)
            if keep and message in self._pending:
                self._kept.append(message)
            self._claimed.discard(message.id)
            if message in self._pending:
                self._pending.remove(message)
            if journaled:
                self.journal.finished(
                    {
                        "id": message.id,
                        "status": status,
                        "error": error,
                        "delivered_at": message.delivered_at,
                    }
                )
                self._compact()
            self._finished[message.id] = message
            while len(self._finished) > FINISHED_KEPT:
                self._finished.popitem(last=False)
            self._cond.notify_all()

    def renew(self) -> None:
        """Give every pending message a fresh TTL (they waited through a restart)."""
        with self._cond:
            for message in self._pending:
                message.expires_at = time.time() + self.ttl_s

    def get(self, message_id: str) -> Message | None:
        with self._cond:
            return self._find(message_id)

    def _find(self, message_id: str) -> Message | None:
        for message in self._pending:
            if message.id == message_id:
                return message
        return self._finished.get(message_id)

    def changed(self) -> None:
        """Wake waiters after a message was updated in place (its reply arrived)."""
        with self._cond:
            self._cond.notify_all()

    def wait_reply(self, message_id: str, timeout: float) -> Message | None:
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    (m := self.get(message_id)) is None
                    or m.completed_at is not None
                    or m.status not in (QUEUED, DELIVERED)
                ),
                timeout,
            )
            return self.get(message_id)

    def wait_finished(self, message_id: str, timeout: float) -> Message | None:
        with self._cond:
            self._cond.wait_for(
                lambda: (m := self.get(message_id)) is None or m.status != QUEUED, timeout
            )
            return self.get(message_id)

    def pending(self) -> list[Message]:
        with self._cond:
            return list(self._pending)

    def drop(self, message_id: str | None = None) -> list[Message]:
        """Remove one pending message, or all of them; they end as failed ("dropped"). One
        the deliverer is typing is no longer pending and stays (see :meth:`claim`)."""
        with self._cond:
            dropped = [
                m for m in self._pending if message_id in (None, m.id) and m.id not in self._claimed
            ]
            for message in dropped:
                self.finish(message, FAILED, DROPPED)
        return dropped
