"""``harnex recover``: give a live session whose sidecar died a new one."""

from __future__ import annotations

import click

from harnex_tmux.cli.options import print_json, target_options


@click.command()
@target_options
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True)
def command(ident: str | None, repo: str | None, cli_filter: str | None, timeout: float) -> None:
    """Restart the sidecar of a session (status shows sidecar-down): same pane, same files,
    and the messages that were still queued are delivered."""
    from harnex_tmux.hosts.target import find

    started = find(ident, repo, cli_filter).recover(timeout)
    print_json(started.summary())
