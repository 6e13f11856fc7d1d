"""``harnex stop``: the adapter's stop sequence, then terminate."""

from __future__ import annotations

import click

from harnex_tmux.cli.options import print_json, target_options


@click.command()
@target_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the agent to exit (exit 124 if it is still alive).",
)
def command(ident: str | None, repo: str | None, cli_filter: str | None, timeout: float) -> None:
    """Stop a session and close its window; a worktree and its branch stay (see clean)."""
    from harnex_tmux.control import stop_session
    from harnex_tmux.errors import SessionNotFound
    from harnex_tmux.lookup import find_ended, find_session

    try:
        record = find_session(ident, repo, cli_filter)
    except SessionNotFound:
        ended = find_ended(ident, repo)
        if ended is None:
            raise
        _close_leftover_pane(ended.exit.extra)
        print_json(
            {
                "ok": True,
                "id": ended.exit.id,
                "already_exited": True,
                "code": ended.exit.code,
                "signal": ended.exit.signal,
            }
        )
        return
    exit_record = stop_session(record, timeout)
    data = {"ok": True, "id": record.id, "code": exit_record.code, "signal": exit_record.signal}
    if record.worktree:
        # Stopping never deletes work: say where it stays (harnex clean removes it later).
        data["worktree"] = record.worktree.get("path")
        data["branch"] = record.worktree.get("branch")
    print_json(data)


def _close_leftover_pane(info: dict[str, object]) -> None:
    """An exited agent's pane stays for inspection until stop: remove it now."""
    socket, window = info.get("tmux_socket"), info.get("window_id")
    if isinstance(socket, str) and isinstance(window, str):
        from harnex_tmux.tmux import Tmux

        Tmux(socket).kill_window(window)
