"""``harnex usage``'s library side: every session's usage (running or ended) read from the
files its record names, filtered by time and summed by session, CLI, model or day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harnex_tmux.state import ExitRecord, list_sessions, repo_root_for, state_root
from harnex_tmux.usage.model import Usage, total
from harnex_tmux.usage.prices import PriceTable, load
from harnex_tmux.usage.session import Report, SessionUsage
from harnex_tmux.usage.sources import from_record

GROUPS = ("session", "cli", "model", "day")


@dataclass(frozen=True)
class SessionRow:
    """One session's usage: its id, CLI, repo, whether it ended, and the report."""

    id: str
    cli: str
    repo_root: str
    ended: bool
    report: Report


def sessions(ident: str | None, repo: str | None, all_repos: bool) -> list[SessionRow]:
    """The usage of the sessions the options name, running ones first (read from the files,
    so a session whose sidecar is gone still counts)."""
    prices = load()
    root = None if all_repos else repo_root_for(repo)
    rows: list[SessionRow] = []
    seen: set[tuple[str, str]] = set()
    for record in list_sessions(root):
        if ident is None or record.id == ident:
            seen.add((record.repo_root, record.id))
            rows.append(_row(record.id, record.cli, record.repo_root, False, record.extra, prices))
    for path in sorted((state_root() / "exits").glob("*.json")):
        ended = ExitRecord.load(path)
        if ended is None or (ident is not None and ended.id != ident):
            continue
        where = str(ended.extra.get("repo_root") or "")
        if (root is not None and where != root) or (where, ended.id) in seen:
            continue
        cli = str(ended.extra.get("cli") or "")
        rows.append(_row(ended.id, cli, where, True, ended.extra, prices))
    return rows


def _row(
    ident: str, cli: str, repo: str, ended: bool, facts: dict[str, Any], prices: PriceTable
) -> SessionRow:
    return SessionRow(ident, cli, repo, ended, SessionUsage(prices, from_record(facts)).read())


def since_time(text: str) -> datetime:
    """``--since``: a duration back from now (``2h``, ``3d``) or an ISO date or time."""
    from harnex_tmux.durations import parse_duration
    from harnex_tmux.errors import DurationError, UsageError

    spec = text.strip()
    now = datetime.now(UTC).timestamp()
    if spec.endswith("d") and spec[:-1].isdigit():
        return datetime.fromtimestamp(now - int(spec[:-1]) * 86400, UTC)
    try:
        seconds = parse_duration(spec)
    except DurationError:
        try:
            when = datetime.fromisoformat(spec.replace("Z", "+00:00"))
        except ValueError as exc:
            raise UsageError(f"--since {text!r}: give a duration (2h, 3d) or a date") from exc
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime.fromtimestamp(now - seconds, UTC)


def _after(call: Usage, since: datetime) -> bool:
    if call.at is None:
        return False
    try:
        return datetime.fromisoformat(call.at.replace("Z", "+00:00")) >= since
    except ValueError:
        return False


@dataclass(frozen=True)
class Line:
    """One row of the answer: a group's name and what it used."""

    name: str
    usage: Usage
    calls: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "calls": self.calls, **self.usage.to_dict()}


def grouped(rows: list[SessionRow], by: str, since: datetime | None = None) -> list[Line]:
    """The calls of ``rows`` (those at or after ``since``) summed per ``by`` group."""
    groups: dict[str, list[Usage]] = {}
    for row in rows:
        calls = [c for c in row.report.calls if since is None or _after(c, since)]
        if by == "session":
            groups.setdefault(row.id, []).extend(calls)
            continue
        for call in calls:
            if by == "cli":
                name = row.cli or "unknown"
            elif by == "model":
                name = call.model or "unknown"
            else:
                name = (call.at or "unknown")[:10]
            groups.setdefault(name, []).append(call)
    return [Line(name, total(calls), len(calls)) for name, calls in sorted(groups.items())]
