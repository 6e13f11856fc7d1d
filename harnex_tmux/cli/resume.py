"""``harnex resume``: start ended sessions again, continuing their conversations."""

from __future__ import annotations

import sys

import click

from harnex_tmux.cli.options import print_json


@click.command()
@click.option("--id", "ident", help="The ended session to resume (also one that was stopped).")
@click.option("--all", "every", is_flag=True, help="Every session that ended without a stop.")
@click.option("--repo", type=click.Path(file_okay=False), help="Resolve in that repo.")
@click.option("--all-repos", is_flag=True, help="With --all: sessions of every repo.")
@click.option(
    "--fresh", is_flag=True, help="Start a new conversation (one the CLI cannot continue)."
)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
def command(
    ident: str | None,
    every: bool,
    repo: str | None,
    all_repos: bool,
    fresh: bool,
    timeout: float,
) -> None:
    """Start a session again in a new window under the same id, after its tmux server, the
    machine or the agent went away: the CLI continues its own conversation where it can
    (else it starts fresh, and the result says so), then the messages that were still
    queued are delivered, in order, once. `harnex status` shows such sessions as resumable.
    A session stopped on purpose (harnex stop, or the agent exiting with code 0) is resumed
    only when named with --id."""
    from harnex_tmux.errors import UsageError
    from harnex_tmux.resume import find_ended, resume, resume_all

    if every == (ident is not None):
        raise UsageError("give either --id ID or --all")
    if ident is not None:
        print_json(resume(find_ended(ident, repo), timeout, fresh).to_dict())
        return
    results = resume_all(repo, all_repos, timeout, fresh)
    print_json(results)
    if any(not r.get("ok", True) for r in results):
        for failed in results:
            if not failed.get("ok", True):
                click.echo(f"harnex: {failed['id']}: {failed['error']}", err=True)
        sys.exit(1)
