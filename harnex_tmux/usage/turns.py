"""Each turn's share of a session's usage, for the ``usage`` event a finished turn adds.

Agents write their usage down a little after they report the turn's end (Claude Code's
transcript lags its Stop hook), and the next turn may start at once; so a turn's calls are
not "what was added since the last turn" but the calls of the CLI's own turns (``Usage.turn``)
that began before the turn ended. A turn's calls written late still count, in the next event.
"""

from __future__ import annotations

from datetime import datetime

from harnex_tmux.usage.model import Usage, total


def when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class TurnShares:
    """What the session's ``usage`` events have told so far, per CLI turn."""

    def __init__(self) -> None:
        self._told: dict[str | None, Usage] = {}

    def due(self, calls: list[Usage], ended: datetime) -> Usage | None:
        """The untold part of the turns that began by ``ended``; None if there is none."""
        shares = [share for _, share in self._due(calls, ended)]
        return total(shares) if shares else None

    def take(self, calls: list[Usage], ended: datetime) -> Usage | None:
        """:meth:`due`, now told."""
        found = self._due(calls, ended)
        for turn, share in found:
            told = self._told.get(turn)
            self._told[turn] = share if told is None else told + share
        return total([share for _, share in found]) if found else None

    def _due(self, calls: list[Usage], ended: datetime) -> list[tuple[str | None, Usage]]:
        groups: dict[str | None, list[Usage]] = {}
        for call in calls:
            groups.setdefault(call.turn, []).append(call)
        found = []
        for turn, members in groups.items():
            began = [t for t in (when(c.turn_at or c.at) for c in members) if t is not None]
            if began and min(began) > ended:
                continue
            whole = total(members)
            told = self._told.get(turn)
            share = whole if told is None else whole.minus(told)
            if share.tokens > 0:
                found.append((turn, share))
        return found
