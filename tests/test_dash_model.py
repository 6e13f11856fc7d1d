"""The dashboard's rules as plain data: which sessions come first, how states read without
colour, and the tmux status segment."""

from __future__ import annotations

from harnex_tmux.dash.model import (
    LOOKS,
    FleetRow,
    Group,
    Layout,
    UsageCells,
    WorktreeCells,
    look_for,
    matches,
    ordered,
    short_duration,
    tmux_segment,
)


def row(ident: str, state: str, since: float | None = 100.0, **extra: object) -> FleetRow:
    return FleetRow(key=f"k--{ident}", id=ident, cli="demo", state=state, since=since, **extra)  # type: ignore[arg-type]


def test_those_that_need_the_person_come_first_then_busy_idle_ended() -> None:
    rows = [
        row("ended", "exited", 50),
        row("idle", "prompt", 10),
        row("busy", "busy", 20),
        row("asks", "confirmation", 90),
        row("down", "sidecar-down", 80),
        row("unconf", "prompt", 5, unconfirmed=1),
        row("starting", "unknown", 1),
    ]
    got = [r.id for r in ordered(rows)]
    assert got == ["unconf", "down", "asks", "busy", "starting", "idle", "ended"]
    assert [r.group for r in ordered(rows)][:3] == [Group.NEEDS_YOU] * 3


def test_within_a_group_the_longest_waiting_first_and_ended_newest_first() -> None:
    rows = [row("b", "busy", 30), row("a", "busy", 10), row("c", "busy", None)]
    assert [r.id for r in ordered(rows)] == ["a", "b", "c"]
    ended = [row("old", "exited", 10), row("new", "exited", 20)]
    assert [r.id for r in ordered(ended)] == ["new", "old"]


def test_every_state_has_its_own_glyph_apart_from_the_two_dialogs() -> None:
    glyphs = {state: look.glyph for state, look in LOOKS.items()}
    assert glyphs["confirmation"] == glyphs["workspace-trust-prompt"]
    others = [g for s, g in glyphs.items() if s != "workspace-trust-prompt"]
    assert len(set(others)) == len(others)
    assert all(g.isascii() and len(g) == 1 for g in glyphs.values())
    assert look_for("prompt", unconfirmed=2).glyph == "!"
    # A fault outranks an unconfirmed message in how it is drawn.
    assert look_for("sidecar-down", unconfirmed=2).glyph == "x"


def test_cells_show_worktree_queue_and_duration() -> None:
    tree = WorktreeCells("harnex/a", 3, None)
    cells = row("a", "busy", 0.0, worktree=tree, queued=2, description="parse").cells(125.0)
    assert cells == ("a", "demo", "* busy", "2m", "parse", "harnex/a", "3", "?", "2")
    plain = row("b", "prompt", None).cells(0.0)
    assert plain == ("b", "demo", "> prompt", "-", "-", "-", "-", "-", "-")
    assert row("c", "prompt", unconfirmed=1).cells(100.0)[2] == "! prompt !1"


def test_optional_columns_follow_the_rows() -> None:
    used = row("u", "busy", 0.0, usage=UsageCells(12_345, 0.5))
    unpriced = row("n", "prompt", 0.0, usage=UsageCells(900, None), host="box")
    assert Layout.of([row("a", "busy")]).columns[4] == "DESC"
    layout = Layout.of([used, unpriced, row("a", "busy")], hosts=True)
    assert layout.columns[:7] == ("HOST", "ID", "CLI", "STATE", "FOR", "TOKENS", "COST")
    assert used.cells(0.0, layout)[:7] == ("local", "u", "demo", "* busy", "0s", "12.3k", "$0.5000")
    assert unpriced.cells(0.0, layout)[5:7] == ("900", "unknown") and unpriced.target == "box:n"
    assert row("a", "busy").cells(0.0, layout)[5:7] == ("-", "-")
    assert matches(unpriced, "box")


def test_filter_needs_every_word() -> None:
    r = row("impl-1", "busy", description="Parser work", worktree=WorktreeCells("feat/x", 0, 0))
    assert matches(r, "parser busy") and matches(r, "FEAT/X") and matches(r, "")
    assert not matches(r, "parser idle")


def test_short_duration() -> None:
    assert [short_duration(s) for s in (None, -3, 59.9, 60, 3600 * 5, 86400 * 2)] == [
        "-",
        "0s",
        "59s",
        "1m",
        "5h",
        "2d",
    ]


def test_tmux_segment_names_only_what_is_there() -> None:
    assert tmux_segment([]) == ""
    states = [("busy", 0), ("confirmation", 0), ("busy", 0), ("prompt", 1), ("prompt", 0)]
    assert tmux_segment(states) == "2 waiting · 2 busy · 1 idle"
    assert tmux_segment([("exited", 0)]) == ""
