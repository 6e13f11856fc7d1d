"""Sessions on other hosts as list rows: what each host's ``status`` answered, turned into
:class:`FleetRow` (no I/O here; the fetching is :func:`source.host_answers`, run by the
app on a thread of its own so a slow or dead host never holds up the screen or the local
refresh).

A host that did not answer gives its sessions as last seen: each row's state is ``stale``,
how long it has been since that answer is its FOR, and its problem says the host's error
and the state it last had.
"""

from __future__ import annotations

from typing import Any

from harnex_tmux.dash.model import STALE, FleetRow, WorktreeCells, problem_of
from harnex_tmux.dash.source import usage_cells
from harnex_tmux.state import epoch_of


def key_of(host: str, ident: str) -> str:
    """A remote row's key: ``NAME:id`` (a local key is ``hash--id`` and never holds ``:``)."""
    return f"{host}:{ident}"


def rows_of(
    host: str,
    rows: list[dict[str, Any]],
    error: str | None,
    before: dict[str, FleetRow],
    now: float,
) -> list[FleetRow]:
    """The host's rows; ``before`` (the last rows by key) keeps when each state began, as
    far as this side saw it: a host's answer says the state, not since when."""
    found = []
    for row in rows:
        ident = str(row.get("id") or "")
        if not ident:
            continue
        key = key_of(host, ident)
        old = before.get(key)
        stale = bool(row.get("stale"))
        state = STALE if stale else str(row.get("state") or "unknown")
        if stale:
            since = epoch_of(row.get("last_seen"))
            was = row.get("last_state") or "unknown"
            problem: str | None = (
                f"host {host!r} is down ({error or row.get('host_error')}); shown as last seen "
                f"at {row.get('last_seen')}, when it was {was}"
            )
        else:
            since = old.since if old is not None and old.state == state else now
            problem = problem_of(state)
        found.append(
            FleetRow(
                key=key,
                id=ident,
                cli=str(row.get("cli") or "-"),
                state=state,
                since=since,
                description=str(row.get("description") or ""),
                repo_root=str(row.get("repo_root") or ""),
                queued=_whole(row.get("inbox")),
                worktree=_worktree(row.get("worktree")),
                problem=problem,
                usage=usage_cells(row.get("usage")),
                host=host,
            )
        )
    return found


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _worktree(info: Any) -> WorktreeCells | None:
    if not isinstance(info, dict):
        return None
    branch = str(info.get("branch") or "-")
    ahead, changed = info.get("ahead"), info.get("changed_files")
    if "error" in info or not isinstance(ahead, int) or not isinstance(changed, list):
        return WorktreeCells(branch, None, None)
    return WorktreeCells(branch, ahead, len(changed))
