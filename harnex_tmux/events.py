"""The per-session JSONL event log.

Every line is one JSON object with the envelope ``schema_version, seq, ts, id, type`` and then
the event's payload. Only the sidecar writes it; ``seq`` continues across a sidecar restart by
reading the last line back.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from harnex_tmux.state import append_line, ensure_dir, utc_now

SCHEMA_VERSION = 1
PREVIEW_CHARS = 200


def preview(text: str, limit: int = PREVIEW_CHARS) -> tuple[str, bool]:
    """The first ``limit`` characters, with ``…`` appended when cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + "…", True


def last_seq(path: Path) -> int:
    """The ``seq`` of the last complete line, 0 for a missing or empty log."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65536))
            tail = handle.read()
    except OSError:  # missing, or unreadable: emit() reports the problem when it writes
        return 0
    for line in reversed(tail.splitlines()):
        try:
            seq = json.loads(line).get("seq")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            continue
        if isinstance(seq, int):
            return seq
    return 0


class EventLog:
    """Appends events for one session; safe to call from several sidecar threads."""

    def __init__(self, path: Path, session_id: str) -> None:
        self.path = path
        self.session_id = session_id
        self._lock = threading.Lock()
        self._write_failed = False
        ensure_dir(path.parent)
        self._seq = last_seq(path)

    def emit(self, event_type: str, **payload: Any) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            event: dict[str, Any] = {
                "schema_version": SCHEMA_VERSION,
                "seq": self._seq,
                "ts": utc_now(),
                "id": self.session_id,
                "type": event_type,
            }
            # The envelope is the contract: a payload field never overwrites it.
            event.update((k, v) for k, v in payload.items() if k not in event)
            line = (json.dumps(event, ensure_ascii=False) + "\n").encode()
            try:
                self._append(line)
            except OSError as exc:
                # A full disk must not take the session down with it: say so once, go on.
                if not self._write_failed:
                    self._write_failed = True
                    with contextlib.suppress(OSError):
                        print(
                            f"harnex: cannot write events log {self.path}: {exc}", file=sys.stderr
                        )
            return event

    def _append(self, line: bytes) -> None:
        append_line(self.path, line)


def start_new_log(path: Path) -> None:
    """Give a new session that reuses an id a log of its own, so its ``seq`` starts at 1 and
    ``harnex events`` shows this run only; the previous run's log stays as ``*.prev.jsonl``.
    (A restarted sidecar of the same session keeps appending instead; see :class:`EventLog`.)
    """
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, path.with_name(f"{path.stem}.prev.jsonl"))
