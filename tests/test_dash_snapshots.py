"""Snapshot tests of the dashboard's screens (pytest-textual-snapshot): a fixed fleet of six
sessions, one in each kind of state, a fixed clock and a fixed pane, so any change to what a
person sees shows up as a changed SVG under ``__snapshots__/`` (refresh them with
``pytest tests/test_dash_snapshots.py --snapshot-update`` after looking at the difference).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from harnex_tmux.dash import source
from harnex_tmux.dash.app import DashApp
from harnex_tmux.dash.fleet import Detail, Fleet
from harnex_tmux.dash.model import FleetRow, UsageCells, WorktreeCells
from harnex_tmux.state import SessionRecord

NOW = 1_780_000_000.0  # the fixed clock every FOR cell is measured from
PANE = "claude> migrate the users table\n\nAllow the change to db/schema.sql? (y/n)"
SnapCompare = Callable[..., bool]


def _record(ident: str) -> SessionRecord:
    return SessionRecord(
        id=ident,
        cli="claude",
        repo_root="/work/shop",
        host="127.0.0.1",
        port=1,
        token="t",
        session_id=ident,
        started_at="2026-06-01T10:00:00Z",
        output_log_path="/nonexistent/out.log",
        events_log_path="/nonexistent/events.jsonl",
        tmux_socket="/nonexistent/tmux",
        pane_id="%1",
    )


ROWS = [
    FleetRow(
        "h--ask",
        "schema",
        "claude",
        "confirmation",
        NOW - 75,
        "migrate the users table",
        worktree=WorktreeCells("schema-v2", 2, 3),
        usage=UsageCells(412_000, 1.84),
    ),
    FleetRow(
        "h--lost",
        "flaky",
        "codex",
        "sidecar-down",
        NOW - 300,
        "find the flaky test",
        problem="its sidecar is down: r recovers it (queued messages are then delivered)",
    ),
    FleetRow("h--check", "docs", "gemini", "prompt", NOW - 30, "document the CLI", unconfirmed=1),
    FleetRow(
        "h--busy",
        "parser",
        "claude",
        "busy",
        NOW - 42,
        "implement the parser for the config format, with a test for every rule",
        queued=2,
        usage=UsageCells(9_300, None),
    ),
    FleetRow("h--idle", "review", "qwen", "prompt", NOW - 3600, "review parser.py"),
    FleetRow("h--old", "spike", "aider", "exited", NOW - 7200, "try a trie"),
]
EVENTS = [
    {"ts": "2026-06-01T10:00:01Z", "type": "started", "pid": 4242},
    {"ts": "2026-06-01T10:00:02Z", "type": "state", "from": "unknown", "to": "prompt"},
    {"ts": "2026-06-01T10:01:00Z", "type": "send", "msg": "migrate the users table"},
    {"ts": "2026-06-01T10:01:05Z", "type": "state", "from": "busy", "to": "confirmation"},
]


class FixedFleet(Fleet):
    """The same six sessions always: nothing read from the state folder or a sidecar."""

    def __init__(self) -> None:
        super().__init__("/work/shop")

    def load(self) -> None:
        return None

    def apply(self, changed: Iterable[str]) -> bool:
        return False

    def check_sidecars(self) -> bool:
        return False

    def reconcile(self) -> bool:
        return False

    def rows(self) -> list[FleetRow]:
        return list(ROWS)

    def detail(self, key: str) -> Detail | None:
        row = next((r for r in ROWS if r.key == key), None)
        if row is None:
            return None
        reply = "Parser done; 14 tests pass." if row.id == "parser" else None
        return Detail(row, EVENTS, reply, self.record(key))

    def record(self, key: str) -> SessionRecord | None:
        row = next((r for r in ROWS if r.key == key), None)
        return None if row is None or row.state == "exited" else _record(row.id)


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., DashApp]:
    monkeypatch.setenv("HARNEX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(source, "capture", lambda record, lines: PANE)

    def make(read_only: bool = False) -> DashApp:
        return DashApp("/work/shop", read_only=read_only, fleet=FixedFleet(), clock=lambda: NOW)

    return make


async def settled(pilot: Any) -> None:
    """Until the list, the selected session's panels and its pane are on screen."""
    app = pilot.app
    deadline = time.monotonic() + 30
    while not (app.loaded and app.selected and "Allow the change" in str(_pane(app))):
        if time.monotonic() > deadline:
            raise AssertionError("the dashboard did not settle within 30 s")
        await pilot.pause(0.05)
    await pilot.pause()


def _pane(app: DashApp) -> object:
    return app.query_one("#pane").render()


def test_main_screen(snap_compare: SnapCompare, fixed: Callable[..., DashApp]) -> None:
    assert snap_compare(fixed(), terminal_size=(140, 30), run_before=settled)


def test_narrow_terminal_puts_the_panels_under_the_list(
    snap_compare: SnapCompare, fixed: Callable[..., DashApp]
) -> None:
    assert snap_compare(fixed(), terminal_size=(60, 30), run_before=settled)


def test_a_wide_terminal_shows_whole_descriptions(
    snap_compare: SnapCompare, fixed: Callable[..., DashApp]
) -> None:
    assert snap_compare(fixed(), terminal_size=(300, 30), run_before=settled)


def test_a_40x12_terminal(snap_compare: SnapCompare, fixed: Callable[..., DashApp]) -> None:
    assert snap_compare(fixed(), terminal_size=(40, 12), run_before=settled)


REMOTE = [
    FleetRow(
        "box:lint",
        "lint",
        "codex",
        "busy",
        NOW - 20,
        "fix the lint warnings",
        host="box",
        usage=UsageCells(52_000, 0.12),
    ),
    FleetRow(
        "gpu:train",
        "train",
        "claude",
        "stale",
        NOW - 95,
        "tune the learning rate",
        host="gpu",
        problem="host 'gpu' is down (ssh: connect to host gpu port 22: Connection refused); "
        "shown as last seen at 2026-06-01T10:05:00Z, when it was busy",
    ),
]


class FleetWithHosts(FixedFleet):
    """The fixed fleet and two hosts: one answering, one down."""

    def __init__(self) -> None:
        super().__init__()
        self.hosts = ["box", "gpu"]
        self.hosts_down = {"gpu": "ssh: connect to host gpu port 22: Connection refused"}

    def refresh_hosts(self) -> bool:
        return False

    def rows(self) -> list[FleetRow]:
        return [*ROWS, *REMOTE]

    def detail(self, key: str) -> Detail | None:
        row = next((r for r in REMOTE if r.key == key), None)
        return Detail(row, [], None, None) if row is not None else super().detail(key)


def test_sessions_of_other_hosts(snap_compare: SnapCompare, fixed: Callable[..., DashApp]) -> None:
    """The HOST column, a remote row, and a stale one (its host down) selected."""

    async def the_stale_one(pilot: Any) -> None:
        await settled(pilot)
        app = pilot.app
        await pilot.press("down")  # the stale row sorts right after the sidecar-down one
        deadline = time.monotonic() + 30
        while "cannot be read" not in str(_pane(app)):
            if time.monotonic() > deadline:
                raise AssertionError("the stale row's pane text did not show within 30 s")
            await pilot.pause(0.05)
        await pilot.pause()

    app = DashApp("/work/shop", fleet=FleetWithHosts(), clock=lambda: NOW)
    assert snap_compare(app, terminal_size=(140, 30), run_before=the_stale_one)


def test_another_row_selected(snap_compare: SnapCompare, fixed: Callable[..., DashApp]) -> None:
    async def down_to_the_busy_one(pilot: Any) -> None:
        await settled(pilot)
        for _ in range(3):
            await pilot.press("down")
        await pilot.pause()

    assert snap_compare(fixed(), terminal_size=(140, 30), run_before=down_to_the_busy_one)


def test_read_only_hides_the_acting_keys(
    snap_compare: SnapCompare, fixed: Callable[..., DashApp]
) -> None:
    assert snap_compare(fixed(read_only=True), terminal_size=(140, 30), run_before=settled)


def test_help_screen(snap_compare: SnapCompare, fixed: Callable[..., DashApp]) -> None:
    async def help_open(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(fixed(), terminal_size=(140, 30), run_before=help_open)


def test_read_only_keys_do_nothing(fixed: Callable[..., DashApp]) -> None:
    """The same keys open their screens in a normal dashboard, and nothing in a read-only one
    (jump included: it would move the person's tmux client)."""
    import asyncio

    from harnex_tmux.dash.screens import SendScreen

    async def opened(read_only: bool) -> list[str]:
        app = fixed(read_only=read_only)
        seen = []
        async with app.run_test(size=(140, 30)) as pilot:
            await settled(pilot)
            for key in ("s", "x", "r"):
                await pilot.press(key)
                await pilot.pause()
                seen.append(type(app.screen).__name__)
                if len(app.screen_stack) > 1:
                    await pilot.press("escape")
                    await pilot.pause()
            await pilot.press("j")
            await pilot.pause()
            seen.append(app.message)
        return seen

    acting = asyncio.run(opened(read_only=False))
    assert acting[:2] == [SendScreen.__name__, "ConfirmScreen"]
    assert "cannot jump" in acting[3]  # it tried (the fixed fleet's record has no window)
    watching = asyncio.run(opened(read_only=True))
    assert watching[:3] == ["Screen", "Screen", "Screen"] and "cannot jump" not in watching[3]


def test_the_list_follows_the_mouse_and_the_keys(fixed: Callable[..., DashApp]) -> None:
    import asyncio

    from harnex_tmux.dash.table import FleetTable

    async def main() -> list[str | None]:
        app = fixed()
        chosen = []
        async with app.run_test(size=(140, 30)) as pilot:
            await settled(pilot)
            table = app.query_one(FleetTable)
            # The header is the list's first line: the fourth line down is the third row.
            await pilot.click(FleetTable, offset=(3, 3))
            await pilot.pause()
            chosen.append(app.selected)
            for key in ("end", "up", "home", "down"):
                await pilot.press(key)
                await pilot.pause()
                chosen.append(app.selected)
            await pilot.click(FleetTable, offset=(3, 0))  # the header selects nothing
            await pilot.pause()
            chosen.append(table.cursor_key)
        return chosen

    ordered = ["h--lost", "h--ask", "h--check", "h--busy", "h--idle", "h--old"]
    assert asyncio.run(main()) == [
        ordered[2],
        ordered[5],
        ordered[4],
        ordered[0],
        ordered[1],
        ordered[1],
    ]
