"""The session's registry record while the sidecar runs: the one place that changes and saves
it, under one lock, so threads that note facts never write over each other's."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import State
from harnex_tmux.state import ExitRecord, SessionRecord, utc_now


class RecordKeeper:
    """Keeps ``record`` saved at ``path`` (the registry) as long as that file exists: once
    the session has ended and the file is gone, nothing writes it back. ``output_log`` is the
    pane's transcript, whose activity the status reports."""

    def __init__(self, record: SessionRecord, path: Path, output_log: Path) -> None:
        self.record = record
        self.path = path
        self.output_log = output_log
        self.exit_record: ExitRecord | None = None
        self._lock = threading.Lock()

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

    def _save(self) -> None:
        if self.path.exists():
            self.record.save(self.path)

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
