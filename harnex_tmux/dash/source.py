"""Everything the dashboard asks of the rest of harnex, in one place.

The dashboard never imports the client side (the ``session`` package and its ``Session``
handle, launch, worktree, tmux) itself: what it uses of them is named here, once.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harnex_tmux.dash.model import UsageCells, WorktreeCells
from harnex_tmux.errors import HarnexError
from harnex_tmux.state import (
    ExitRecord,
    SessionPaths,
    SessionRecord,
    iter_registry,
    process_alive,
    repo_hash,
    repo_root_for,
    state_root,
)

WATCHED = ("sessions", "events", "inbox", "exits")
# Seconds a new session's sidecar has to report ready (more than run's 5: the dashboard's
# machine may be busy with many agents).
START_TIMEOUT_S = 20.0


def prepare() -> None:
    """Load what tmux calls need before Textual takes over ``sys.stdout``: libtmux reads
    ``sys.stdout.encoding`` as it is imported, which Textual's stand-in does not have."""
    from harnex_tmux.tmux import load_runner

    load_runner()


def watched_dirs() -> list[Path]:
    """The state folders whose changes the dashboard follows (made when missing, so a
    dashboard opened before the first session still sees it start)."""
    from harnex_tmux.state import ensure_dir

    root = state_root()
    ensure_dir(root)
    return [ensure_dir(root / name) for name in WATCHED]


def live_records(repo_root: str | None) -> list[SessionRecord]:
    return [r for _, r in iter_registry() if repo_root is None or r.repo_root == repo_root]


def record_at(path: Path) -> SessionRecord | None:
    return SessionRecord.load(path)


def ended_records(repo_root: str | None, limit: int) -> list[tuple[str, ExitRecord]]:
    """The newest ``limit`` exit records (by file time), with their keys."""
    folder = state_root() / "exits"
    prefix = "" if repo_root is None else repo_hash(repo_root) + "--"
    try:
        paths = [p for p in folder.glob(f"{prefix}*.json")]
        paths.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    found = []
    for path in paths[:limit]:
        record = ExitRecord.load(path)
        if record is not None:
            found.append((path.stem, record))
    return found


def exit_at(path: Path) -> ExitRecord | None:
    return ExitRecord.load(path)


def paths_of(key: str) -> SessionPaths:
    return SessionPaths(state_root(), key)


@dataclass(frozen=True)
class Live:
    """What a sidecar says of its session in one ``/status`` call."""

    state: str
    queued: int
    usage: UsageCells | None


def live_state(record: SessionRecord) -> Live:
    """State, queued messages and usage as the sidecar says, ``sidecar-down`` when it
    cannot answer."""
    from harnex_tmux.session.control import live_status

    status = live_status(record, timeout=1.0)
    return Live(status.state or "unknown", status.inbox or 0, usage_cells(status.usage))


def usage_cells(usage: object) -> UsageCells | None:
    """TOKENS and COST out of a usage object (a sidecar's ``/status``, a ``usage`` event's
    ``total``, a host's status row); None when no model call was counted."""
    if not isinstance(usage, dict):
        return None
    tokens, cost = usage.get("tokens"), usage.get("cost_usd")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
        return None
    if isinstance(cost, bool) or not isinstance(cost, int | float):
        return UsageCells(tokens, None)
    return UsageCells(tokens, float(cost))


def sidecar_alive(record: SessionRecord) -> bool:
    return process_alive(record.sidecar_pid)


def worktree_cells(record: SessionRecord) -> WorktreeCells | None:
    if not record.worktree:
        return None
    from harnex_tmux.worktree import describe

    shown = describe(record.worktree)
    branch = str(shown.get("branch") or "-")
    if "error" in shown:
        return WorktreeCells(branch, None, None)
    return WorktreeCells(branch, int(shown["ahead"]), len(shown["changed_files"]))


def message_status(record: SessionRecord, message_id: str) -> str | None:
    """The final status of a message (``unconfirmed``, ``failed``...), None if unknown."""
    from harnex_tmux.session.client import SidecarClient

    try:
        answer = SidecarClient.for_record(record, timeout=1.0).request(
            "GET", f"/messages/{message_id}"
        )
    except HarnexError:
        return None
    status = answer.body.get("status") if answer.ok else None
    return status if isinstance(status, str) else None


def capture(record: SessionRecord, lines: int) -> str:
    """The pane's text now, straight from tmux (works with the sidecar down, too)."""
    if not record.tmux_socket or not record.pane_id:
        raise HarnexError(f"session {record.id!r} has no pane on record")
    from harnex_tmux.pane_text import trim_capture
    from harnex_tmux.tmux import Tmux

    return trim_capture(Tmux(record.tmux_socket).capture(record.pane_id), lines)


def output_mtime(key: str) -> float | None:
    try:
        return os.stat(paths_of(key).output_log).st_mtime
    except OSError:
        return None


@dataclass(frozen=True)
class Sent:
    status: str
    message_id: str | None
    error: str | None
    reply: str | None


def send(
    record: SessionRecord, text: str, reply: bool, progress: Callable[[str], None] | None = None
) -> Sent:
    """Queue ``text`` and wait for its delivery (and, with ``reply``, the turn's answer)."""
    from harnex_tmux.session.handle import LocalSession

    result = LocalSession(record).send(
        text, relay=False, reply=reply, timeout=600, progress=progress
    )
    answer = result.extra.get("reply")
    return Sent(
        result.status, result.message_id, result.error, answer if isinstance(answer, str) else None
    )


def dialog_keys(record: SessionRecord, state: str) -> list[tuple[str, ...]]:
    """The keys the session's adapter file declares for a dialog in ``state``."""
    from harnex_tmux.adapters.catalog import load_catalog

    rules = load_catalog(record.repo_root).rules.get(record.adapter or record.cli)
    return [] if rules is None else rules.declared_keys(state)


def press(record: SessionRecord, keys: tuple[str, ...]) -> None:
    if not record.tmux_socket or not record.pane_id:
        raise HarnexError(f"session {record.id!r} has no pane on record")
    from harnex_tmux.tmux import Tmux

    Tmux(record.tmux_socket).send_keys(record.pane_id, *keys)


def stop(record: SessionRecord) -> str:
    from harnex_tmux.session.handle import LocalSession

    stopped = LocalSession(record).stop(timeout=10.0)
    return f"stopped {record.id} (exit {stopped.code})"


def recover(record: SessionRecord) -> str:
    from harnex_tmux.session.handle import LocalSession

    started = LocalSession.find(record.id, record.repo_root).recover()
    return f"recovered {record.id}: new sidecar {started.record.sidecar_pid}"


@dataclass(frozen=True)
class Jump:
    """How to show a session's window: done already (inside tmux), or run ``attach``."""

    done: bool
    attach: list[str]


def jump(record: SessionRecord) -> Jump:
    if not record.tmux_socket or not record.window_id:
        raise HarnexError(f"session {record.id!r} has no window on record")
    from harnex_tmux.tmux import Tmux, choose_server

    tmux = Tmux(record.tmux_socket)
    inside = choose_server(record.tmux_socket).caller_pane is not None
    if inside:
        tmux.show_window(record.window_id)
        return Jump(True, [])
    tmux.show_window(record.window_id)  # attach then opens at this window
    return Jump(False, tmux.attach_command(record.window_id))


def open_in_window(argv: list[str], socket: str | None) -> Jump:
    """``dash --window``: the dashboard in a window of the ``harnex`` session (or of the
    caller's own session when there is none), shown at once."""
    from harnex_tmux.tmux import DEFAULT_SESSION_NAME, Tmux, choose_server

    choice = choose_server(socket)
    tmux = Tmux(choice.socket_path)
    session: str | None = DEFAULT_SESSION_NAME
    if choice.caller_pane is not None and not tmux.has_session(DEFAULT_SESSION_NAME):
        session = None
    window = tmux.open_window("harnex-dash", argv, os.getcwd(), session)
    if choice.caller_pane is not None:
        tmux.show_window(window)
        return Jump(True, [])
    return Jump(False, tmux.attach_command(window))


def current_repo(repo: str | None) -> str:
    return repo_root_for(repo)


def has_worktree(key: str) -> bool:
    """Whether the session (live or ended) has a worktree on record: ``harnex diff`` works
    until ``harnex clean`` removes it."""
    return paths_of(key).worktree.is_file()


def worktree_diff(key: str) -> str:
    """What ``harnex diff --id`` prints for the session."""
    from harnex_tmux.worktree import WorktreeRecord, diff_report

    record = WorktreeRecord.load(paths_of(key).worktree)
    if record is None:
        raise HarnexError("no worktree on record (harnex clean may have removed it)")
    return diff_report(record)


@dataclass(frozen=True)
class Adapter:
    """A CLI the new-session form offers: its adapter and the command that starts it."""

    name: str
    command: str  # empty for the generic adapter: any program, typed by the person


def adapters(repo_root: str | None) -> list[Adapter]:
    from harnex_tmux.adapters.catalog import load_catalog

    catalog = load_catalog(repo_root)
    found = []
    for name in catalog.names():
        rules = catalog.rules.get(name)
        command = rules.commands[0] if rules is not None and rules.commands else ""
        found.append(Adapter(name, command))
    return found


@dataclass(frozen=True)
class NewSession:
    """What the new-session form asks for; ``ident`` None takes a random id."""

    adapter: str
    command: list[str]
    ident: str | None
    worktree: bool
    description: str


def check_id(text: str) -> str | None:
    """The id as a new session would get it (None when empty: a random one), or the
    one-line reason it is refused (``state.check_id``, the check ``harnex run`` makes)."""
    from harnex_tmux.state import check_id as checked

    if not text.strip():
        return None
    return checked(text)


def start(new: NewSession, cwd: str, adopt: Callable[[subprocess.Popen[bytes]], None]) -> str:
    """Start the session as ``harnex run --detach`` does; a one-line summary of it.

    The new window goes to the ``harnex`` tmux session, never beside the dashboard's own
    pane: that pane would be its spawner, and ``harnex report`` would type into the
    dashboard. ``adopt`` takes the sidecar, to reap it once its session ends (the
    dashboard lives on, as ``harnex mcp`` does)."""
    from harnex_tmux.adapters import load_catalog
    from harnex_tmux.launch import spec_for, start_session
    from harnex_tmux.state import repo_root_for
    from harnex_tmux.worktree import WorktreeRequest

    catalog = load_catalog(repo_root_for(cwd))
    spec = spec_for(
        new.command,
        cwd=cwd,
        socket=os.environ.get("HARNEX_TMUX_SOCKET"),
        ident=new.ident,
        description=new.description,
        forced_adapter=new.adapter,
        catalog=catalog,
    )
    spec.caller_pane = None
    worktree = WorktreeRequest() if new.worktree else None
    started = start_session(spec, timeout=START_TIMEOUT_S, worktree=worktree, catalog=catalog)
    adopt(started.sidecar)
    record = started.record
    where = f" in worktree {record.worktree.get('path')}" if record.worktree else ""
    return f"started {record.id} ({record.adapter}){where}"


def launch_description(key: str) -> str:
    """An ended session's description, from its resume card (the exit record has none)."""
    from harnex_tmux.resume_card import ResumeCard

    card = ResumeCard.load(paths_of(key).resume_card)
    description = card.spec.get("description") if card is not None else None
    return description if isinstance(description, str) else ""


# --- sessions on other hosts (each call one ``harnex`` command there, over ssh) -----------


def host_names() -> list[str]:
    """The hosts added with ``harnex hosts add`` (a local file: no ssh)."""
    from harnex_tmux.hosts.store import load_hosts

    return sorted(load_hosts())


@dataclass(frozen=True)
class HostAnswer:
    """One host's ``status`` rows, or (``error`` set) its sessions as last seen."""

    name: str
    rows: list[dict[str, Any]]
    error: str | None


def host_answers() -> list[HostAnswer]:
    """Every host's sessions, asked in parallel; a host that does not answer within the
    status timeout comes back down, never waited for longer."""
    from harnex_tmux.hosts.remote import all_host_rows
    from harnex_tmux.hosts.store import load_hosts

    hosts = list(load_hosts().values())
    if not hosts:
        return []
    return [HostAnswer(found.host.name, found.rows, found.error) for found in all_host_rows(hosts)]


def remote_capture(target: str, lines: int) -> str:
    from harnex_tmux.hosts.remote import RemoteSession

    return RemoteSession.for_target(target).pane(lines).text


def remote_send(target: str, text: str, reply: bool) -> Sent:
    from harnex_tmux.hosts.remote import RemoteSession

    result = RemoteSession.for_target(target).send(text, relay=False, reply=reply, timeout=600)
    answer = result.extra.get("reply")
    return Sent(
        result.status, result.message_id, result.error, answer if isinstance(answer, str) else None
    )


def remote_stop(target: str) -> str:
    from harnex_tmux.hosts.remote import RemoteSession

    stopped = RemoteSession.for_target(target).stop(timeout=10.0)
    return f"stopped {target} (exit {stopped.code})"


def remote_recover(target: str) -> str:
    from harnex_tmux.hosts.remote import RemoteSession

    RemoteSession.for_target(target).recover()
    return f"recovered {target}"


@dataclass(frozen=True)
class HostEvent:
    """One line of a remote session's events log: as stored there, and parsed."""

    raw: str
    data: dict[str, Any]


def remote_events(target: str, since: str | None) -> list[HostEvent]:
    """The session's events from the host (``harnex events --snapshot`` there), those at or
    after ``since`` (an event's own ``ts``) when given."""
    from harnex_tmux.hosts.remote import RemoteSession
    from harnex_tmux.state import parse_time

    when = None if since is None else parse_time(since)
    return [HostEvent(e.raw, e.data) for e in RemoteSession.for_target(target).events(when)]


@dataclass(frozen=True)
class HostDialog:
    """A remote session's state now and the keys its adapter declares for it, as its host
    reads them (its own adapter files: shipped, its user's, the session's repository's)."""

    state: str
    keys: list[tuple[str, ...]]


def remote_dialog(target: str) -> HostDialog:
    from harnex_tmux.hosts.remote import RemoteSession

    state, keys = RemoteSession.for_target(target).dialog_keys()
    return HostDialog(state, keys)


def remote_press(target: str, keys: tuple[str, ...], state: str) -> None:
    """Press ``keys`` in the session's pane on its host, only if it is still in ``state``."""
    from harnex_tmux.hosts.remote import RemoteSession

    RemoteSession.for_target(target).press(keys, in_state=state)


def remote_jump(target: str) -> Jump:
    """``harnex attach NAME:id`` as the dashboard runs it: inside tmux a new window of the
    caller's session (done), else the ``ssh -t`` command to run in the foreground."""
    from harnex_tmux.hosts.attach import plan

    planned = plan(target, None, None)
    return Jump(planned.done, planned.argv)


def remote_diff(target: str) -> str:
    """What ``harnex diff --id NAME:id`` prints: the host's own diff of the worktree."""
    from harnex_tmux.hosts.remote import RemoteSession

    return RemoteSession.for_target(target).diff()
