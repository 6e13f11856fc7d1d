"""How the dashboard's fleet loads, against real sessions: the list from the state folder
alone (no sidecar asked, no git run), what the sidecars say after it, and what changed
between the reading and the watcher's start taken in by the catch-up."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from conftest import Harnex, wait_for
from test_dash import start_ready

from harnex_tmux.dash import source
from harnex_tmux.dash.app import DashApp
from harnex_tmux.dash.fleet import Fleet
from tests.procs import gone as ended


def _state(fleet: Fleet, ident: str) -> str | None:
    return next((r.state for r in fleet.rows() if r.id == ident), None)


def _events_log(harnex: Harnex, ident: str) -> Path:
    return next((harnex.state_dir / "events").glob(f"*--{ident}.jsonl"))


def _append(log: Path, event: dict[str, object]) -> None:
    line = {"schema_version": 1, "seq": 90_000, "ts": "2030-01-01T00:00:00Z", **event}
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def test_the_list_comes_from_the_files_and_the_sidecars_answer_after(harnex: Harnex) -> None:
    """A hung sidecar (stopped with SIGSTOP) holds up nothing the list needs: loaded from
    the files, the session shows the state its events log last said; asked afterwards, it
    is ``unresponsive``. A sidecar that is gone is ``sidecar-down`` from the files, by its
    pid."""
    hung = start_ready(harnex, "hung")
    gone = start_ready(harnex, "gone")
    os.kill(gone["sidecar_pid"], signal.SIGKILL)
    # The kill is done once the process has ended (the signal is taken a moment later).
    wait_for(lambda: ended(gone["sidecar_pid"]))
    os.kill(hung["sidecar_pid"], signal.SIGSTOP)
    try:
        fleet = Fleet(str(harnex.repo))
        fleet.load()
        assert _state(fleet, "hung") == "prompt"
        assert _state(fleet, "gone") == "sidecar-down"
        gone_row = next(r for r in fleet.rows() if r.id == "gone")
        assert gone_row.problem is not None and "sidecar is down" in gone_row.problem
        assert fleet.ask_sidecars()  # the hung one changed
        assert _state(fleet, "hung") == "unresponsive"
        assert _state(fleet, "gone") == "sidecar-down"
    finally:
        os.kill(hung["sidecar_pid"], signal.SIGCONT)


def test_loading_ahead_gives_the_same_list(harnex: Harnex) -> None:
    start_ready(harnex, "one")
    start_ready(harnex, "two")
    plain = Fleet(str(harnex.repo))
    assert not plain.ready  # nothing read ahead: the app loads it itself
    plain.load()
    ahead = Fleet(str(harnex.repo))
    ahead.start_loading()
    ahead.load()
    assert ahead.ready
    assert sorted(ahead.rows(), key=lambda r: r.id) == sorted(plain.rows(), key=lambda r: r.id)
    assert {r.id for r in ahead.rows()} == {"one", "two"}


def test_a_fleet_read_ahead_is_in_the_first_frame(
    harnex: Harnex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``harnex dash`` reads the folder while Textual is imported: the app shows it as it
    mounts, with no loading worker at all (here there is none)."""
    start_ready(harnex, "early")
    fleet = Fleet(str(harnex.repo))
    fleet.start_loading()
    fleet.load()
    monkeypatch.setattr(DashApp, "_load", lambda self: None)
    app = DashApp(str(harnex.repo), fleet=fleet)

    async def main() -> None:
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            assert app.loaded and [r.id for r in app.shown] == ["early"]
            assert "0 need you · 0 busy · 1 idle" in str(app.query_one("#banner").render())

    asyncio.run(main())


def test_an_error_met_while_loading_ahead_is_raised_to_load(
    harnex: Harnex, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(repo_root: str | None) -> list[object]:
        raise OSError("the state folder is gone")

    monkeypatch.setattr(source, "live_records", broken)
    fleet = Fleet(str(harnex.repo))
    fleet.start_loading()
    with pytest.raises(OSError, match="state folder is gone"):
        fleet.load()
    assert not fleet.ready


def test_catch_up_takes_in_what_the_watcher_could_not_see(harnex: Harnex) -> None:
    start_ready(harnex, "late")
    fleet = Fleet(str(harnex.repo))
    fleet.load()
    assert _state(fleet, "late") == "prompt"
    # Written after the reading and before any watcher ran.
    _append(_events_log(harnex, "late"), {"id": "late", "type": "state", "to": "busy"})
    assert fleet.catch_up()
    assert _state(fleet, "late") == "busy"
    assert not fleet.catch_up()  # nothing new since


def test_a_failed_message_is_looked_up_unless_a_later_one_got_through(
    harnex: Harnex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sidecar is asked about a failed message after the log's new lines are read, and
    only when no delivery followed it in them (a delivery says the agent is there)."""
    start_ready(harnex, "flaky")
    asked: list[str] = []

    def status(record: object, message_id: str) -> str:
        asked.append(message_id)
        return "unconfirmed"

    monkeypatch.setattr(source, "message_status", status)
    fleet = Fleet(str(harnex.repo))
    fleet.load()
    log = _events_log(harnex, "flaky")
    _append(log, {"id": "flaky", "type": "failed", "message_id": "m1"})
    _append(log, {"id": "flaky", "type": "delivered", "message_id": "m2"})
    fleet.catch_up()
    assert asked == []
    assert next(r for r in fleet.rows() if r.id == "flaky").unconfirmed == 0
    _append(log, {"id": "flaky", "type": "failed", "message_id": "m3"})
    assert fleet.catch_up()
    assert asked == ["m3"]
    assert next(r for r in fleet.rows() if r.id == "flaky").unconfirmed == 1
