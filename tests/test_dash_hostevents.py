"""A remote row's events trail (``dash/hostevents.py``) over the answers a host gives: the
first ask reads every event, each later one only those at or after the newest time seen,
and the lines of that second that come again are taken once; the last reply is the newest
``turn_complete``'s; a host that does not answer keeps what was seen, with its error.
The host here is a list of log lines (the real host's path is tests/test_dash_hosts.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harnex_tmux.dash import hostevents, source
from harnex_tmux.errors import HostUnreachable


class Host:
    """A session's events log on a host, answering as ``harnex events --snapshot --from``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.asked: list[str | None] = []
        self.down = False

    def log(self, ts: str, kind: str, **fields: Any) -> None:
        row = {"seq": len(self.lines) + 1, "ts": ts, "type": kind, **fields}
        self.lines.append(json.dumps(row))

    def events(self, target: str, since: str | None) -> list[source.HostEvent]:
        self.asked.append(since)
        if self.down:
            raise HostUnreachable("host 'box': connection refused")
        rows = [(line, json.loads(line)) for line in self.lines]
        return [
            source.HostEvent(raw, row) for raw, row in rows if since is None or row["ts"] >= since
        ]


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Host:
    found = Host()
    monkeypatch.setattr(source, "remote_events", found.events)
    return found


def _kinds(shown: hostevents.Shown) -> list[str]:
    return [str(e["type"]) for e in shown.events]


def test_each_event_once_and_the_newest_reply(host: Host) -> None:
    trails = hostevents.HostEvents()
    assert trails.shown("box:far") is None
    host.log("2026-12-06T03:00:00Z", "state", to="prompt")
    host.log("2026-12-06T03:00:01Z", "send", msg="hi")
    first = trails.fetch("box:far", "box:far")
    assert _kinds(first) == ["state", "send"] and first.fetched and first.last_reply is None
    # Same second as the newest seen: asked again from it, taken once.
    host.log("2026-12-06T03:00:01Z", "turn_complete", reply="one")
    host.log("2026-12-06T03:00:05Z", "turn_complete", reply="two")
    second = trails.fetch("box:far", "box:far")
    assert host.asked == [None, "2026-12-06T03:00:01Z"]
    assert _kinds(second) == ["state", "send", "turn_complete", "turn_complete"]
    assert second.last_reply == "two"
    third = trails.fetch("box:far", "box:far")
    assert host.asked[-1] == "2026-12-06T03:00:05Z" and third == second


def test_a_host_down_keeps_what_was_seen_with_its_error(host: Host) -> None:
    trails = hostevents.HostEvents()
    host.log("2026-12-06T03:00:00Z", "turn_complete", reply="kept")
    trails.fetch("box:far", "box:far")
    host.down = True
    shown = trails.fetch("box:far", "box:far")
    assert shown.error == "host 'box': connection refused"
    assert _kinds(shown) == ["turn_complete"] and shown.last_reply == "kept"
    host.down = False
    assert trails.fetch("box:far", "box:far").error is None


def test_a_damaged_time_is_never_where_an_ask_starts_and_its_line_shows_once(host: Host) -> None:
    trails = hostevents.HostEvents()
    host.log("2026-12-06T03:00:00Z", "state", to="prompt")
    host.log("not a time", "state", to="busy")
    trails.fetch("box:far", "box:far")
    shown = trails.fetch("box:far", "box:far")
    assert host.asked == [None, "2026-12-06T03:00:00Z"]
    assert [e["to"] for e in shown.events] == ["prompt", "busy"]  # each once
