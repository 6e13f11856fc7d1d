"""Finding the session a command targets from ``--id``, ``--repo`` and ``--cli``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harnex_tmux.errors import HarnexError, SessionNotFound
from harnex_tmux.state import (
    ANY_REPO_ENV,
    ExitRecord,
    SessionPaths,
    SessionRecord,
    cli_key,
    id_key,
    list_sessions,
    normalize_id,
    read_json,
    repo_root_for,
    state_root,
)

if TYPE_CHECKING:
    from harnex_tmux.worktree import WorktreeRecord


def _any_repo(asked: bool) -> bool:
    return asked or os.environ.get(ANY_REPO_ENV) == "1"


def find_session(
    ident: str | None = None,
    repo: str | None = None,
    cli: str | None = None,
    any_repo: bool = False,
) -> SessionRecord:
    """The one live session the arguments name.

    Without an id, the repo must have exactly one session (of that cli). With ``any_repo``,
    an id missing from the repo may match exactly one session elsewhere.
    """
    repo_root = repo_root_for(repo)
    if ident is None:
        records = list_sessions(repo_root, cli)
        if len(records) == 1:
            return records[0]
        if not records:
            raise SessionNotFound(f"no harnex session in {repo_root}")
        ids = ", ".join(sorted(r.id for r in records))
        raise HarnexError(f"several sessions in {repo_root} ({ids}); pick one with --id")
    ident = normalize_id(ident)
    data = read_json(SessionPaths.for_session(repo_root, ident).registry)
    near: str | None = None
    if data is not None:
        record = SessionRecord.from_dict(data)
        if record.id != ident:
            near = record.id  # shares the file name only: another session (one id, one session)
        elif cli is None or cli_key(cli) in (cli_key(record.cli), cli_key(record.adapter)):
            return record
    if _any_repo(any_repo):
        matches = [r for r in list_sessions(None, cli) if r.id == ident]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            repos = ", ".join(sorted(r.repo_root for r in matches))
            raise HarnexError(f"id {ident!r} exists in several repos ({repos}); use --repo")
    hint = f" (there is {near!r})" if near is not None else ""
    raise SessionNotFound(f"no session {ident!r} in {repo_root}{hint}")


@dataclass(frozen=True)
class EndedSession:
    exit: ExitRecord
    paths: SessionPaths


def find_ended(ident: str | None, repo: str | None, any_repo: bool = False) -> EndedSession | None:
    """The exit record of a session that has ended, when the id names one."""
    if ident is None:
        return None
    ident = normalize_id(ident)
    paths = SessionPaths.for_session(repo_root_for(repo), ident)
    record = ExitRecord.load(paths.exit_record)
    if record is not None and record.id == ident:
        return EndedSession(record, paths)
    if not _any_repo(any_repo):
        return None
    suffix = f"--{id_key(ident)}.json"
    found = [p for p in (state_root() / "exits").glob(f"*{suffix}")]
    if len(found) != 1:
        return None
    record = ExitRecord.load(found[0])
    if record is None or record.id != ident:
        return None
    key = found[0].name.removesuffix(".json")
    return EndedSession(record, SessionPaths(state_root(), key))


def list_worktrees(repo_root: str | None) -> list[tuple[Path, WorktreeRecord]]:
    """The worktree records (``run --worktree``) of one repo, or of all with None."""
    from harnex_tmux.worktree import WorktreeRecord

    found = []
    for path in sorted((state_root() / "worktrees").glob("*.json")):
        record = WorktreeRecord.load(path)
        if record is not None and (repo_root is None or record.repo_root == repo_root):
            found.append((path, record))
    return found


def find_worktree(ident: str | None, repo: str | None) -> tuple[Path, WorktreeRecord]:
    """The worktree of the session the arguments name, running or ended.

    Without an id the repo must have exactly one; an id missing from the repo may match
    exactly one worktree elsewhere (as ``logs`` finds sessions).
    """
    from harnex_tmux.worktree import WorktreeRecord

    repo_root = repo_root_for(repo)
    if ident is None:
        records = list_worktrees(repo_root)
        if len(records) == 1:
            return records[0]
        if not records:
            raise SessionNotFound(f"no harnex worktree in {repo_root}")
        ids = ", ".join(sorted(r.id for _, r in records))
        raise HarnexError(f"several worktrees in {repo_root} ({ids}); pick one with --id")
    ident = normalize_id(ident)
    path = SessionPaths.for_session(repo_root, ident).worktree
    record = WorktreeRecord.load(path)
    if record is not None and record.id == ident:
        return path, record
    matches = [(p, r) for p, r in list_worktrees(None) if r.id == ident]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        repos = ", ".join(sorted(r.repo_root for _, r in matches))
        raise HarnexError(f"id {ident!r} has worktrees in several repos ({repos}); use --repo")
    raise SessionNotFound(f"no worktree for session {ident!r} in {repo_root}")
