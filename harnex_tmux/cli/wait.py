"""``harnex wait``: block until a session reaches a state, or exits."""

from __future__ import annotations

import sys

import click

from harnex_tmux.cli.options import Timeout, print_json, target_options
from harnex_tmux.waits import UNTIL, check_until


@click.command()
@target_options
@click.option(
    "--until",
    "until",
    default="exit",
    show_default=True,
    help=f"State to wait for: {', '.join(UNTIL)} (task_complete: the agent's next finished "
    "turn, with its reply).",
)
@click.option(
    "--timeout",
    type=Timeout(),
    default=None,
    help="Give up after this many seconds (exit 124). Default: wait forever.",
)
def command(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    until: str,
    timeout: float | None,
) -> None:
    """Wait for a state; exit 1 if the session ends first, 124 on timeout. Waiting for the
    exit (the default) exits with the agent's own exit code."""
    from harnex_tmux.hosts.target import find

    check_until(until)  # a usage error comes before any lookup
    result = find(ident, repo, cli_filter).wait(until, timeout)
    print_json(result.to_dict())
    if result.exit_code:
        sys.exit(result.exit_code)
