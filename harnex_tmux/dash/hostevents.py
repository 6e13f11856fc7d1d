"""A remote row's last events and last reply, read from its host for the side panel.

Local rows get theirs from the events log the state-folder watcher follows; a session on
another host has no log here, so the selected remote row's events are asked of its host
(``harnex events --snapshot`` there, through :mod:`.source`) on the app's worker thread when
the row is selected and again with each host refresh. Each session's trail is kept, so every
ask after the first is for the events at or after the newest one already seen. The last
reply is what local rows show: the reply of the newest ``turn_complete`` event.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from harnex_tmux.dash import source
from harnex_tmux.dash.fleet import EVENTS_KEPT
from harnex_tmux.errors import HarnexError
from harnex_tmux.state import parse_time


@dataclass
class Trail:
    """What is known of one remote session's events; ``error``: why the last ask failed
    (None once one succeeds again)."""

    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    last_reply: str | None = None
    last_ts: str | None = None
    at_last: set[str] = field(default_factory=set)  # the lines of that second, as stored
    timeless: set[str] = field(default_factory=set)  # lines whose time is damaged or missing
    fetched: bool = False
    error: str | None = None
    # One ask at a time per session: two at once would both take the events in between.
    asking: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Shown:
    """A copy of a trail for the view (the trail itself changes on the worker thread)."""

    events: list[dict[str, Any]]
    last_reply: str | None
    fetched: bool
    error: str | None


class HostEvents:
    """The trails of the remote sessions looked at, by row key (``NAME:id``)."""

    def __init__(self) -> None:
        self._trails: dict[str, Trail] = {}
        self._lock = threading.Lock()

    def shown(self, key: str) -> Shown | None:
        with self._lock:
            trail = self._trails.get(key)
        return None if trail is None else self._copy(trail)

    def fetch(self, key: str, target: str) -> Shown:
        """Ask the host for the events since the newest one seen (blocks on ssh: call it
        from a worker thread). A host that does not answer leaves the trail as it was,
        with its error."""
        with self._lock:
            trail = self._trails.setdefault(key, Trail())
        with trail.asking:
            with self._lock:
                since = trail.last_ts
            try:
                found = source.remote_events(target, since)
            except (HarnexError, OSError) as exc:
                with self._lock:
                    trail.error = str(exc)
                return self._copy(trail)
            with self._lock:
                trail.error = None
                trail.fetched = True
                for event in found:
                    # The ask is "at or after" the newest time seen: the lines of that
                    # second already taken come again.
                    if event.raw not in trail.at_last and event.raw not in trail.timeless:
                        _take(trail, event)
            return self._copy(trail)

    def _copy(self, trail: Trail) -> Shown:
        with self._lock:
            return Shown(list(trail.events), trail.last_reply, trail.fetched, trail.error)


def _take(trail: Trail, event: source.HostEvent) -> None:
    data = event.data
    trail.events.append(data)
    ts = data.get("ts")
    if not isinstance(ts, str) or not _is_time(ts):
        trail.timeless.add(event.raw)  # it may come again with every ask
    elif trail.last_ts is None or ts >= trail.last_ts:
        if ts != trail.last_ts:
            trail.last_ts, trail.at_last = ts, set()
        trail.at_last.add(event.raw)
    if data.get("type") == "turn_complete":
        reply = data.get("reply")
        trail.last_reply = reply if isinstance(reply, str) else trail.last_reply


def _is_time(text: str) -> bool:
    """Whether the next ask can start at ``text`` (a damaged line's time cannot)."""
    try:
        parse_time(text)
    except ValueError:
        return False
    return True
