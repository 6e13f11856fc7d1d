"""``harnex attach``: put the caller's terminal on a session's window, here or on a host.

Outside tmux the caller's terminal becomes a tmux client of the session's server: here
``tmux attach``, on a host ``ssh -t`` running it there. Inside tmux a terminal cannot hold
a second client, so the window is shown on the caller's own client instead: the session's
own window when it is on the caller's server, else a new window of the caller's session
that runs the attach (a nested client, or the ssh to the host).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from harnex_tmux.errors import HarnexError
from harnex_tmux.hosts import ssh
from harnex_tmux.hosts.remote import RemoteSession
from harnex_tmux.session.find import find_session
from harnex_tmux.tmux import Tmux


@dataclass(frozen=True)
class AttachPlan:
    """Shown already on the caller's tmux client (``done``), or the argv to exec."""

    done: bool
    argv: list[str]


def plan(ident: str | None, repo: str | None, cli: str | None) -> AttachPlan:
    caller = os.environ.get("TMUX", "").split(",")[0] or None
    if ident is not None and ":" in ident:
        session = RemoteSession.for_target(ident)
        record = session.status().record
        if not record.tmux_socket or not record.window_id:
            raise HarnexError(f"{session.target} has no tmux window to attach to")
        sock, window = shlex.quote(record.tmux_socket), shlex.quote(record.window_id)
        script = (
            f"tmux -S {sock} select-window -t {window} && "
            f"exec tmux -S {sock} attach-session -t {window}"
        )
        argv = ssh.terminal_argv(session.host.dest, script)
        name, nested = session.target, False
    else:
        local = find_session(ident, repo, cli, any_repo=True)
        if not local.tmux_socket or not local.window_id:
            raise HarnexError(f"{local.id!r} has no tmux window to attach to")
        tmux = Tmux(local.tmux_socket)
        same = caller is not None and os.path.realpath(caller) == os.path.realpath(
            local.tmux_socket
        )
        if same:
            tmux.show_window(local.window_id)
            return AttachPlan(True, [])
        tmux.show_window(local.window_id)
        argv = tmux.attach_command(local.window_id)
        name, nested = local.id, True
    if caller is None:
        return AttachPlan(False, argv)
    if nested:
        # A tmux client started inside another tmux refuses to run unless TMUX is unset.
        argv = ["env", "-u", "TMUX", *argv]
    mine = Tmux(caller)
    shown = mine.open_window(f"attach:{name}", argv, os.getcwd(), None)
    mine.show_window(shown)
    return AttachPlan(True, [])
