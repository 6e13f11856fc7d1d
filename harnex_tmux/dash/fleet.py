"""The dashboard's picture of every session, kept up to date from the state folder.

One thread owns a :class:`Fleet`: it loads the registry once, then reads only what changed
(a registry record, the new lines of an events log, an inbox, an exit record) as the folder
watcher reports it. Sidecars are asked over HTTP when a session appears and when a message
failed (was it ``unconfirmed``?), never on a timer; a sidecar's death is seen from its pid.
No Textual here: the tests drive it directly.

Loading comes in two steps so the list shows at once: :meth:`Fleet.load` reads only files
(the registry, the ends of the events logs, the sidecars' pids), :meth:`Fleet.ask_sidecars`
then asks every sidecar and runs git for the worktree cells, a bounded number at a time.
``harnex dash`` starts the first on a thread before it imports Textual
(:meth:`Fleet.start_loading`), so it overlaps the imports instead of following them; the
app asks the sidecars once its first frame is out.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.dash import hostrows, source
from harnex_tmux.dash.model import (
    EXITED,
    SIDECAR_DOWN,
    STALE,
    UNKNOWN,
    UNRESPONSIVE,
    FleetRow,
    UsageCells,
    WorktreeCells,
    problem_of,
)
from harnex_tmux.state import ExitRecord, SessionRecord, epoch_of

EVENTS_KEPT = 12
ENDED_SHOWN = 10
# Sidecars asked at once while loading: enough that 50 answer in a few rounds, few enough
# that a fleet of hung ones (each up to the status timeout) does not start a thread apiece.
ASKED_AT_ONCE = 16
# An events log is read from its end: enough for the last state, reply and events.
TAIL_BYTES = 64 * 1024


@dataclass
class Tracked:
    """What the dashboard knows about one session (live or ended)."""

    key: str
    id: str
    cli: str
    repo_root: str
    description: str = ""
    record: SessionRecord | None = None  # None once the session has ended
    state: str = UNKNOWN
    since: float | None = None
    queued: int = 0
    unconfirmed: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)  # failed messages already looked up
    unchecked: list[str] = field(default_factory=list)  # failed messages to look up
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    events_offset: int = 0
    last_reply: str | None = None
    worktree: WorktreeCells | None = None
    problem: str | None = None
    usage: UsageCells | None = None

    def row(self) -> FleetRow:
        return FleetRow(
            key=self.key,
            id=self.id,
            cli=self.cli,
            state=self.state,
            since=self.since,
            description=self.description,
            repo_root=self.repo_root,
            queued=self.queued,
            unconfirmed=len(self.unconfirmed),
            worktree=self.worktree,
            problem=self.problem,
            usage=self.usage,
        )


@dataclass(frozen=True)
class Detail:
    """The side panel's data for the selected session (the pane is read separately)."""

    row: FleetRow
    events: list[dict[str, Any]]
    last_reply: str | None
    record: SessionRecord | None

    @property
    def remote(self) -> bool:
        return self.row.host is not None

    @property
    def live(self) -> bool:
        """Whether keys can act on it: a local session with its record, a remote one its
        host answered for (not one shown as last seen)."""
        if self.remote:
            return self.row.state not in (EXITED, STALE)
        return self.record is not None


@dataclass
class _Ahead:
    """A load started before anyone asked for it (:meth:`Fleet.start_loading`)."""

    thread: threading.Thread
    error: Exception | None = None


class Fleet:
    def __init__(self, repo_root: str | None) -> None:
        self.repo_root = repo_root
        self.sessions: dict[str, Tracked] = {}
        self._lock = threading.Lock()
        self.errors: list[str] = []  # state files that could not be read, for the status bar
        # Other hosts' sessions by key (NAME:id), replaced whole by each fetch.
        self.remote: dict[str, FleetRow] = {}
        self.hosts: list[str] = source.host_names()
        self.hosts_down: dict[str, str] = {}  # host name -> why it gave no answer
        self._ahead: _Ahead | None = None

    # --- loading ----------------------------------------------------------------------------

    def start_loading(self) -> None:
        """Run :meth:`load` on a thread of its own, from now: ``harnex dash`` calls this
        before it imports Textual, so the files are read while the imports run. The later
        call of :meth:`load` waits for this thread (an error it met is raised there)."""
        ahead = _Ahead(threading.Thread(target=self._load_ahead, name="dash-load", daemon=True))
        self._ahead = ahead
        ahead.thread.start()

    def _load_ahead(self) -> None:
        assert self._ahead is not None
        try:
            self._read_folder()
        except Exception as exc:  # raised to whoever calls load()
            self._ahead.error = exc

    @property
    def ready(self) -> bool:
        """Whether :meth:`start_loading`'s thread has read the state folder without an
        error: the list can be shown without waiting."""
        ahead = self._ahead
        return ahead is not None and not ahead.thread.is_alive() and ahead.error is None

    def load(self) -> None:
        """Every live session and the newest ended ones, as the state folder has them: the
        registry records, the ends of the events logs (state, usage, last reply) and a
        look at each sidecar's pid. Neither HTTP nor git (:meth:`ask_sidecars` adds what
        only the sidecars know), so the list can be shown at once."""
        ahead = self._ahead
        if ahead is None:
            self._read_folder()
            return
        ahead.thread.join()
        if ahead.error is not None:
            raise ahead.error

    def _read_folder(self) -> None:
        records = source.live_records(self.repo_root)
        for key, ended in source.ended_records(self.repo_root, ENDED_SHOWN):
            self._ended(key, ended, from_file=True)
        for record in records:
            tracked = self._from_files(record)
            with self._lock:
                self.sessions[record.key] = tracked

    def ask_sidecars(self) -> bool:
        """Ask every live session's sidecar for its state, queued messages and usage, and
        git for its worktree's cells, :data:`ASKED_AT_ONCE` at a time; True when anything
        shown changed."""
        from concurrent.futures import ThreadPoolExecutor

        with self._lock:
            live = [t for t in self.sessions.values() if t.record is not None]
        if not live:
            return False
        before = [t.row() for t in live]
        with ThreadPoolExecutor(min(ASKED_AT_ONCE, len(live)), "dash-ask") as pool:
            for _ in pool.map(self._ask, live):
                pass  # an error is raised here
        return any(t.row() != row for t, row in zip(live, before, strict=True))

    def _add_live(self, record: SessionRecord) -> None:
        """A session that appeared (or started again) since the load: shown once asked."""
        tracked = self._from_files(record)
        self._ask(tracked)
        with self._lock:
            self.sessions[record.key] = tracked

    def _from_files(self, record: SessionRecord) -> Tracked:
        tracked = Tracked(
            record.key, record.id, record.cli, record.repo_root, record.description or ""
        )
        tracked.record = record
        self._read_events(tracked)
        if not source.sidecar_alive(record):  # what asking it would find, without asking
            tracked.state, tracked.since = SIDECAR_DOWN, time.time()
            tracked.problem = problem_of(SIDECAR_DOWN)
        return tracked

    def _ask(self, tracked: Tracked) -> None:
        """What the sidecar says of the session (it knows better than the events log), the
        failed messages the log named still to look up, and the worktree's cells."""
        record = tracked.record
        if record is None:
            return
        live = source.live_state(record)
        worktree = source.worktree_cells(record)
        with self._lock:
            if live.state != tracked.state:
                tracked.state, tracked.since = live.state, time.time()
            tracked.queued = live.queued
            tracked.usage = live.usage or tracked.usage
            tracked.problem = problem_of(live.state)
            tracked.worktree = worktree
        self._check_failed(tracked)

    def _ended(self, key: str, ended: ExitRecord, from_file: bool = False) -> None:
        with self._lock:
            tracked = self.sessions.get(key)
        if tracked is None:
            extra = ended.extra
            tracked = Tracked(
                key,
                ended.id,
                str(extra.get("cli") or "-"),
                str(extra.get("repo_root") or ""),
            )
            if from_file:
                tracked.description = source.launch_description(key)
                self._read_events(tracked)
        tracked.record = None
        tracked.state = EXITED
        tracked.since = epoch_of(ended.ended_at) or tracked.since
        tracked.queued = 0
        tracked.problem = None
        with self._lock:
            self.sessions[key] = tracked

    # --- changes ----------------------------------------------------------------------------

    def apply(self, changed: Iterable[str]) -> bool:
        """Take in the files the watcher saw change; True when anything shown changed."""
        touched = False
        for raw in sorted(set(changed)):
            path = Path(raw)
            name = path.name
            if name.startswith(".") or path.parent.name not in source.WATCHED:
                continue  # a temporary file of an atomic write
            folder = path.parent.name
            key = name.split(".", 1)[0]
            if folder == "sessions" and name.endswith(".json"):
                touched |= self._registry_changed(key, path)
            elif folder == "events" and name.endswith(".jsonl") and ".prev." not in name:
                touched |= self._events_changed(key)
            elif folder == "inbox" and name.endswith(".jsonl"):
                touched |= self._inbox_changed(key, path)
            elif folder == "exits" and name.endswith(".json"):
                ended = source.exit_at(path)
                if ended is not None and self._ours(key):
                    self._ended(key, ended)
                    touched = True
        return touched

    def _ours(self, key: str) -> bool:
        if self.repo_root is None:
            return True
        from harnex_tmux.state import repo_hash

        return key.startswith(repo_hash(self.repo_root) + "--")

    def _registry_changed(self, key: str, path: Path) -> bool:
        record = source.record_at(path)
        with self._lock:
            tracked = self.sessions.get(key)
        if record is None:
            if path.exists():
                if tracked is not None:
                    tracked.problem = f"its registry file {path.name} cannot be read"
                    return True
                return False
            # Gone: the session ended (its exit record says how) or was cleaned up.
            if tracked is not None and tracked.record is not None:
                ended = source.exit_at(source.paths_of(key).exit_record)
                if ended is not None:
                    self._ended(key, ended)
                else:
                    tracked.record, tracked.state, tracked.problem = None, EXITED, None
                return True
            return False
        if self.repo_root is not None and record.repo_root != self.repo_root:
            return False
        if tracked is None or tracked.record is None or tracked.state == EXITED:
            self._add_live(record)  # new, or the id started again
            return True
        restarted = record.sidecar_pid != tracked.record.sidecar_pid
        tracked.record = record
        tracked.description = record.description or ""
        if restarted:  # recovered: ask the new sidecar
            live = source.live_state(record)
            tracked.state, tracked.queued = live.state, live.queued
            tracked.usage = live.usage or tracked.usage
            tracked.since = time.time()
            tracked.problem = problem_of(tracked.state)
        return True

    def _events_changed(self, key: str) -> bool:
        with self._lock:
            tracked = self.sessions.get(key)
        if tracked is None:
            return False
        before = (
            tracked.state,
            tracked.since,
            tracked.last_reply,
            len(tracked.unconfirmed),
            tracked.usage,
        )
        count = len(tracked.events)
        last = tracked.events[-1] if tracked.events else None
        self._read_events(tracked)
        self._check_failed(tracked)
        new_last = tracked.events[-1] if tracked.events else None
        after = (
            tracked.state,
            tracked.since,
            tracked.last_reply,
            len(tracked.unconfirmed),
            tracked.usage,
        )
        return before != after or count != len(tracked.events) or last is not new_last

    def _inbox_changed(self, key: str, path: Path) -> bool:
        with self._lock:
            tracked = self.sessions.get(key)
        if tracked is None or tracked.record is None:
            return False
        try:
            queued = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line)
        except (OSError, UnicodeDecodeError):
            return False
        if queued == tracked.queued:
            return False
        tracked.queued = queued
        return True

    def check_sidecars(self) -> bool:
        """A sidecar that died writes nothing: look at the pids (no HTTP), now and then."""
        touched = False
        with self._lock:
            live = [t for t in self.sessions.values() if t.record is not None]
        for tracked in live:
            assert tracked.record is not None
            alive = source.sidecar_alive(tracked.record)
            if not alive and tracked.state != SIDECAR_DOWN:
                tracked.state, tracked.since = SIDECAR_DOWN, time.time()
                tracked.problem = problem_of(SIDECAR_DOWN)
                touched = True
        return touched

    def reconcile(self) -> bool:
        """Registry files that appeared or went without a change seen (the watcher was
        still starting, or the folder was made anew): take them in now."""
        folder = source.paths_of("x").registry.parent
        try:
            present = {p.stem: p for p in folder.glob("*.json") if not p.name.startswith(".")}
        except OSError:
            return False
        with self._lock:
            live = {k for k, t in self.sessions.items() if t.record is not None}
        missing = [p for k, p in present.items() if k not in live and self._ours(k)]
        gone = [folder / f"{k}.json" for k in live - set(present)]
        return self.apply(str(p) for p in [*missing, *gone])

    def catch_up(self) -> bool:
        """What changed between the load and the watcher's start, which the watcher does not
        report: each live session's events log read on from where the load left it, its
        inbox counted again, and registry files that came or went. True when anything shown
        changed."""
        with self._lock:
            live = [k for k, t in self.sessions.items() if t.record is not None]
        touched = False
        for key in live:
            touched |= self._events_changed(key)
            touched |= self._inbox_changed(key, source.paths_of(key).inbox)
        touched |= self.reconcile()
        return touched

    # --- the events log ---------------------------------------------------------------------

    def _read_events(self, tracked: Tracked) -> None:
        path = source.paths_of(tracked.key).events_log
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < tracked.events_offset:  # a new log (the id started again)
                    tracked.events_offset = 0
                    tracked.events.clear()
                start = max(tracked.events_offset, size - TAIL_BYTES)
                handle.seek(start)
                raw = handle.read(size - start)
        except OSError:
            return
        # Only whole lines: a line still being written is read next time.
        end = raw.rfind(b"\n") + 1
        lines = raw[:end].splitlines()
        if start > tracked.events_offset:
            lines = lines[1:]  # the tail window began mid-line
        tracked.events_offset = start + end
        for event in _parse(lines):
            self._take(tracked, event)

    def _take(self, tracked: Tracked, event: dict[str, Any]) -> None:
        kind = event.get("type")
        tracked.events.append(event)
        at = epoch_of(event.get("ts"))
        if kind == "state" and isinstance(event.get("to"), str):
            if tracked.state not in (SIDECAR_DOWN, UNRESPONSIVE) or tracked.record is None:
                tracked.state, tracked.since = event["to"], at
            else:
                # Events again: the sidecar is back (or was only slow).
                tracked.state, tracked.since, tracked.problem = event["to"], at, None
        elif kind == "turn_complete":
            reply = event.get("reply")
            tracked.last_reply = reply if isinstance(reply, str) else tracked.last_reply
        elif kind == "delivered":
            # A later message got through: the agent is there.
            tracked.unconfirmed.clear()
            tracked.unchecked.clear()
        elif kind == "failed":
            message_id = event.get("message_id")
            if isinstance(message_id, str) and message_id not in tracked.checked:
                tracked.checked.add(message_id)
                if tracked.record is not None:  # asked by _check_failed, not while reading
                    tracked.unchecked.append(message_id)
        elif kind == "usage":
            # Each ended turn's event carries the session's running total.
            tracked.usage = source.usage_cells(event.get("total")) or tracked.usage
        elif kind == "exited":
            tracked.state, tracked.since = EXITED, at

    def _check_failed(self, tracked: Tracked) -> None:
        """Ask the sidecar about each failed message the log named since the last delivery:
        one it could not confirm (``unconfirmed``) marks the session for the person."""
        record = tracked.record
        while tracked.unchecked:
            message_id = tracked.unchecked.pop(0)
            if record is not None and source.message_status(record, message_id) == "unconfirmed":
                tracked.unconfirmed.add(message_id)

    # --- what the view reads ----------------------------------------------------------------

    def rows(self) -> list[FleetRow]:
        with self._lock:
            return [t.row() for t in self.sessions.values()] + list(self.remote.values())

    def detail(self, key: str) -> Detail | None:
        with self._lock:
            tracked = self.sessions.get(key)
            if tracked is None:
                row = self.remote.get(key)
                return None if row is None else Detail(row, [], None, None)
            return Detail(tracked.row(), list(tracked.events), tracked.last_reply, tracked.record)

    def has_hosts(self) -> bool:
        """Whether any other host is known (the list then has a HOST column)."""
        return bool(self.hosts)

    # --- other hosts ------------------------------------------------------------------------

    def refresh_hosts(self) -> bool:
        """Ask every host for its sessions (blocks up to the status timeout: run it on a
        thread of its own); True when anything shown changed."""
        names = source.host_names()
        answers = source.host_answers() if names else []
        now = time.time()
        with self._lock:
            before = dict(self.remote)
        found: dict[str, FleetRow] = {}
        down: dict[str, str] = {}
        for answer in answers:
            if answer.error is not None:
                down[answer.name] = answer.error
            for row in hostrows.rows_of(answer.name, answer.rows, answer.error, before, now):
                found[row.key] = row
        with self._lock:
            changed = (found, down, names) != (self.remote, self.hosts_down, self.hosts)
            self.remote, self.hosts_down, self.hosts = found, down, names
        return changed

    def ended(self, key: str) -> bool:
        """Whether the session is known to have ended (a remote one shown as last seen has
        not: its host only does not answer)."""
        with self._lock:
            tracked = self.sessions.get(key)
            if tracked is not None:
                return tracked.record is None
            row = self.remote.get(key)
            return row is not None and row.state == EXITED

    def record(self, key: str) -> SessionRecord | None:
        with self._lock:
            tracked = self.sessions.get(key)
            return None if tracked is None else tracked.record


def _parse(lines: list[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # half a line, or damage: the rest of the log still counts
        if isinstance(event, dict):
            yield event
