"""``harnex dash``: every session on one screen, live (Textual, loaded only here)."""

from __future__ import annotations

import gc
import os
import sys

import click

from harnex_tmux.errors import UsageError


@click.command()
@click.option("--repo", type=click.Path(file_okay=False), help="Only that repo's sessions.")
@click.option("--all", "all_repos", is_flag=True, help="Sessions of every repo.")
@click.option("--window", is_flag=True, help="Open in its own tmux window (of the harnex session).")
@click.option("--web", is_flag=True, help="Serve the dashboard to a browser on 127.0.0.1.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="--web: the port (0: any free one)."
)
@click.option(
    "--token",
    envvar="HARNEX_DASH_TOKEN",
    help="--web: the token every request needs (default: a new one, printed once).",
)
@click.option("--read-only", is_flag=True, help="Watch only: no send, answer, stop, jump...")
def command(
    repo: str | None,
    all_repos: bool,
    window: bool,
    web: bool,
    port: int,
    token: str | None,
    read_only: bool,
) -> None:
    """Open the dashboard: sessions that need you first, then busy, idle, ended, with the
    selected one's pane, events and last reply beside the list. Press ? inside for keys.

    With --web it is served to a browser instead, on 127.0.0.1 only; every request needs
    the token (printed once at start, or given by --token / HARNEX_DASH_TOKEN)."""
    from harnex_tmux.dash import source

    if window and web:
        raise UsageError("--window and --web do not go together")
    if not web:
        # A token from the environment is fine (it may be set for every shell); a port or
        # token typed without --web would look like serving while nothing is served.
        given = click.get_current_context().get_parameter_source
        for name in ("port", "token"):
            if given(name) == click.core.ParameterSource.COMMANDLINE:
                raise UsageError(f"--{name} goes with --web")
    root = None if all_repos else source.current_repo(repo)
    if web:
        from harnex_tmux.dash.web import Serving, WebOptions, serve

        def announce(serving: Serving) -> None:
            how = "watch only" if read_only else "every key acts"
            click.echo(f"harnex dash ({how}): {serving.url}", nl=True)
            click.echo("Ctrl+C stops it.", err=True)
            sys.stdout.flush()

        serve(WebOptions(root, port, token, read_only), announce)
        return
    if window:
        argv = [sys.executable, "-m", "harnex_tmux", "dash"]
        argv += ["--all"] if root is None else ["--repo", root]
        if read_only:
            argv.append("--read-only")
        how = source.open_in_window(argv, os.environ.get("HARNEX_TMUX_SOCKET"))
        if not how.done:
            os.execvp(how.attach[0], how.attach)
        return
    # Imports make few cycles but many objects, each of which the collector would go over
    # (its full passes took some 25 ms of the opening): none while importing, and what the
    # imports made, which lives as long as the process, is left out of later passes.
    gc.disable()
    from harnex_tmux.dash.fleet import Fleet

    # The state folder is read while Textual is imported (most of the opening's time): the
    # first frame can then show the list.
    fleet = Fleet(root)
    fleet.start_loading()
    from harnex_tmux.dash.app import DashApp

    gc.freeze()
    gc.enable()
    app = DashApp(root, read_only=read_only, fleet=fleet)
    app.run()
