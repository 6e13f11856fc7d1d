"""The session's usage, as the sidecar keeps it: it learns where the agent writes its usage
from the agent's own reports, keeps that in the session's record (for a recovered sidecar and
for ``harnex usage`` after the session ended), serves the running total, and adds a ``usage``
event with each finished turn's share."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from harnex_tmux.adapters.base import HookReport
from harnex_tmux.usage.model import Usage
from harnex_tmux.usage.prices import load
from harnex_tmux.usage.session import Report, SessionUsage
from harnex_tmux.usage.sources import RECORD_KEY, from_hook, from_record


class UsageDesk:
    """One session's usage while its sidecar runs (every method is thread-safe)."""

    def __init__(
        self,
        facts: Mapping[str, Any],
        *,
        emit: Callable[..., object],
        remember: Callable[[str, Any], None],
        turn_number: Callable[[], int],
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self._usage = SessionUsage(load(), from_record(facts))
        self._emit = emit
        self._remember = remember
        self._turn_number = turn_number
        self._env = env
        self._lock = threading.Lock()
        # What was counted before the current turn: a recovered sidecar starts from the total.
        self._before: Usage = self._usage.read().total if self._usage.sources else Usage()

    def report(self) -> Report:
        with self._lock:
            return self._usage.read()

    def noticed(
        self, source: str, event: str, payload: Mapping[str, Any], report: HookReport | None
    ) -> None:
        """An event the agent reported: it may name a usage source, or end a turn."""
        found = from_hook(source, event, payload, self._env)
        with self._lock:
            if found is not None and self._usage.add(found):
                self._remember(RECORD_KEY, [s.to_dict() for s in self._usage.sources])
            if report is None or report.kind != "turn":
                return
            now = self._usage.read().total
            share, self._before = now.minus(self._before), now
        if share.tokens > 0:
            self._emit("usage", turn=self._turn_number(), **share.to_dict(), total=now.to_dict())
