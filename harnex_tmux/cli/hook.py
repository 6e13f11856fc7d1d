"""``harnex hook SOURCE ...``: report an agent CLI's hook event to its session's sidecar.

Sessions started by harnex wire this up themselves (running :mod:`harnex_tmux.hook` directly,
which starts faster); the command is for wiring it by hand.
"""

from __future__ import annotations

import sys

import click


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(args: tuple[str, ...]) -> None:
    """claude EVENT (event JSON on stdin) or codex [--chain ARGV-JSON] PAYLOAD-JSON.
    Always exits 0 and prints nothing, so it can never break the agent."""
    from harnex_tmux.hook import main

    sys.exit(main(list(args)))
