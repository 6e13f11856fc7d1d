"""``harnex pane``: what the session's tmux pane shows right now."""

from __future__ import annotations

import time

import click

from harnex_tmux.cli.options import print_json, target_options


@click.command()
@target_options
@click.option(
    "--lines",
    type=click.IntRange(min=1),
    default=None,
    help="Only the last N lines (default: the whole visible pane).",
)
@click.option("--follow", "-f", is_flag=True, help="Capture again every --interval seconds.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="{ok, id, captured_at, lines, text, ...}.")
def command(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    lines: int | None,
    follow: bool,
    interval: float,
    as_json: bool,
) -> None:
    """Capture the live pane; an id not in this repo may match a session elsewhere."""
    from harnex_tmux.hosts.target import find

    previous = None
    while True:
        # Found again each time: once the agent exits, its ended session answers "exited".
        snapshot = find(ident, repo, cli_filter, any_repo=True).pane(lines)
        if as_json:
            print_json(snapshot.to_dict())
        elif snapshot.text != previous:
            if previous is not None:
                click.echo(f"--- {snapshot.captured_at} ---")
            click.echo(snapshot.text)
        previous = snapshot.text
        if not follow or snapshot.state == "exited":
            return
        time.sleep(interval)
