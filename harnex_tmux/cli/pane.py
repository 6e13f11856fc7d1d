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
    from harnex_tmux.cli.on_host import follow_on_host, is_remote
    from harnex_tmux.hosts.target import find

    if follow and ident is not None and is_remote(ident):
        # One stream from the host's own follow, not one ssh round trip per capture.
        args = ["pane", "--follow", "--interval", f"{interval:g}"]
        args += (["--lines", str(lines)] if lines else []) + (["--json"] if as_json else [])
        follow_on_host(ident, args, lines_of_json=as_json)
        return
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
