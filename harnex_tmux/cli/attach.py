"""``harnex attach``: the caller's terminal on a session's tmux window (``NAME:id``: on that
host, over ssh)."""

from __future__ import annotations

import os

import click

from harnex_tmux.cli.options import target_options


@click.command()
@target_options
def command(ident: str | None, repo: str | None, cli_filter: str | None) -> None:
    """Attach this terminal to the session's window (detach with the tmux prefix + d).
    Inside tmux, show it on this client instead: its own window when it runs on this tmux
    server, else a new window here running the attach (for NAME:id, ssh -t to the host)."""
    from harnex_tmux.hosts.attach import plan

    how = plan(ident, repo, cli_filter)
    if not how.done:
        os.execvp(how.argv[0], how.argv)
