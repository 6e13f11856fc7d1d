"""``harnex dash``: every session on one screen, live (Textual, loaded only here)."""

from __future__ import annotations

import os
import sys

import click


@click.command()
@click.option("--repo", type=click.Path(file_okay=False), help="Only that repo's sessions.")
@click.option("--all", "all_repos", is_flag=True, help="Sessions of every repo.")
@click.option("--window", is_flag=True, help="Open in its own tmux window (of the harnex session).")
def command(repo: str | None, all_repos: bool, window: bool) -> None:
    """Open the dashboard: sessions that need you first, then busy, idle, ended, with the
    selected one's pane, events and last reply beside the list. Press ? inside for keys."""
    from harnex_tmux.dash import source

    if window:
        argv = [sys.executable, "-m", "harnex_tmux", "dash"]
        argv += ["--all"] if all_repos else ["--repo", source.current_repo(repo)]
        how = source.open_in_window(argv, os.environ.get("HARNEX_TMUX_SOCKET"))
        if not how.done:
            os.execvp(how.attach[0], how.attach)
        return
    from harnex_tmux.dash.app import DashApp

    app = DashApp(None if all_repos else source.current_repo(repo))
    app.run()
