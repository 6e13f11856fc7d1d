"""The dashboard's list beyond the basics, against real sessions: the TOKENS and COST columns
once an agent reports usage, an ended session's description, the wide columns following the
terminal's width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import Harnex, spend_tokens
from test_dash import drive, start_ready, state_of, until

from harnex_tmux.dash.app import DashApp
from harnex_tmux.dash.table import FleetTable


def _row_text(app: DashApp, ident: str) -> dict[str, str]:
    table = app.query_one(FleetTable)
    line = next(line for line in table.lines if line.cells[table.columns.index("ID")] == ident)
    return dict(zip(table.columns, line.cells, strict=True))


def test_tokens_and_cost_appear_once_a_session_reports_usage(
    harnex: Harnex, tmp_path: Path
) -> None:
    """No usage: no TOKENS/COST columns. The sidecar's count at load, then each ended turn's
    ``usage`` event (read from the events log, no sidecar asked) moves the cells on."""
    start_ready(harnex, "quiet")
    start_ready(harnex, "spender")
    transcript = tmp_path / "session.jsonl"
    transcript.touch()

    async def script(pilot: Any, app: DashApp) -> None:
        table = app.query_one(FleetTable)
        await until(pilot, lambda: {r.id for r in app.shown} == {"quiet", "spender"})
        assert "TOKENS" not in table.columns and "COST" not in table.columns
        client = harnex.sidecar("spender", timeout=10)
        hook = {"hook_event_name": "SessionStart", "transcript_path": str(transcript)}
        client.request("POST", "/hook/claude", hook)
        spend_tokens(transcript, 1, 1500)
        # A turn ends: the sidecar writes its usage event with the session's total.
        client.request("POST", "/hook/claude", {"hook_event_name": "Stop"})
        await until(pilot, lambda: "TOKENS" in table.columns, timeout=30)
        shown = _row_text(app, "spender")
        assert shown["TOKENS"] == "1.5k" and shown["COST"].startswith("$")
        assert _row_text(app, "quiet")["TOKENS"] == "-"
        spend_tokens(transcript, 2, 2000)
        client.request("POST", "/hook/claude", {"hook_event_name": "Stop"})
        await until(pilot, lambda: _row_text(app, "spender")["TOKENS"] == "3.5k", timeout=30)

    drive(harnex, script, (160, 30))

    # A dashboard opened later learns the total from the sidecar's status at once.
    async def later(pilot: Any, app: DashApp) -> None:
        await until(pilot, lambda: state_of(app, "spender") == "prompt")
        assert _row_text(app, "spender")["TOKENS"] == "3.5k"

    drive(harnex, later, (160, 30))


def test_wide_columns_use_the_room_the_terminal_gives(harnex: Harnex) -> None:
    long = "refactor the config loader so every setting has one place and one default value"
    harnex.start_demo("now", "--description", long)
    harnex.run("wait", "--id", "now", "--until", "prompt", "--timeout", "30", check=True)

    async def wide(pilot: Any, app: DashApp) -> None:
        await until(pilot, lambda: state_of(app, "now") == "prompt")
        table = app.query_one(FleetTable)
        assert table.widths[table.columns.index("DESC")] == len(long)
        assert long in table.render_line(1).text

    drive(harnex, wide, (260, 30))

    async def narrow(pilot: Any, app: DashApp) -> None:
        await until(pilot, lambda: state_of(app, "now") == "prompt")
        table = app.query_one(FleetTable)
        # Cut to the cells it keeps (24), so the columns after it stay; the text ends in "…".
        assert table.widths[table.columns.index("DESC")] == 24
        assert long[:23] + "…" in table.render_line(1).text
        assert _row_text(app, "now")["DESC"] == long

    drive(harnex, narrow, (120, 30))


def test_an_ended_session_keeps_its_description(harnex: Harnex) -> None:
    harnex.start_demo("old", "--description", "try a trie")
    harnex.run("wait", "--id", "old", "--until", "prompt", "--timeout", "30", check=True)
    harnex.run("stop", "--id", "old", check=True)

    async def script(pilot: Any, app: DashApp) -> None:
        await until(pilot, lambda: state_of(app, "old") == "exited")
        # Read from its resume card: the exit record holds no description.
        assert _row_text(app, "old")["DESC"] == "try a trie"

    drive(harnex, script, (120, 30))
