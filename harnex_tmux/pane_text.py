"""What a pane showed, in the one shape both sides use: the sidecar's ``GET /pane`` answers
with it, and the client's ``pane`` (through the sidecar, or straight from tmux when the sidecar
is gone) returns it. Kept below both, so neither imports the other for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harnex_tmux.state import utc_now


def trim_capture(text: str, lines: int | None) -> str:
    rows = text.rstrip("\n").split("\n")
    while rows and not rows[-1].strip():
        rows.pop()
    if lines is not None:
        rows = rows[-lines:]
    return "\n".join(rows)


@dataclass(frozen=True)
class PaneSnapshot:
    """What a session's pane showed at ``captured_at``; ``lines`` echoes the number of lines
    asked for (None: the whole pane), as 0.4.0 did."""

    id: str
    captured_at: str
    lines: int | None
    text: str
    pane_id: str
    state: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PaneSnapshot:
        lines = data.get("lines")
        return cls(
            id=str(data.get("id")),
            captured_at=str(data.get("captured_at")),
            lines=lines if isinstance(lines, int) else None,
            text=str(data.get("text", "")),
            pane_id=str(data.get("pane_id")),
            state=str(data.get("state", "unknown")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "id": self.id,
            "captured_at": self.captured_at,
            "lines": self.lines,
            "text": self.text,
            "pane_id": self.pane_id,
            "state": self.state,
        }


def snapshot(ident: str, pane: str, state: str, text: str, lines: int | None) -> dict[str, Any]:
    """``pane --json``'s object, as the sidecar's ``/pane`` answers it."""
    return PaneSnapshot(ident, utc_now(), lines, text, pane, state).to_dict()
