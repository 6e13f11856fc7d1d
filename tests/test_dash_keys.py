"""The dashboard's ``d`` (a worktree session's diff) and ``n`` (the new-session form), driven
headless against real sessions on this test's private tmux server and real git repositories."""

from __future__ import annotations

import asyncio
import shlex
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import PYTHON, Harnex, recorded
from test_dash import diff_text, select, start_ready, state_of, until
from test_worktree import make_git_repo, start_in_worktree

from harnex_tmux.dash import source
from harnex_tmux.dash.app import DashApp


@pytest.fixture
def git_repo(harnex: Harnex, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The harnex fixture's repo made a real git repository with one commit."""
    return make_git_repo(harnex, monkeypatch)


def drive(
    harnex: Harnex, script: Callable[[Any, DashApp], Awaitable[None]], read_only: bool = False
) -> None:
    app = DashApp(str(harnex.repo), read_only=read_only)

    async def main() -> None:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.loaded)
            await script(pilot, app)

    asyncio.run(main())


def test_diff_shows_a_worktree_sessions_change_and_is_greyed_out_elsewhere(
    harnex: Harnex, git_repo: Path
) -> None:
    start_in_worktree(harnex, "wt", "echo changed by the agent >> README && echo new > fresh.txt")
    start_ready(harnex, "plain")

    async def script(pilot: Any, app: DashApp) -> None:
        from harnex_tmux.dash.screens import DiffScreen

        await until(pilot, lambda: state_of(app, "wt") and state_of(app, "plain"))
        await select(pilot, app, "plain")
        assert app.check_action("diff", ()) is None  # greyed out: no worktree
        await pilot.press("d")
        await pilot.pause(0.5)
        assert not isinstance(app.screen, DiffScreen)
        await select(pilot, app, "wt")
        assert app.check_action("diff", ()) is True  # read-only keeps it: it only reads
        await pilot.press("d")
        text = await diff_text(pilot, app)
        assert "+changed by the agent" in text
        assert " base\n" in text and "--- a/README" in text
        assert "untracked: fresh.txt" in text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DiffScreen))

    drive(harnex, script, read_only=True)


def test_new_session_form_starts_one_session_that_shows_up(
    harnex: Harnex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "got.jsonl"
    command = f"{shlex.quote(PYTHON)} -m harnex_tmux.demo_agent --busy 0.3 --record {log}"
    # The real start, held until the test lets it go: the form's in-flight state can then be
    # looked at without a race.
    real_start = source.start
    go = threading.Event()
    calls: list[source.NewSession] = []

    def held_start(new: source.NewSession, *args: Any) -> str:
        calls.append(new)
        assert go.wait(60)
        return real_start(new, *args)

    monkeypatch.setattr(source, "start", held_start)

    async def script(pilot: Any, app: DashApp) -> None:
        from textual.widgets import Input, Select, Static

        from harnex_tmux.dash.screens import NewScreen

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewScreen))
        form = app.screen
        form.query_one("#new-cli", Select).value = "generic"
        await until(pilot, lambda: form.query_one("#new-command", Input).value == "")
        form.query_one("#new-command", Input).value = command
        # A bad id: said under the field, nothing started, the form stays.
        form.query_one("#new-id", Input).value = "bad id!"
        await pilot.press("enter")
        error = form.query_one("#new-id-error", Static)
        await until(pilot, lambda: "is not allowed" in str(error.content))
        await pilot.pause(0.3)
        assert isinstance(app.screen, NewScreen) and calls == []
        form.query_one("#new-id", Input).value = "fresh"
        await until(pilot, lambda: str(error.content) == "")
        form.query_one("#new-description", Input).value = "made by the form"
        form.query_one("#new-id", Input).focus()
        await pilot.press("enter", "enter")  # a double Enter
        await until(pilot, lambda: not isinstance(app.screen, NewScreen))
        await until(pilot, lambda: calls)
        assert app.check_action("new", ()) is None  # in flight: the key is greyed out
        await pilot.press("n")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, NewScreen)
        go.set()
        await until(pilot, lambda: "started fresh" in app.message, timeout=40)
        await until(pilot, lambda: state_of(app, "fresh") == "prompt", timeout=30)
        assert [r.description for r in app.shown if r.id == "fresh"] == ["made by the form"]
        # The key works again once the start ended.
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewScreen))
        await pilot.press("escape")

    drive(harnex, script)
    assert len(calls) == 1
    assert [(s["id"], s["adapter"]) for s in harnex.json("status", "--json")] == [
        ("fresh", "generic")
    ]
    harnex.run("send", "--id", "fresh", "--message", "hello", check=True)
    assert recorded(log) == ["hello"]


def test_a_start_that_fails_says_why_in_one_line(harnex: Harnex) -> None:
    async def script(pilot: Any, app: DashApp) -> None:
        from textual.widgets import Input, Select

        from harnex_tmux.dash.screens import NewScreen

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewScreen))
        form = app.screen
        form.query_one("#new-cli", Select).value = "generic"
        await until(pilot, lambda: form.query_one("#new-command", Input).value == "")
        form.query_one("#new-command", Input).value = "no-such-agent-program --flag"
        form.query_one("#new-id", Input).value = "doomed"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "could not start doomed" in app.message)
        assert "agent command not found: no-such-agent-program" in app.message
        assert "\n" not in app.message
        assert app.check_action("new", ()) is True  # ended: the key is back

    drive(harnex, script)
    assert harnex.registry() == []


def test_read_only_n_does_nothing(harnex: Harnex) -> None:
    async def script(pilot: Any, app: DashApp) -> None:
        assert app.check_action("new", ()) is False
        await pilot.press("n")
        await pilot.pause(0.5)
        assert len(app.screen_stack) == 1

    drive(harnex, script, read_only=True)
    assert harnex.registry() == []


def test_the_form_starts_a_worktree_session_whose_diff_the_d_key_shows(
    harnex: Harnex, git_repo: Path
) -> None:
    command = f"{shlex.quote(PYTHON)} -m harnex_tmux.demo_agent --busy 0.2"

    async def script(pilot: Any, app: DashApp) -> None:
        from textual.widgets import Checkbox, Input, Select

        from harnex_tmux.dash.screens import NewScreen

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewScreen))
        form = app.screen
        form.query_one("#new-cli", Select).value = "generic"
        await until(pilot, lambda: form.query_one("#new-command", Input).value == "")
        form.query_one("#new-command", Input).value = command
        form.query_one("#new-worktree", Checkbox).value = True
        form.query_one("#new-id", Input).value = "wtnew"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "started wtnew" in app.message, timeout=40)
        assert "in worktree" in app.message
        await until(pilot, lambda: state_of(app, "wtnew") == "prompt", timeout=30)
        (row,) = [r for r in app.shown if r.id == "wtnew"]
        assert row.worktree is not None and row.worktree.branch == "harnex/wtnew"
        await select(pilot, app, "wtnew")
        await pilot.press("d")
        shown = await diff_text(pilot, app)
        assert shown == "(no changes against the base yet)"

    drive(harnex, script)
    (status,) = harnex.json("status", "--json")
    assert status["worktree"]["branch"] == "harnex/wtnew"
