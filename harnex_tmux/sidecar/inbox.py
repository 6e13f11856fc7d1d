"""The session's message queue: FIFO, bounded, expiring, and persisted on every change.

Only pending messages are persisted (``inbox/<key>.jsonl``, rewritten atomically), so a
sidecar that is killed and restarted delivers what was still waiting, in the same order.
Finished messages are kept in memory for ``GET /messages/<id>``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.errors import InboxFull, MessageIdTaken
from harnex_tmux.messages import without_relay
from harnex_tmux.state import utc_now, write_private
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
        self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                self._pending.append(Message.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue

    def _persist(self) -> None:
        write_private(
            self.path,
            "".join(
                json.dumps(dataclasses.asdict(m), ensure_ascii=False) + "\n" for m in self._pending
            ),
        )

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
            self._pending.append(message)
            self._persist()
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
        withdrawn or typed, never both."""
        with self._cond:
            if message.status != QUEUED or message.id in self._claimed:
                return False
            self._claimed.add(message.id)
            return True

    def head(self, timeout: float | None = None) -> Message | None:
        """The oldest pending message, waiting up to ``timeout`` for one to arrive."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._pending), timeout)
            return self._pending[0] if self._pending else None

    def finish(self, message: Message, status: str, error: str | None = None) -> None:
        with self._cond:
            message.status = status
            message.error = error
            if status == DELIVERED:
                message.delivered_at = utc_now()
            self._claimed.discard(message.id)
            if message in self._pending:
                self._pending.remove(message)
                self._persist()
            self._finished[message.id] = message
            while len(self._finished) > FINISHED_KEPT:
                self._finished.popitem(last=False)
            self._cond.notify_all()

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
