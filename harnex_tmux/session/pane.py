"""Capturing a session's pane for ``harnex pane``: through the sidecar when it is up, straight
from tmux when it is not (sidecar down, or the agent exited and its pane was kept)."""

from __future__ import annotations

from typing import Any

from harnex_tmux.errors import HarnexError, SessionNotFound, SidecarUnreachable
from harnex_tmux.session.client import SidecarClient
from harnex_tmux.session.find import find_ended, find_session
from harnex_tmux.state import utc_now


def trim_capture(text: str, lines: int | None) -> str:
    rows = text.rstrip("\n").split("\n")
    while rows and not rows[-1].strip():
        rows.pop()
    if lines is not None:
        rows = rows[-lines:]
    return "\n".join(rows)


def capture_session(
    ident: str | None, repo: str | None, cli: str | None, lines: int | None
) -> dict[str, Any]:
    try:
        record = find_session(ident, repo, cli, any_repo=True)
    except SessionNotFound:
        ended = find_ended(ident, repo, any_repo=True)
        if ended is None:
            raise
        socket, pane = ended.exit.extra.get("tmux_socket"), ended.exit.extra.get("pane_id")
        if not isinstance(socket, str) or not isinstance(pane, str):
            raise
        return _direct(ended.exit.id, socket, pane, lines, "exited")
    query = f"/pane?lines={lines}" if lines else "/pane"
    try:
        client = SidecarClient.for_record(record, timeout=3.0)
        # A sidecar started by an older harnex-tmux counted the lines instead.
        return {**client.expect(client.request("GET", query)), "lines": lines}
    except SidecarUnreachable:
        if not record.tmux_socket or not record.pane_id:
            raise
        return _direct(record.id, record.tmux_socket, record.pane_id, lines, "unknown")


def _direct(ident: str, socket: str, pane: str, lines: int | None, state: str) -> dict[str, Any]:
    from harnex_tmux.tmux import Tmux

    tmux = Tmux(socket)
    status = tmux.pane_status(pane)
    if status is None:
        raise HarnexError(f"the pane of {ident!r} is gone")
    if status.dead:
        # When the process dies tmux scrolls the last screen up to print its "Pane is dead"
        # line at the bottom, so what the agent printed is partly in the history now.
        rows = tmux.capture(pane, scrollback=-1).rstrip("\n").split("\n")
        if rows and rows[-1].startswith("Pane is dead"):
            rows.pop()
        text = trim_capture("\n".join(rows), lines)
    else:
        text = trim_capture(tmux.capture(pane, scrollback=lines or 0), lines)
    return snapshot(ident, pane, state, text, lines)


def snapshot(ident: str, pane: str, state: str, text: str, lines: int | None) -> dict[str, Any]:
    """``pane --json``'s object; ``lines`` echoes the ``--lines`` asked for (None: the whole
    pane), as 0.4.0 did."""
    return {
        "ok": True,
        "id": ident,
        "captured_at": utc_now(),
        "lines": lines,
        "text": text,
        "pane_id": pane,
        "state": state,
    }
