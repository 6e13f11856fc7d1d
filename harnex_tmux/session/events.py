"""Reading a session's events log: find it, read it, follow it until the session exits.

The log outlives the session (the registry record goes, ``events/<key>.jsonl`` stays), so a
script can read what happened after the fact. Following is driven by file-system
notifications (watchfiles), with a slow safety-net wake-up that also notices a session which
ended without writing ``exited``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harnex_tmux.errors import EventsUnreadable, SessionNotFound, UsageError
from harnex_tmux.state import SessionPaths, normalize_id, repo_root_for

# With no notification at all, look again this often (a missed notification, a session that
# ended without writing ``exited``).
SAFETY_NET_MS = 2000


@dataclass(frozen=True)
class Event:
    """One line of the log: ``raw`` exactly as stored, ``data`` parsed."""

    raw: str
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))


@dataclass(frozen=True)
class EventSource:
    """Where a session's events are, and how to tell whether more can come."""

    id: str
    path: Path
    registry: Path
    live: bool


def locate(ident: str | None, repo: str | None = None, cli: str | None = None) -> EventSource:
    """The events log of the session the arguments name, live or ended."""
    from harnex_tmux.session.find import find_ended, find_session

    try:
        record = find_session(ident, repo, cli, any_repo=True)
        paths = record.paths
        return EventSource(record.id, paths.events_log, paths.registry, live=True)
    except SessionNotFound:
        if ident is None:
            raise
    ended = find_ended(ident, repo, any_repo=True)
    if ended is not None and (cli is None or cli in _clis(ended.exit.extra)):
        paths = ended.paths
        return EventSource(ended.exit.id, paths.events_log, paths.registry, live=False)
    if cli is None:
        # The exit record may be gone (cleaned up) while the log is still there.
        paths = SessionPaths.for_session(repo_root_for(repo), normalize_id(ident))
        if paths.events_log.exists():
            return EventSource(normalize_id(ident), paths.events_log, paths.registry, False)
    raise SessionNotFound(f"no session {ident!r} in {repo_root_for(repo)}")


def _clis(extra: dict[str, Any]) -> set[str]:
    return {str(extra.get("cli")), str(extra.get("adapter"))}


def parse_timestamp(text: str) -> datetime:
    """An ISO-8601 time; without a UTC offset it is taken as UTC, like the log's own ``ts``."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_since(text: str) -> datetime:
    """``--from TS``, or a usage error that shows the expected form."""
    try:
        return parse_timestamp(text)
    except ValueError:
        raise UsageError(
            f"--from {text!r} is not an ISO-8601 time (e.g. 2025-01-31T09:30:00Z)"
        ) from None


class EventReader:
    """Reads complete lines from where it left off; a line still being written waits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.line_no = 0
        self._partial = b""

    def read_new(self) -> Iterator[Event]:
        """The events completed since the last call, parsed one by one (so the good lines
        before a bad one still come out before the error)."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise EventsUnreadable(
                f"cannot read events file {self.path}: {exc.strerror or exc}"
            ) from None
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self.line_no += 1
            if line.strip():
                yield self._parse(line)

    def _parse(self, line: bytes) -> Event:
        try:
            raw = line.decode("utf-8").rstrip("\r")
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict):
            raise EventsUnreadable(
                f"events file {self.path}: line {self.line_no} is not a JSON event"
            )
        return Event(raw, data)

    def time_of(self, event: Event) -> datetime:
        ts = event.data.get("ts")
        if isinstance(ts, str):
            try:
                return parse_timestamp(ts)
            except ValueError:
                pass
        raise EventsUnreadable(
            f"events file {self.path}: line {self.line_no} has no valid ts ({ts!r})"
        )


def read_events(
    source: EventSource, since: datetime | None = None, follow: bool = True
) -> Iterator[Event]:
    """The session's events (those at or after ``since``). With ``follow`` and a live
    session, then the new ones as they come, up to and including ``exited``."""
    if source.path.is_dir():
        raise EventsUnreadable(f"cannot read events file {source.path}: it is a folder")
    if not source.live and not source.path.exists():
        raise EventsUnreadable(f"no events file at {source.path}")
    reader = EventReader(source.path)
    done = False

    def batch() -> Iterator[Event]:
        nonlocal done
        for event in reader.read_new():
            if since is None or reader.time_of(event) >= since:
                yield event
            if event.type == "exited":
                done = True
                return

    yield from batch()
    if done or not follow or not source.live:
        return
    for _ in _changes(source):
        yield from batch()
        if done:
            return


def _changes(source: EventSource) -> Iterator[object]:
    """Wake-ups while following: the log changed, or the safety net fired. Ends once the
    session's registry record has gone (its sidecar writes ``exited`` before removing it,
    so a last read after this catches that)."""
    import watchfiles

    def ours(change: Any, path: str) -> bool:
        return Path(path) == source.path

    for changes in watchfiles.watch(
        source.path.parent,
        watch_filter=ours,
        recursive=False,
        debounce=100,
        rust_timeout=SAFETY_NET_MS,
        yield_on_timeout=True,
    ):
        yield changes
        if not changes and not source.registry.exists():
            return
