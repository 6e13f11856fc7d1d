"""The session's usage, as the sidecar keeps it: it learns where the agent writes its usage
from the agent's own reports, keeps that in the session's record (for a recovered sidecar and
for ``harnex usage`` after the session ended), serves the running total, and adds a ``usage``
event with each finished turn's share once the agent has written it down."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from harnex_tmux.adapters.base import HookReport
from harnex_tmux.usage.prices import load
from harnex_tmux.usage.session import Report, SessionUsage
from harnex_tmux.usage.sources import RECORD_KEY, from_hook, from_record
from harnex_tmux.usage.turns import TurnShares, when

# After a turn's end, the agent's file is read every SETTLE_POLL_S until it holds that turn's
# calls and has not grown for SETTLE_QUIET_S, for at most SETTLE_MAX_S (then the event
# says what was there). Agents write their files after they report the turn's end: Qwen Code
# 0.24.4 writes a turn's last answer up to about half a second after its Stop hook.
SETTLE_POLL_S = 0.2
SETTLE_QUIET_S = 1.0
SETTLE_MAX_S = 10.0
# When the agent has exited its files are final: the turns still untold are told at once,
# and the session's end waits at most this long for them (``exited`` is its last event).
FINISH_WAIT_S = 3.0


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
        self._usage = SessionUsage(load, from_record(facts))
        self._emit = emit
        self._remember = remember
        self._turn_number = turn_number
        self._env = env
        self._lock = threading.Lock()
        self._told = threading.Condition(self._lock)  # `_untold` went down
        self._final = threading.Event()  # the agent exited: stop waiting for its files
        self._closed = False  # the session ended: no event may follow `exited`
        self._shares = TurnShares()
        # Ended turns to tell, in order; None asks for a first read of a new source, so its
        # whole file is read here and not in whichever status call comes next.
        self._ended: queue.Queue[tuple[int, datetime, str | None] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        # Ended turns whose usage event is not told yet (see :attr:`settling`).
        self._untold = 0
        if self._usage.sources:  # a recovered sidecar: the turns so far were told already
            self._shares.take(self._usage.read().calls, datetime.now(UTC))

    @property
    def settling(self) -> bool:
        """Whether a turn ended whose usage the agent may still be writing down (its event
        is not told yet): a nearly spent budget waits for it before the next message."""
        return self._untold > 0

    def report(self) -> Report:
        with self._lock:
            return self._usage.read()

    def noticed(
        self, source: str, event: str, payload: Mapping[str, Any], report: HookReport | None
    ) -> None:
        """An event the agent reported: it may name a usage source, or end a turn."""
        found = from_hook(source, event, payload, self._env)
        ended = report is not None and report.kind == "turn"
        with self._lock:
            if self._closed:
                return
            added = found is not None and self._usage.add(found)
            if added:
                self._remember(RECORD_KEY, [s.to_dict() for s in self._usage.sources])
            if not (added or ended):
                return
            if self._worker is None:
                self._worker = threading.Thread(target=self._tell, name="usage", daemon=True)
                self._worker.start()
        if added:
            self._ended.put(None)
        if ended:
            # Codex names the turn that ended (its rollout's turn_id): exact, however late its
            # notify program reports it.
            turn = payload.get("turn-id") if source == "codex" else None
            cli_turn = turn if isinstance(turn, str) and turn else None
            with self._lock:
                self._untold += 1
                # Read before the turn's end is taken: a file without times (Aider's) stamps
                # a turn by when it was first seen, which must be before this end.
                self._usage.read()
            self._ended.put((self._turn_number(), datetime.now(UTC), cli_turn))

    def _tell(self) -> None:
        """Adds the ``usage`` event of each ended turn, in order, once it is written down:
        some untold calls of turns that began by its end are there (the CLI's named turn,
        when it names one) and the files have been quiet for a while."""
        while True:
            job = self._ended.get()
            if job is None:
                with self._lock:
                    self._usage.read()
                continue
            number, ended, cli_turn = job
            deadline = time.monotonic() + SETTLE_MAX_S
            seen, quiet_since = -1, time.monotonic()
            while time.monotonic() < deadline and not self._final.is_set():
                with self._lock:
                    calls = self._usage.read().calls
                tokens = sum(call.tokens for call in calls)
                if tokens != seen:
                    seen, quiet_since = tokens, time.monotonic()
                if cli_turn is not None:
                    named = [when(c.turn_at or c.at) for c in calls if c.turn == cli_turn]
                    began = [t for t in named if t is not None]
                    ended = min(began) if began else ended
                    ready = bool(named)
                else:
                    ready = self._shares.due(calls, ended) is not None
                if ready and time.monotonic() - quiet_since >= SETTLE_QUIET_S:
                    break
                time.sleep(SETTLE_POLL_S)
            with self._lock:
                report = self._usage.read()
                share = self._shares.take(report.calls, ended)
                # Under the lock: :meth:`finish` closes the desk under it too.
                if share is not None and not self._closed:
                    share_data = share.to_dict()
                    self._emit("usage", turn=number, **share_data, total=report.total.to_dict())
                self._untold -= 1
                self._told.notify_all()

    def finish(self, within: float = FINISH_WAIT_S) -> None:
        """The agent exited: tell the turns still untold from its final files (waiting at
        most ``within`` seconds), then close, so no ``usage`` event follows ``exited``."""
        self._final.set()
        with self._lock:
            self._told.wait_for(lambda: self._untold <= 0, timeout=within)
            self._closed = True
