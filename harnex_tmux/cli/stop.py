"""``harnex stop``: the adapter's stop sequence, then terminate."""

from __future__ import annotations

import click

from harnex_tmux.cli.options import print_json, target_options


@click.command()
@target_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the agent to exit (exit 124 if it is still alive).",
)
def command(ident: str | None, repo: str | None, cli_filter: str | None, timeout: float) -> None:
    """Stop a session and close its window; a worktree and its branch stay (see clean)."""
    from harnex_tmux.hosts.target import find

    print_json(find(ident, repo, cli_filter).stop(timeout).to_dict())
