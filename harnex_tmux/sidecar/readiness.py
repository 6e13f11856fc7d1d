"""The session's current readiness state, shared by the sidecar's threads.

Waiters (API long-polls, the delivery loop) block on the condition instead of polling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from harnex_tmux.adapters.base import State


class Readiness:
    def __init__(self, on_change: Callable[[State, State], None] | None = None) -> None:
        self._cond = threading.Condition()
        self._state = State.UNKNOWN
        self._on_change = on_change

    @property
    def state(self) -> State:
        with self._cond:
            return self._state

    def set(self, state: State) -> bool:
        with self._cond:
            previous = self._state
            if previous == state or previous == State.EXITED:
                return False
            self._state = state
            self._cond.notify_all()
        if self._on_change is not None:
            self._on_change(previous, state)
        return True

    def wait_for(self, predicate: Callable[[State], bool], timeout: float | None) -> State:
        """Block until ``predicate(state)`` holds, the session exits, or ``timeout`` passes."""
        with self._cond:
            self._cond.wait_for(
                lambda: predicate(self._state) or self._state == State.EXITED, timeout
            )
            return self._state
