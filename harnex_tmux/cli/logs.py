"""``harnex logs``: the session transcript, with terminal control sequences removed."""

from __future__ import annotations

import sys

import click

from harnex_tmux.cli.options import target_options


@click.command()
@target_options
@click.option(
    "--lines",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="How many trailing lines to print (0: none, e.g. with --follow for new output only).",
)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing new output until the session ends."
)
def command(
    ident: str | None, repo: str | None, cli_filter: str | None, lines: int, follow: bool
) -> None:
    """Print the transcript recorded from the session's pane (NAME:id: on that host)."""
    from harnex_tmux.cli.on_host import follow_on_host, is_remote

    if ident is not None and is_remote(ident):
        follow_on_host(ident, ["logs", "--lines", str(lines), *(["--follow"] if follow else [])])
        return
    from harnex_tmux.errors import HarnexError, SessionNotFound
    from harnex_tmux.session.find import find_ended, find_session
    from harnex_tmux.transcript import follow_transcript, tail_lines

    try:
        record = find_session(ident, repo, cli_filter, any_repo=True)
        paths, live = record.paths, record
    except SessionNotFound:
        ended = find_ended(ident, repo, any_repo=True)
        if ended is None:
            raise
        paths, live = ended.paths, None
    if not paths.output_log.exists():
        raise HarnexError(f"no transcript at {paths.output_log}")
    text, offset = tail_lines(paths.output_log, lines)
    sys.stdout.write(text)
    sys.stdout.flush()
    if follow and live is not None:
        for chunk in follow_transcript(paths, offset):
            sys.stdout.write(chunk)
            sys.stdout.flush()
