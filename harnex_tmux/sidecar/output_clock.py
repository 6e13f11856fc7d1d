"""Counts pane output bursts so delivery can tell "the agent reacted" from "nothing happened"."""

from __future__ import annotations

import threading
import time


class OutputClock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._count = 0
        self._last = time.monotonic()

    def tick(self) -> None:
        with self._cond:
            self._count += 1
            self._last = time.monotonic()
            self._cond.notify_all()

    @property
    def count(self) -> int:
        with self._cond:
            return self._count

    @property
    def quiet_for(self) -> float:
        with self._cond:
            return time.monotonic() - self._last

    def wait_after(self, count: int, timeout: float) -> bool:
        """True once output arrived after ``count`` was read, False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count != count, timeout)

    def wait_quiet(self, quiet_s: float, max_s: float) -> None:
        """Return once output has been quiet for ``quiet_s``, or after ``max_s`` at most."""
        deadline = time.monotonic() + max_s
        with self._cond:
            while True:
                now = time.monotonic()
                quiet = now - self._last
                if quiet >= quiet_s or now >= deadline:
                    return
                self._cond.wait(min(quiet_s - quiet, deadline - now))
