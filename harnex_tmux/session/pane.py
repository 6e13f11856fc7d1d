"""Capturing a session's pane: through the sidecar when it is up, straight from tmux when it
is not (sidecar down, or the agent exited and its pane was kept)."""

from __future__ import annotations

from harnex_tmux.errors import HarnexError, SidecarUnreachable
from harnex_tmux.pane_text import PaneSnapshot, trim_capture
from harnex_tmux.session.client import SidecarClient
from harnex_tmux.state import SessionRecord, utc_now


def capture_live(record: SessionRecord, lines: int | None) -> PaneSnapshot:
    """The pane of a running session, asked of its sidecar; from tmux when it does not
    answer."""
    query = f"/pane?lines={lines}" if lines else "/pane"
    try:
        client = SidecarClient.for_record(record, timeout=3.0)
        # A sidecar started by an older harnex-tmux counted the lines instead.
        return PaneSnapshot.from_dict(
            {**client.expect(client.request("GET", query)), "lines": lines}
        )
    except SidecarUnreachable:
        if not record.tmux_socket or not record.pane_id:
            raise
        return capture_direct(record.id, record.tmux_socket, record.pane_id, lines, "unknown")


def capture_direct(
    ident: str, socket: str, pane: str, lines: int | None, state: str
) -> PaneSnapshot:
    """The pane read from tmux itself, for a session whose sidecar is gone."""
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
    return PaneSnapshot(ident, utc_now(), lines, text, pane, state)
