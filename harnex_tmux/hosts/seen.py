"""What each host's sessions looked like when it last answered ``status``.

A host that is down cannot say what runs there, but its sessions most likely still do (a
network fault does not end a remote tmux server). ``status`` shows them as last seen, with
their state ``unknown`` and ``stale`` set, instead of making them vanish from the table
until the host answers again. The rows hold no tokens (status rows never do).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harnex_tmux.state import read_json, state_root, utc_now, write_private

# Fields that describe the moment of the answer: a stale row leaves them out.
LIVE_FIELDS = ("log_mtime", "log_idle_s", "inbox", "agent_alive", "usage")


@dataclass(frozen=True)
class LastSeen:
    at: str
    rows: list[dict[str, Any]]


def _path(host_name: str) -> Path:
    # Host names are checked (letters, digits, '.', '_', '-'): safe as file names.
    return state_root() / "hosts" / f"{host_name}.seen.json"


def remember(host_name: str, rows: list[dict[str, Any]]) -> None:
    """Keep a host's full answer (not a filtered one: ``status --id`` would forget the rest)."""
    write_private(_path(host_name), json.dumps({"at": utc_now(), "rows": rows}) + "\n")


def last_seen(host_name: str) -> LastSeen | None:
    data = read_json(_path(host_name))
    if not data or not isinstance(data.get("rows"), list):
        return None
    rows = [row for row in data["rows"] if isinstance(row, dict)]
    return LastSeen(str(data.get("at") or ""), rows)


def stale_rows(host_name: str, reason: str, ident: str | None = None) -> list[dict[str, Any]]:
    """The host's last known sessions (only ``ident`` when given), each marked stale: state
    ``unknown``, what it was as ``last_state``, when as ``last_seen``, and why."""
    seen = last_seen(host_name)
    if seen is None:
        return []
    rows = []
    for row in seen.rows:
        if ident is not None and row.get("id") != ident:
            continue
        stale = {k: v for k, v in row.items() if k not in LIVE_FIELDS}
        stale.update(
            state="unknown",
            stale=True,
            last_state=row.get("state"),
            last_seen=seen.at,
            host_error=reason,
            machine=host_name,
        )
        rows.append(stale)
    return rows


def forget(host_name: str) -> None:
    """``hosts remove``: its sessions are no longer ours to show."""
    _path(host_name).unlink(missing_ok=True)
