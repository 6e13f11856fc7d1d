"""The session's registry record while the sidecar runs: the one place that changes and saves
it, under one lock, so threads that note facts never write over each other's."""

from __future__ import annotations

import contextlib
import errno
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import State
from harnex_tmux.state import ExitRecord, SessionRecord, utc_now


class RecordKeeper:
    """Keeps ``record`` saved at ``path`` (the registry) as long as that file exists: once
    the session has ended and the file is gone, nothing writes it back. ``output_log`` is the
    pane's transcript, whose activity the status reports. ``make_room`` frees space kept
    aside for the session's records (the inbox journal's reserve) when the disk is full: the
    registry must name the sidecar that runs, or no client finds it."""

    def __init__(
        self,
        record: SessionRecord,
        path: Path,
        output_log: Path,
        make_room: Callable[[], bool] = lambda: False,
    ) -> None:
        self.record = record
        self.path = path
        self.output_log = output_log
        self._make_room = make_room
        self.exit_record: ExitRecord | None = None
        self._lock = threading.Lock()
        self._unsaved = False

    def remember(self, key: str, value: Any) -> None:
        """Keep a fact in the registry record, where a recovered sidecar will find it."""
        with self._lock:
            self.record.extra[key] = value
            self._save()

    def note_injected(self) -> None:
        """A message was delivered: counted, with when."""
        with self._lock:
            self.record.injected_count += 1
            self.record.last_injected_at = utc_now()
            self._save()

    def remove(self) -> None:
        """The session ended: its registry file goes (and is not written again)."""
        with self._lock:
            self.path.unlink(missing_ok=True)

    def save_now(self) -> None:
        """Save the record, freeing the reserved room if the disk is full; OSError when even
        that does not help (a sidecar that cannot be found must not run)."""
        with self._lock:
            try:
                self.record.save(self.path)
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not self._make_room():
                    raise
                self.record.save(self.path)

    def _save(self) -> None:
        if not self.path.exists():
            return
        try:
            self.record.save(self.path)
        except OSError as exc:
            # The disk is full: the saved record stays the last whole one (it is written to
            # a new file renamed over it), this one is kept in memory and saved next time.
            if not self._unsaved:
                with contextlib.suppress(OSError):  # the log is on that full disk too
                    print(f"harnex: cannot save {self.path}: {exc}", file=sys.stderr, flush=True)
            self._unsaved = True
        else:
            self._unsaved = False

    def status(self, state: State, inbox_size: int) -> dict[str, Any]:
        """The record as ``GET /status`` shows it: without the token, with the state, the
        transcript's activity, the inbox's size and, once the agent ended, its exit."""
        from harnex_tmux.transcript import log_activity

        with self._lock:
            data = self.record.to_dict()
        data.pop("token", None)
        data["state"] = state.value
        # The same types as `harnex status --json` (and 0.4.0): ISO-8601 text, whole seconds.
        data["log_mtime"], data["log_idle_s"] = log_activity(self.output_log)
        data["inbox"] = inbox_size
        if self.exit_record is not None:
            data["exit"] = self.exit_record.to_dict()
        return data
