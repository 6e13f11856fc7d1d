"""``harnex events``: print a session's JSONL events, and by default follow them to the end."""

from __future__ import annotations

import os
import sys

import click

from harnex_tmux.cli.options import target_options


@click.command()
@target_options
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="Keep printing new events until the session's `exited` event.",
)
@click.option("--snapshot", is_flag=True, help="Print the events there are now and exit.")
@click.option(
    "--from",
    "since",
    metavar="TS",
    help="Only events at or after this ISO-8601 time (UTC unless it has an offset).",
)
def command(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    follow: bool,
    snapshot: bool,
    since: str | None,
) -> None:
    """Print the session's events log, one JSON object per line.

    Works for ended sessions too. Exit 0 once the events are printed (--snapshot) or the
    session has exited; 1 on an error (no such session, unreadable events file).
    """
    from harnex_tmux.cli.on_host import follow_on_host, is_remote
    from harnex_tmux.session.events import locate, parse_since, read_events

    if ident is not None and is_remote(ident):
        args = ["events", "--follow" if follow else "--no-follow"]
        args += (["--snapshot"] if snapshot else []) + (["--from", since] if since else [])
        follow_on_host(ident, args)
        return
    moment = parse_since(since) if since is not None else None
    source = locate(ident, repo, cli_filter)
    out = sys.stdout
    try:
        for event in read_events(source, moment, follow=follow and not snapshot):
            out.write(event.raw + "\n")
            out.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): not an error. Point stdout at /dev/null so the
        # interpreter's final flush does not complain about the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
