"""The sessions of this machine and of every known host in one list: what ``harnex status``
and the MCP server's ``status`` show."""

from __future__ import annotations

from typing import Any


def all_rows(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    all_repos: bool,
    host_name: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """This machine's rows and every known host's (asked in parallel), with a line for
    each host that did not answer. ``machine`` names a row's host (None: this one) once
    any host is known; the record's own ``host`` stays the sidecar's address, as in 0.4.0."""
    from harnex_tmux.hosts.remote import all_host_rows
    from harnex_tmux.hosts.store import get_host, load_hosts, split_target
    from harnex_tmux.session.handle import statuses

    target_host, target_id = split_target(ident) if ident else (None, None)
    wanted = host_name or target_host
    hosts = [get_host(wanted)] if wanted else list(load_hosts().values())
    rows: list[dict[str, Any]] = []
    if wanted is None:
        from harnex_tmux.resume import with_resumable

        local = [status.to_dict() for status in statuses(ident, repo, cli_filter, all_repos)]
        rows = with_resumable(local, ident, repo, cli_filter, all_repos)
    if not hosts:
        return rows, []
    for row in rows:
        row["machine"] = None
    down = []
    for found in all_host_rows(hosts, target_id):
        if found.error is not None:
            down.append(down_line(found.error, found.rows))
        rows += [row for row in found.rows if not cli_filter or row.get("cli") == cli_filter]
    return rows, down


def down_line(error: str, stale: list[dict[str, Any]]) -> str:
    if not stale:
        return f"{error} (no sessions of it known)"
    count = f"{len(stale)} session{'s' if len(stale) != 1 else ''}"
    return f"{error} ({count} shown as last seen at {stale[0].get('last_seen')}, state unknown)"
