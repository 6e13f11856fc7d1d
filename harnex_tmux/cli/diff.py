"""``harnex diff``: the work a worktree session did, against the commit it started from."""

from __future__ import annotations

import sys

import click

from harnex_tmux.cli.options import print_json


@click.command()
@click.option(
    "--id",
    "ident",
    help="Session id (default: the repo's only worktree); NAME:id for one on host NAME.",
)
@click.option("--repo", type=click.Path(file_okay=False), help="Resolve in that repo.")
@click.option("--stat", is_flag=True, help="Files and changed line counts only.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def command(ident: str | None, repo: str | None, stat: bool, as_json: bool) -> None:
    """Show a worktree session's changes against its base (commits and uncommitted edits).

    Files the agent created but never added to git are listed apart: git diff does not
    show their contents.
    """
    from harnex_tmux.cli.on_host import follow_on_host, is_remote
    from harnex_tmux.errors import UsageError

    if ident is not None and is_remote(ident):
        if repo is not None:
            raise UsageError("--repo is for local sessions (a host's runs are in its home)")
        # The host's own diff, streamed here as it comes (a patch may be large).
        args = ["diff", *(["--stat"] if stat else []), *(["--json"] if as_json else [])]
        follow_on_host(ident, args, lines_of_json=as_json)
        return
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
