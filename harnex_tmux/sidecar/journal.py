"""The inbox's journal: an append-only file of small JSON records, one a line.

A message is written once, whole, when it is queued; after that each step costs a few
bytes: ``claimed`` (about to be typed: written, and synced, before any key) and ``finished``
(how it ended). Nothing is ever rewritten in place, so a full disk cannot leave a delivered
message marked queued, and a restart never types twice what the journal says was claimed.

Room for those small records is kept aside: a reserve file beside the journal, given up
only when a status record finds the disk full. New messages are refused while the reserve
cannot be kept, so a disk that fills up refuses work before it can lose track of it.

A write that fails part-way is cut back to where it began, and a line that does not parse
(a tail torn by a crash) is skipped on reading. Compaction (the pending messages written to
a new file, renamed over the old) saves room, and only runs when there is room for it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harnex_tmux.errors import StateDirFull
from harnex_tmux.state import append_line, ensure_dir, write_private

# Room kept for status records: about a hundred messages' claims and outcomes.
RESERVE_BYTES = 16 * 1024
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)
# Free space that counts as room again after the disk was full (a message or two).
ROOM_BYTES = 64 * 1024

QUEUED_OP = "queued"
CLAIMED_OP = "claimed"
RELEASED_OP = "released"
FINISHED_OP = "finished"


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def no_room_message(path: Path, exc: OSError) -> str:
    """The one-line reason a write under the state directory failed."""
    folder = path.parent.parent
    if exc.errno in _NO_ROOM:
        return f"the state directory is full: {folder}"
    return f"the state directory is not writable: {folder} ({exc.strerror or exc})"


class Journal:
    """Appends records to ``path``, keeps the reserve, and reads the records back."""

    def __init__(self, path: Path, reserve_bytes: int = RESERVE_BYTES) -> None:
        self.path = path
        self.reserve = path.with_name(f".{path.name}.reserve")
        self.reserve_bytes = reserve_bytes
        # Outcome records that could not be written yet: written first with the next record.
        self._backlog: list[bytes] = []
        # Why the last write failed (a one-line message), None once writes succeed again.
        self.problem: str | None = None
        self.records = 0

    # --- reading ------------------------------------------------------------------------------

    def read(self) -> list[dict[str, Any]]:
        """The journal's records in order; torn or damaged lines are skipped."""
        records = list(self._parse())
        self.records = len(records)
        return records

    def _parse(self) -> Iterator[dict[str, Any]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        for raw in data.split(b"\n"):
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue  # empty, or torn by a crash mid-write
            if isinstance(record, dict):
                yield record

    # --- writing ------------------------------------------------------------------------------

    def queued(self, record: dict[str, Any]) -> None:
        """Write a new message; StateDirFull when the disk has no room for it and its
        reserve (the message is then refused, and nothing of it is kept)."""
        ensure = self._keep_reserve()
        if ensure is not None:
            self.problem = no_room_message(self.path, ensure)
            raise StateDirFull(self.problem)
        self._write(_line({"op": QUEUED_OP, **record}), may_use_reserve=False)

    def claimed(self, message_id: str) -> None:
        """Write that ``message_id`` is about to be typed; StateDirFull when even that
        cannot be written (then it must not be typed)."""
        self._write(_line({"op": CLAIMED_OP, "id": message_id}), may_use_reserve=True)

    def released(self, message_id: str) -> None:
        """Write that ``message_id`` was claimed but not typed after all (its pane went
        away first): queued again. Never raises; see :meth:`finished`."""
        self.finished_like(_line({"op": RELEASED_OP, "id": message_id}))

    def finished(self, record: dict[str, Any]) -> None:
        """Write how a message ended. Never raises: a record that finds no room is kept and
        written before the next one (until then a restart reports the message unconfirmed,
        which is what it is on disk)."""
        self.finished_like(_line({"op": FINISHED_OP, **record}))

    def finished_like(self, line: bytes) -> None:
        try:
            self._write(line, may_use_reserve=True)
        except StateDirFull:
            self._backlog.append(line)

    def retry(self) -> str | None:
        """Write what is waiting and take the reserve back if there is room now; the
        problem that remains, or None."""
        if self._keep_reserve() is None and self._backlog:
            with contextlib.suppress(StateDirFull):
                self._write(b"", may_use_reserve=False)
        if self._backlog or not self.reserve.exists() or self._free() < ROOM_BYTES:
            return self.problem or f"the state directory is full: {self.path.parent.parent}"
        self.problem = None
        return None

    def _free(self) -> int:
        try:
            info = os.statvfs(self.path.parent)
        except OSError:
            return 0
        return info.f_bavail * info.f_frsize

    def _write(self, line: bytes, *, may_use_reserve: bool) -> None:
        data = b"".join(self._backlog) + line
        try:
            self._append(data)
        except OSError as exc:
            if not (may_use_reserve and exc.errno in _NO_ROOM and self.give_up_reserve()):
                self.problem = no_room_message(self.path, exc)
                raise StateDirFull(self.problem) from exc
            try:
                self._append(data)
            except OSError as again:
                self.problem = no_room_message(self.path, again)
                raise StateDirFull(self.problem) from again
        self.records += len(self._backlog) + (1 if line else 0)
        self._backlog.clear()
        if not may_use_reserve:
            self.problem = None

    def _append(self, data: bytes) -> None:
        ensure_dir(self.path.parent)
        append_line(self.path, data, sync=True)

    # --- the reserve ----------------------------------------------------------------------

    def _keep_reserve(self) -> OSError | None:
        """Make sure the reserve is there; the error when there is no room for it."""
        try:
            if self.reserve.stat().st_size >= self.reserve_bytes:
                return None
        except FileNotFoundError:
            pass
        try:
            ensure_dir(self.path.parent)
            fd = os.open(self.reserve, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            return exc
        try:
            try:
                os.posix_fallocate(fd, 0, self.reserve_bytes)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                os.pwrite(fd, b"\0" * self.reserve_bytes, 0)  # no fallocate there: zeros
        except OSError as exc:
            os.close(fd)
            self.reserve.unlink(missing_ok=True)
            return exc
        os.close(fd)
        return None

    def give_up_reserve(self) -> bool:
        """Free the reserve's room for status records; False when it was gone already."""
        try:
            self.reserve.unlink()
        except FileNotFoundError:
            return False
        return True

    # --- compaction -------------------------------------------------------------------------

    def compact(self, records: list[dict[str, Any]]) -> bool:
        """Replace the journal with ``records`` (what is still pending), through a new file
        renamed over it; False, and the journal as it was, when there is no room."""
        if self._backlog:
            return False
        try:
            write_private(self.path, "".join(_line(r).decode() for r in records))
        except OSError:
            return False
        self.records = len(records)
        return True

    def remove(self) -> None:
        """The session is over for good: its reserve goes (the journal stays, as before)."""
        self.reserve.unlink(missing_ok=True)
