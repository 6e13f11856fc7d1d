"""``harnex status``: the sessions of this repo (or all), with their live state."""

from __future__ import annotations

import os
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
@click.option("--host", "host_name", help="Only the sessions of this host (harnex hosts).")
@click.option(
    "--tmux",
    "for_tmux",
    is_flag=True,
    help="One short segment for tmux's status line (every repo's sessions unless --repo).",
)
def command(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    all_repos: bool,
    as_json: bool,
    host_name: str | None,
    for_tmux: bool,
) -> None:
    """Show sessions: ID CLI PID PORT AGE IDLE STATE REPO DESC.

    Once an agent reported its usage, TOKENS and COST come after STATE (see harnex usage);
    BUDGET (spent/limit, e.g. 2.10/5usd or 1.2M/2M) after them when a session has one.

    With hosts (harnex hosts), a HOST column comes first and every host is asked in
    parallel. A host that does not answer within 5 s is named on stderr with ssh's reason;
    its sessions are shown as it last reported them, STATE unknown (--json: "stale": true,
    "last_state", "last_seen", "host_error"). The exit code stays 0: the rest is shown.

    When a session runs in its own worktree (run --worktree), BRANCH, AHEAD (commits since
    its base) and CHANGED (files that differ from the base) come before REPO.
    """
    from harnex_tmux.hosts.fleet import all_rows
    from harnex_tmux.session.handle import statuses
    from harnex_tmux.state import repo_root_for

    if for_tmux:
        # tmux runs #(...) from wherever its server started: every repo unless told one.
        found = statuses(ident, repo, cli_filter, repo is None)
        click.echo(_segment([status.to_dict() for status in found]))
        return
    rows, down = all_rows(ident, repo, cli_filter, all_repos, host_name)
    for line in down:
        click.echo(f"harnex: {line}", err=True)
    if as_json:
        print_json(rows)
        return
    if not rows:
        # 0.4.0's wording, which scripts may look for.
        if all_repos:
            click.echo("No active harnex sessions.")
        else:
            click.echo(f"No active harnex sessions for {repo_root_for(repo)}.")
        return
    click.echo(_table(rows))
    for problem in sorted(
        {str(row["state_dir_problem"]) for row in rows if row.get("state_dir_problem")}
    ):
        click.echo(f"harnex: {problem}; new messages are refused until there is room", err=True)


def _segment(rows: list[dict[str, Any]]) -> str:
    from harnex_tmux.dash.model import tmux_segment

    return tmux_segment((str(row.get("state") or "unknown"), 0) for row in rows)


def _age(started_at: str | None) -> str:
    from harnex_tmux.state import parse_time

    if not started_at:
        return "-"
    try:
        return human_seconds(time.time() - parse_time(started_at).timestamp())
    except ValueError:
        return "-"


# 0.4.0's limits: a longer description keeps its start, a longer repo path its end.
DESC_WIDTH = 30
REPO_WIDTH = 20


def _desc_cell(text: str) -> str:
    if len(text) <= DESC_WIDTH:
        return text or "-"
    return text[: DESC_WIDTH - 3] + "..."


def _repo_cell(path: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("", os.sep) and (path == home or path.startswith(home + os.sep)):
        path = "~" + path[len(home) :]
    if len(path) <= REPO_WIDTH:
        return path or "-"
    return ".." + path[-(REPO_WIDTH - 2) :]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text or "-"


def _worktree_cells(row: dict[str, Any]) -> list[str]:
    """BRANCH, AHEAD, CHANGED of a worktree session; ``?`` where git could not tell."""
    info = row.get("worktree")
    if not isinstance(info, dict):
        return ["-", "-", "-"]
    if "error" in info:
        return [_cell(info.get("branch")), "?", "?"]
    return [_cell(info.get("branch")), str(info["ahead"]), str(len(info["changed_files"]))]


def _usage_cells(usage: Any) -> list[str]:
    """TOKENS and COST of a session whose sidecar counted them; ``-`` when none did."""
    if not isinstance(usage, dict) or not usage.get("calls"):
        return ["-", "-"]
    from harnex_tmux.usage.tokens import money, short_count

    cost = usage.get("cost_usd")
    return [
        short_count(usage.get("tokens")),
        money(cost if isinstance(cost, float | int) else None),
    ]


def _budget_cell(budget: Any) -> str:
    """BUDGET: what was spent of the limit (``2.10/5usd``, ``1.2M/2M``); ``?`` for a cost
    that is unknown, ``error`` for a budget file that could not be read, ``-`` for none."""
    if not isinstance(budget, dict):
        return "-"
    if "problem" in budget:
        return "error"
    from harnex_tmux.usage.tokens import short_count

    spent, limit = budget.get("spent"), budget.get("limit")
    if budget.get("kind") == "usd":

        def dollars(value: Any) -> str:
            return f"{value:.2f}" if isinstance(value, float | int) else "?"

        return f"{dollars(spent)}/{dollars(limit)}usd".replace(".00usd", "usd")

    def count(value: Any) -> str:
        return short_count(value).replace(".0k", "k").replace(".0M", "M").replace("-", "?")

    return f"{count(spent)}/{count(limit)}"


def _table(rows: list[dict[str, Any]]) -> str:
    """0.4.0's layout: header, a row of dashes, then one row per session; every empty cell
    shows ``-``, columns two spaces apart. The worktree columns appear only when a session
    has a worktree, TOKENS and COST only when an agent reported its usage, BUDGET only when a
    session has one, so 0.4.0's layout is unchanged for everyone else."""
    worktrees = any(row.get("worktree") for row in rows)
    hosts = any("machine" in row for row in rows)
    usage = any(_usage_cells(row.get("usage")) != ["-", "-"] for row in rows)
    budgets = any(_budget_cell(row.get("budget")) != "-" for row in rows)
    header = ["HOST"] if hosts else []
    header += ["ID", "CLI", "PID", "PORT", "AGE", "IDLE", "STATE"]
    header += ["TOKENS", "COST"] if usage else []
    header += ["BUDGET"] if budgets else []
    header += ["BRANCH", "AHEAD", "CHANGED"] if worktrees else []
    header += ["REPO", "DESC"]
    body = [
        [
            *([row.get("machine") or "local"] if hosts else []),
            _cell(row.get("id")),
            _cell(row.get("cli")),
            _cell(row.get("pid")),
            _cell(row.get("port")),
            _age(row.get("started_at")),
            human_seconds(row.get("log_idle_s")),
            _cell(row.get("state")),
            *(_usage_cells(row.get("usage")) if usage else []),
            *([_budget_cell(row.get("budget"))] if budgets else []),
            *(_worktree_cells(row) if worktrees else []),
            _repo_cell(str(row.get("repo_root") or "")),
            _desc_cell(str(row.get("description") or "")),
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [header, ["-" * width for width in widths], *body]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )
