"""Reading an agent's JSONL file from where the last read stopped.

An agent appends to its transcript while harnex reads it: the last line may be half written,
and a line may be anything a crash left behind. Only whole lines are taken (a partial one is
read again next time), a line that is not a JSON object is counted and skipped, and a file
that got shorter or was replaced is read again from its start (the reader is told, to forget
what it counted from the old one).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

# At most this much is read per call, so a huge file is taken in steps and never all at once.
CHUNK = 4 * 1024 * 1024


@dataclass
class JsonlTail:
    """The read position in one JSONL file (``offset`` bytes, of the file ``identity``)."""

    path: str
    offset: int = 0
    identity: tuple[int, int] | None = None
    bad_lines: int = 0
    missing: bool = False

    def read(self) -> tuple[bool, list[dict[str, Any]]]:
        """``(restarted, objects)``: the JSON objects of the whole lines added since the last
        call; ``restarted`` when the file was replaced or cut, so they come from its start."""
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below, one stat only
        except OSError:
            self.missing = True
            return False, []
        with handle:
            self.missing = False
            try:
                stat = os.fstat(handle.fileno())
            except OSError:
                return False, []
            identity = (stat.st_dev, stat.st_ino)
            restarted = False
            if identity != self.identity or stat.st_size < self.offset:
                restarted = self.identity is not None
                self.identity, self.offset, self.bad_lines = identity, 0, 0
            if stat.st_size == self.offset:
                return restarted, []
            handle.seek(self.offset)
            data = handle.read(CHUNK)
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) == CHUNK:  # one line longer than a read: skipped, never stuck on
                self.offset += len(data)
                self.bad_lines += 1
            return restarted, []
        self.offset += end + 1
        return restarted, self._parse(data[: end + 1])

    def _parse(self, data: bytes) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
                self.bad_lines += 1
                continue
            if isinstance(value, dict):
                objects.append(value)
            else:
                self.bad_lines += 1
        return objects
