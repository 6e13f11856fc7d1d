"""``harnex status``: the sessions of this repo (or all), with their live state."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import click

from harnex_tmux.cli.options import human_seconds, print_json


@click.command()
@click.option("--id", "ident", help="Only this session.")
@click.option("--repo", type=click.Path(file_okay=False), help="Resolve in that repo.")
@click.option("--cli", "cli_filter", help="Only sessions of this agent type.")
@click.option("--all", "all_repos", is_flag=True, help="Sessions of every repo.")
@click.option("--json", "as_json", is_flag=True, help="JSON list of records with live state.")
def command(
    ident: str | None, repo: str | None, cli_filter: str | None, all_repos: bool, as_json: bool
) -> None:
    """Show sessions: ID CLI PID PORT AGE IDLE STATE REPO DESC."""
    from harnex_tmux.control import live_status
    from harnex_tmux.errors import SessionNotFound
    from harnex_tmux.lookup import find_session
    from harnex_tmux.state import list_sessions, repo_root_for

    if ident is not None:
        records = [find_session(ident, repo, cli_filter, any_repo=all_repos)]
    else:
        records = list_sessions(None if all_repos else repo_root_for(repo), cli_filter)
    rows: list[dict[str, Any]] = [{} for _ in records]

    def fill(index: int) -> None:
        rows[index] = live_status(records[index])

    threads = [threading.Thread(target=fill, args=(i,)) for i in range(len(records))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if as_json:
        print_json(rows)
        return
    if not rows:
        if ident is not None:
            raise SessionNotFound(f"no session {ident!r}")
        where = "any repo" if all_repos else repo_root_for(repo)
        click.echo(f"no harnex sessions in {where}")
        return
    click.echo(_table(rows))


def _age(started_at: str | None) -> str:
    from harnex_tmux.state import parse_time

    if not started_at:
        return "-"
    try:
        return human_seconds(time.time() - parse_time(started_at).timestamp())
    except ValueError:
        return "-"


def _table(rows: list[dict[str, Any]]) -> str:
    home = os.path.expanduser("~")
    header = ["ID", "CLI", "PID", "PORT", "AGE", "IDLE", "STATE", "REPO", "DESC"]
    lines = [header]
    for row in rows:
        repo = str(row.get("repo_root") or "")
        if repo.startswith(home + os.sep):
            repo = "~" + repo[len(home) :]
        lines.append(
            [
                str(row.get("id")),
                str(row.get("cli")),
                str(row.get("pid") or "-"),
                str(row.get("port")),
                _age(row.get("started_at")),
                human_seconds(row.get("log_idle_s")),
                str(row.get("state")),
                repo,
                str(row.get("description") or ""),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )
