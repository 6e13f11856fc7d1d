"""OpenCode's usage: its own database (checked against 1.18.33).

OpenCode keeps every message in ``$XDG_DATA_HOME/opencode/opencode.db`` (SQLite; default
``~/.local/share/opencode``): table ``message`` (``id``, ``session_id``, ``time_updated``,
``data`` as JSON). An assistant message's data has its turn's user message (``parentID``),
``tokens {input, output, reasoning,
cache {read, write}}``, ``modelID`` and ``cost``, OpenCode's own figure in USD (0 for a
model it has no price for, which then counts as no figure). A subagent runs in a child
session (``session.parent_id``), whose messages count too. Read only, and only the rows
updated since the last read.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harnex_tmux.usage.model import Usage, count
from harnex_tmux.usage.reader import Reader

CHILDREN = "SELECT id FROM session WHERE parent_id = ?"
UPDATED = (
    "SELECT id, time_updated, data FROM message WHERE session_id = ? AND time_updated >= ? "
    "ORDER BY time_created, id"
)


def database(env: Mapping[str, str]) -> str:
    """Where OpenCode run with ``env`` keeps its database."""
    data = env.get("XDG_DATA_HOME") or os.path.join(
        env.get("HOME") or str(Path.home()), ".local", "share"
    )
    return os.path.join(data, "opencode", "opencode.db")


def message_usage(data: Any) -> Usage | None:
    """The usage of one message's data, or None for a user message or a malformed one."""
    if not isinstance(data, dict) or data.get("role") != "assistant":
        return None
    tokens = data.get("tokens")
    if not isinstance(tokens, dict):
        return None
    cache = tokens.get("cache")
    cache = cache if isinstance(cache, dict) else {}
    cost = data.get("cost")
    known = isinstance(cost, int | float) and not isinstance(cost, bool) and 0 < cost < 1e9
    model = data.get("modelID")
    times = data.get("time")
    at = times.get("created") if isinstance(times, dict) else None
    return Usage(
        input=count(tokens.get("input")),
        cached=count(cache.get("read")),
        cache_write=count(cache.get("write")),
        output=count(tokens.get("output")),
        reasoning=count(tokens.get("reasoning")),
        cost_usd=float(cost) if known and isinstance(cost, int | float) else None,
        model=model if isinstance(model, str) else None,
        at=_iso(at),
        turn=parent if isinstance(parent := data.get("parentID"), str) else None,
    )


def _iso(millis: Any) -> str | None:
    if not isinstance(millis, int) or isinstance(millis, bool):
        return None
    from datetime import UTC, datetime

    try:
        moment = datetime.fromtimestamp(millis / 1000, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"  # to the ms
    except (OverflowError, OSError, ValueError):
        return None


class OpenCodeReader(Reader):
    """One OpenCode session (and its child sessions) in OpenCode's database."""

    def __init__(self, db: str, session: str) -> None:
        self.db = db
        self.session = session
        self._messages: dict[str, Usage] = {}
        self._since: dict[str, int] = {}
        self._problem: str | None = None

    def read(self) -> list[Usage]:
        try:
            connection = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1.0)
        except sqlite3.Error as exc:
            self._problem = f"{self.db}: {exc}"
            return list(self._messages.values())
        try:
            sessions = [self.session]
            for ident in sessions:  # grows as children are found
                sessions += [row[0] for row in connection.execute(CHILDREN, (ident,))]
            for ident in sessions:
                self._read_session(connection, ident)
            self._problem = None
        except sqlite3.Error as exc:
            self._problem = f"{self.db}: {exc}"
        finally:
            connection.close()
        return list(self._messages.values())

    def _read_session(self, connection: sqlite3.Connection, session: str) -> None:
        since = self._since.get(session, 0)
        for ident, updated, text in connection.execute(UPDATED, (session, since)):
            try:
                usage = message_usage(json.loads(text))
            except (TypeError, ValueError, RecursionError):
                usage = None
            if usage is not None:
                self._messages[str(ident)] = usage
            if isinstance(updated, int):
                since = max(since, updated)
        self._since[session] = since

    def problems(self) -> list[str]:
        return [self._problem] if self._problem else []
