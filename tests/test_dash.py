"""``harnex dash`` driven headless (Textual's Pilot) against real sessions on this test's
private tmux server: every key does what it says, once, and faults keep the view up."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Harnex, wait_for

from harnex_tmux.dash.app import DashApp
from harnex_tmux.tmux import default_socket_path

HERE = Path(__file__).resolve().parent

ASKER_ADAPTER = """\
name = "asker"
commands = ["asker"]

[prompt]
glyph = ">"
empty_box_is_idle = true

[[dialogs]]
state = "confirmation"
patterns = ['Allow the change\\?']
keys = ["y"]
"""


async def until(pilot: Any, check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Let the app run until ``check()`` is truthy (the test fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            app = pilot.app
            raise AssertionError(f"not reached within {timeout}s; status: {app.message!r}")
        await pilot.pause(0.05)


def drive(
    harnex: Harnex, script: Callable[[Any, DashApp], Awaitable[None]], size: tuple[int, int]
) -> DashApp:
    app = DashApp(str(harnex.repo))

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.loaded)
            await script(pilot, app)

    asyncio.run(main())
    return app


def state_of(app: DashApp, ident: str) -> str | None:
    return next((r.state for r in app.shown if r.id == ident), None)


async def select(pilot: Any, app: DashApp, ident: str) -> None:
    from harnex_tmux.dash.table import FleetTable

    table = app.query_one(FleetTable)
    keys = [r.key for r in app.shown]
    row = next(r for r in app.shown if r.id == ident)
    table.move_cursor(row=keys.index(row.key))
    await until(pilot, lambda: app.selected == row.key)


async def diff_text(pilot: Any, app: DashApp, timeout: float = 15.0) -> str:
    """The diff screen's text once it is mounted (the screen is there a moment before it)."""
    from textual.widgets import Static

    from harnex_tmux.dash.screens import DiffScreen

    def shown() -> bool:
        return isinstance(app.screen, DiffScreen) and bool(app.screen.query("#diff-text"))

    await until(pilot, shown, timeout=timeout)
    return str(app.screen.query_one("#diff-text", Static).content)


def start_ready(harnex: Harnex, ident: str, **kwargs: Any) -> dict[str, Any]:
    info = harnex.start_demo(ident, **kwargs)
    harnex.run("wait", "--id", ident, "--until", "prompt", "--timeout", "30", check=True)
    return info


def test_the_list_orders_sessions_and_shows_the_selected_one(harnex: Harnex) -> None:
    start_ready(harnex, "calm")
    start_ready(harnex, "worker", busy=30)
    harnex.run("send", "--id", "worker", "--message", "long job", check=True)
    harnex.run("wait", "--id", "worker", "--until", "busy", "--timeout", "20", check=True)

    async def script(pilot: Any, app: DashApp) -> None:
        await until(pilot, lambda: [r.id for r in app.shown] == ["worker", "calm"])
        assert state_of(app, "worker") == "busy"
        await select(pilot, app, "calm")
        pane = app.query_one("#pane")
        await until(pilot, lambda: "demo>" in str(pane.render()))
        events = str(app.query_one("#events").render())
        assert "state" in events
        # A change arrives by the state folder: the worker finishes and goes idle.
        harnex.run("stop", "--id", "worker", check=True)
        await until(pilot, lambda: state_of(app, "worker") == "exited")
        assert [r.id for r in app.shown] == ["calm", "worker"]

    drive(harnex, script, (120, 30))


def test_answer_presses_the_keys_the_adapter_file_declares(harnex: Harnex, tmp_path: Path) -> None:
    folder = harnex.repo / ".harnex" / "adapters"
    folder.mkdir(parents=True)
    (folder / "asker.toml").write_text(ASKER_ADAPTER)
    log = tmp_path / "asker.jsonl"
    agent = [sys.executable, str(HERE / "dash_agents.py"), "--record", str(log)]
    harnex.start("asker", "--cli", "asker", command=agent)
    harnex.run("wait", "--id", "asker", "--until", "confirmation", "--timeout", "30", check=True)

    async def script(pilot: Any, app: DashApp) -> None:
        from harnex_tmux.dash.screens import AnswerScreen

        await until(pilot, lambda: state_of(app, "asker") == "confirmation")
        assert app.shown[0].look.glyph == "?"
        await select(pilot, app, "asker")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AnswerScreen))
        await pilot.press("1")
        await until(pilot, lambda: state_of(app, "asker") == "prompt")

    drive(harnex, script, (120, 30))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == [{"answer": "y"}]


def test_stop_asks_then_ends_the_session(harnex: Harnex) -> None:
    start_ready(harnex, "doomed")

    async def script(pilot: Any, app: DashApp) -> None:
        from harnex_tmux.dash.screens import ConfirmScreen

        await select(pilot, app, "doomed")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert state_of(app, "doomed") == "prompt"
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: state_of(app, "doomed") == "exited", timeout=30)
        assert "stopped doomed" in app.message
        # The session ended while selected: the view stays and says so.
        await until(pilot, lambda: "ended" in str(app.query_one("#pane").render()))

    drive(harnex, script, (120, 30))
    assert harnex.registry() == []


def test_jump_shows_the_selected_agents_window(
    harnex: Harnex, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = start_ready(harnex, "first")
    second = start_ready(harnex, "second")
    harnex.tmux("select-window", "-t", first["window_id"])
    # As if the dashboard ran in a pane of this tmux server.
    monkeypatch.setenv("TMUX", f"{default_socket_path(harnex.socket)},1,0")
    monkeypatch.setenv("TMUX_PANE", first["pane_id"])

    def current() -> str:
        out = harnex.tmux("display-message", "-p", "-t", "harnex", "#{window_id}").stdout
        return out.strip()

    assert current() == first["window_id"]

    async def script(pilot: Any, app: DashApp) -> None:
        await select(pilot, app, "second")
        await pilot.press("j")
        await until(pilot, lambda: current() == second["window_id"])
        assert "showing second" in app.message

    drive(harnex, script, (120, 30))


def test_dash_in_a_real_tmux_pane_reads_as_a_person_sees_it(harnex: Harnex) -> None:
    """The real command in a real pane (read with capture-pane): the list, the glyphs, the
    preview; then j on the second row switches the window as a person's key press would."""
    calm = start_ready(harnex, "calm-one", busy=30)
    start_ready(harnex, "busy-one", busy=30)
    harnex.run("send", "--id", "busy-one", "--message", "go", check=True)
    harnex.run("wait", "--id", "busy-one", "--until", "busy", "--timeout", "20", check=True)
    env = " ".join(
        f"{k}={v}" for k, v in harnex.env.items() if k.startswith("HARNEX_") or k == "PYTHONPATH"
    )
    command = f"env {env} TERM=xterm-256color {sys.executable} -m harnex_tmux dash"
    out = harnex.tmux(
        "new-window", "-P", "-F", "#{pane_id}", "-t", "harnex:", "-c", str(harnex.repo), command
    )
    pane = out.stdout.strip()
    harnex.tmux("resize-window", "-t", pane, "-x", "150", "-y", "30")

    def screen() -> str:
        return harnex.tmux("capture-pane", "-p", "-t", pane).stdout

    text = wait_for(lambda: "busy-one" in screen() and "calm-one" in screen() and screen())
    lines = text.splitlines()
    busy_at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("busy-one"))
    calm_at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("calm-one"))
    assert busy_at < calm_at  # busy before idle
    assert "* busy" in lines[busy_at] and "> prompt" in lines[calm_at]
    assert "1 busy" in text and "1 idle" in text
    wait_for(lambda: "demo>" in screen())  # the selected agent's pane, beside the list
    harnex.tmux("send-keys", "-t", pane, "Down")
    time.sleep(0.3)
    harnex.tmux("send-keys", "-t", pane, "j")

    def current() -> str:
        return harnex.tmux("display-message", "-p", "-t", "harnex", "#{window_id}").stdout.strip()

    wait_for(lambda: current() == calm["window_id"])
    harnex.tmux("send-keys", "-t", pane, "q")
