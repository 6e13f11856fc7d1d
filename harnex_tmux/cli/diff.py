"""``harnex diff``: the work a worktree session did, against the commit it started from."""

from __future__ import annotations

import sys

import click

from harnex_tmux.cli.options import print_json


@click.command()
@click.option("--id", "ident", help="Session id (default: the repo's only worktree).")
@click.option("--repo", type=click.Path(file_okay=False), help="Resolve in that repo.")
@click.option("--stat", is_flag=True, help="Files and changed line counts only.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def command(ident: str | None, repo: str | None, stat: bool, as_json: bool) -> None:
    """Show a worktree session's changes against its base (commits and uncommitted edits).

    Files the agent created but never added to git are listed apart: git diff does not
    show their contents.
    """
    from harnex_tmux.session.find import find_worktree
    from harnex_tmux.worktree import (
        check_present,
        diff_report,
        diff_text,
        numstat,
        progress,
        untracked,
    )

    _, record = find_worktree(ident, repo)
    if not as_json:
        sys.stdout.write(diff_report(record, stat=stat))
        return
    check_present(record)
    data = {
        **record.to_dict(),
        **progress(record).to_dict(),
        "files": numstat(record),
        "untracked": untracked(record.path),
    }
    if not stat:
        data["patch"] = diff_text(record)
    print_json(data)
