"""``harnex resume``: start an ended session again from its resume card, continuing the CLI's
own conversation where the CLI can, and deliver what was still in its inbox.

A session is resumable when it ended without being stopped (its tmux server was killed, the
machine rebooted, the agent crashed): its card says neither stopped nor a clean exit of the
agent's own (code 0), and nothing of it runs. A
lock file per session makes two resumes racing for one start it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.errors import HarnexError, ResumeRefused
from harnex_tmux.resume_card import ResumeCard
from harnex_tmux.state import (
    SessionPaths,
    SessionRecord,
    id_key,
    json_files,
    normalize_id,
    process_alive,
    read_json,
    repo_root_for,
    state_root,
)
from harnex_tmux.usage.sources import RECORD_KEY as USAGE_KEY

RESUMABLE = "resumable"


@dataclass(frozen=True)
class Ended:
    """An ended session's card, and where its files are."""

    card: ResumeCard
    paths: SessionPaths

    @property
    def id(self) -> str:
        return self.card.id

    @property
    def repo_root(self) -> str:
        return str(self.card.spec.get("repo_root") or "")


@dataclass
class Resumed:
    """What one resume did: the new session's summary, and how it continued. ``sidecar``
    is the new session's sidecar process, for a long-lived caller to reap (``harnex mcp``)."""

    summary: dict[str, Any]
    continued: bool
    note: str | None = None
    queued: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    sidecar: subprocess.Popen[bytes] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {**self.summary, "resumed": True, "continued": self.continued}
        data["queued"] = self.queued
        if self.note:
            data["note"] = self.note
        return data


def _cards(root: Path | None = None) -> Iterator[Ended]:
    for path in json_files((root or state_root()) / "resume"):
        card = ResumeCard.load(path)
        if card is not None and card.id:
            yield Ended(card, SessionPaths(path.parent.parent, path.stem))


def cards_of(repo_root: str) -> list[Ended]:
    """Every session of ``repo_root`` that has a resume card, running or not."""
    return [e for e in _cards() if e.repo_root == repo_root]


def _live_record(ended: Ended) -> SessionRecord | None:
    return SessionRecord.load(ended.paths.registry)


def running(ended: Ended) -> bool:
    """Whether anything of the session still runs: its sidecar, or its agent."""
    record = _live_record(ended)
    return record is not None and (process_alive(record.sidecar_pid) or process_alive(record.pid))


def _why_running(ended: Ended) -> str:
    record = _live_record(ended)
    if record is not None and not process_alive(record.sidecar_pid):
        return (
            f"the agent of session {ended.id!r} still runs (its sidecar died): "
            f"harnex recover --id {ended.id} gives it a new one"
        )
    return f"session {ended.id!r} is running; there is nothing to resume"


def resumable(ended: Ended) -> bool:
    """Ended without a stop or a clean exit of its own, and nothing of it runs."""
    return not ended.card.ended_on_purpose and not running(ended)


def ended_sessions(repo: str | None = None, all_repos: bool = False) -> list[Ended]:
    """Every session of the repo (or all) that has a resume card and does not run."""
    repo_root = None if all_repos else repo_root_for(repo)
    return [
        e for e in _cards() if (repo_root is None or e.repo_root == repo_root) and not running(e)
    ]


def status_rows(repo: str | None, cli: str | None, all_repos: bool) -> list[dict[str, Any]]:
    """``harnex status`` rows for sessions that ``harnex resume --all`` would start."""
    from harnex_tmux.state import cli_key

    rows = []
    for ended in ended_sessions(repo, all_repos):
        spec = ended.card.spec
        if ended.card.ended_on_purpose or ended.paths.registry.exists():
            continue
        if cli is not None and cli_key(cli) not in (
            cli_key(spec.get("cli")),
            cli_key(spec.get("adapter")),
        ):
            continue
        rows.append(
            {
                "id": ended.id,
                "cli": spec.get("cli"),
                "repo_root": ended.repo_root,
                "description": spec.get("description"),
                "started_at": ended.card.started_at,
                "ended_at": ended.card.ended_at,
                "conversation": ended.card.conversation,
                "state": RESUMABLE,
            }
        )
    return rows


def find_ended(ident: str, repo: str | None = None) -> Ended:
    """The ended session ``ident`` of the repo; ResumeRefused when there is none."""
    ident = normalize_id(ident)
    paths = SessionPaths.for_session(repo_root_for(repo), ident)
    card = ResumeCard.load(paths.resume_card)
    if card is None:
        matches = [e for e in _cards() if id_key(e.id) == id_key(ident)]
        if len(matches) != 1:
            where = repo_root_for(repo)
            raise ResumeRefused(f"no session {ident!r} to resume in {where}")
        return matches[0]
    return Ended(card, paths)


@contextlib.contextmanager
def resume_lock(ended: Ended) -> Iterator[None]:
    """Held while one resume starts the session; a second one at once is refused."""
    path = ended.paths.resume_lock
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResumeRefused(
                f"session {ended.id!r} is being resumed by another harnex resume"
            ) from None
        yield
    finally:
        os.close(fd)


def resume(ended: Ended, timeout: float = 10.0, fresh: bool = False) -> Resumed:
    """Start ``ended`` again in a new window under the same id: its conversation continued
    with the CLI's own option when the card names one and the CLI has one, else fresh (the
    result says so; ``fresh`` asks for that, for a conversation the CLI cannot continue);
    its inbox's queued messages are delivered, in order, once."""
    from harnex_tmux.adapters import adapter_for
    from harnex_tmux.launch import LaunchSpec, start_session

    with resume_lock(ended):
        if running(ended):
            raise ResumeRefused(_why_running(ended))
        spec = LaunchSpec(**{k: v for k, v in ended.card.spec.items() if k in _SPEC_FIELDS})
        _check_can_start(ended, spec)
        adapter = adapter_for(spec.adapter, spec.prompt_regex, spec.repo_root)
        conversation = ended.card.conversation
        # A CLI that keeps its conversation in its folder (Aider) needs no id to go on.
        can = bool(adapter.resume_args) and bool(conversation or not adapter.resume_needs_id)
        continued = can and not fresh
        note = None
        if fresh:
            note = "started fresh, as asked (--fresh)"
        elif not continued:
            note = (
                f"{spec.cli} has no way to continue a conversation: started fresh"
                if not adapter.resume_args
                else "no conversation id was recorded for it: started fresh"
            )
        spec.conversation = conversation if continued else None
        spec.continues = continued
        spec.resuming = True
        spec.context = None
        if spec.caller_pane and not _pane_exists(spec):
            spec.caller_pane = None  # the spawner's pane went with the old tmux server
        spec.usage_sources = _usage_sources(ended)
        queued = _queued(ended)
        started = start_session(spec, timeout)
        return Resumed(started.summary(), continued, note, queued, sidecar=started.sidecar)


def _usage_sources(ended: Ended) -> list[dict[str, Any]]:
    """Where the ended session's agent wrote its usage: its record (left behind when the
    machine went down) and its exit record (written when its sidecar saw the end), each once."""
    found: list[dict[str, Any]] = []
    for path in (ended.paths.registry, ended.paths.exit_record):
        data = read_json(path)
        kept = data.get(USAGE_KEY) if data is not None else None
        for item in kept if isinstance(kept, list) else []:
            if isinstance(item, dict) and item not in found:
                found.append(item)
    return found


def _check_can_start(ended: Ended, spec: Any) -> None:
    """One-line refusals for what would make the start fail half-way."""
    cwd = Path(spec.cwd)
    if not cwd.is_dir():
        if spec.worktree:
            raise ResumeRefused(f"the worktree of session {ended.id!r} was removed: {cwd}")
        raise ResumeRefused(f"the working directory of session {ended.id!r} is gone: {cwd}")
    path_env = spec.env.get("PATH", os.environ.get("PATH"))
    if not spec.command or shutil.which(spec.command[0], path=path_env) is None:
        name = spec.command[0] if spec.command else "(none)"
        raise ResumeRefused(
            f"{name} is no longer installed (not on PATH): cannot resume {ended.id!r}"
        )


def _pane_exists(spec: Any) -> bool:
    from harnex_tmux.tmux import Tmux

    try:
        return Tmux(spec.socket_path).session_of_pane(spec.caller_pane) is not None
    except HarnexError:
        return False


def _queued(ended: Ended) -> int:
    """How many messages the journal holds queued and untouched (as the sidecar reads it:
    a claim given back counts, one claimed without an outcome ends unconfirmed)."""
    from harnex_tmux.sidecar.journal import (
        CLAIMED_OP,
        FINISHED_OP,
        QUEUED_OP,
        RELEASED_OP,
        Journal,
    )

    pending: dict[str, bool] = {}
    claimed: set[str] = set()
    for record in Journal(ended.paths.inbox).read():
        op, ident = record.get("op", QUEUED_OP), str(record.get("id"))
        if op == QUEUED_OP:
            pending[ident] = True
        elif op == CLAIMED_OP:
            claimed.add(ident)
        elif op == RELEASED_OP:
            claimed.discard(ident)
        elif op == FINISHED_OP:
            pending.pop(ident, None)
            claimed.discard(ident)
    return len([i for i in pending if i not in claimed])


# Sessions started at once by ``resume --all``: each start is mostly waiting (a sidecar's
# interpreter, tmux, the agent's first screen), so a fleet comes back in about the time of
# its slowest member rather than the sum.
RESUME_WORKERS = 8


def resume_all(
    repo: str | None,
    all_repos: bool,
    timeout: float,
    fresh: bool = False,
    adopt: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> list[dict[str, Any]]:
    """Resume every session that ended without a stop, several at once; one result (or
    error) each, in the order of their cards. ``adopt`` is handed each new sidecar process
    (see :attr:`Resumed.sidecar`)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(ended: Ended) -> dict[str, Any]:
        try:
            done = resume(ended, timeout, fresh)
        except HarnexError as exc:
            return {"ok": False, "id": ended.id, "error": str(exc)}
        if adopt is not None and done.sidecar is not None:
            adopt(done.sidecar)
        return done.to_dict()

    todo = [e for e in ended_sessions(repo, all_repos) if resumable(e)]
    if not todo:
        return []
    with ThreadPoolExecutor(max_workers=min(RESUME_WORKERS, len(todo))) as pool:
        return list(pool.map(one, todo))


def _spec_fields() -> set[str]:
    import dataclasses

    from harnex_tmux.launch import LaunchSpec

    return {f.name for f in dataclasses.fields(LaunchSpec)}


_SPEC_FIELDS = _spec_fields()


def with_resumable(
    rows: list[dict[str, Any]],
    ident: str | None,
    repo: str | None,
    cli: str | None,
    all_repos: bool,
) -> list[dict[str, Any]]:
    """``harnex status`` rows with the resumable sessions: a session whose sidecar and agent
    both died (a reboot) shows ``resumable`` instead of ``sidecar-down``, and a listing
    (no ``--id``, which scripts use to test liveness) adds the sessions that ended without
    a stop."""
    for row in rows:
        # Only an agent known to have died: one whose pid was never learnt may still run.
        if row.get("state") == "sidecar-down" and row.get("pid") and not row.get("agent_alive"):
            paths = SessionPaths.for_session(str(row.get("repo_root") or ""), str(row.get("id")))
            card = ResumeCard.load(paths.resume_card)
            if card is not None and not card.ended_on_purpose:
                row["state"] = RESUMABLE
    if ident is not None:
        return rows
    shown = {(r.get("repo_root"), r.get("id")) for r in rows}
    extra = [r for r in status_rows(repo, cli, all_repos) if (r["repo_root"], r["id"]) not in shown]
    return [*rows, *extra]
