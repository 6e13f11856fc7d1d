"""Smoke test the real agent CLIs in tmux against the loopback mocks.

For each CLI: start it in a private tmux server with a throw-away HOME and a fresh git repo,
pass the folder-trust dialog, wait for the idle prompt, paste a multi-line unicode message with
bracketed paste, press Enter once, and check that the mock got exactly that text as one user
turn and that the reply shows on screen. Then quit and check that the process exited with 0 and
left nothing running under its HOME (for Codex: no app-server daemon).

For Gemini CLI and OpenCode: walk the raw CLI through the states its shipped adapter file
describes (trust dialog, empty input with its placeholder, a draft, a collapsed paste, busy,
idle again, the stop steps) and check each text the file keys on shows where it says.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import libtmux
import pytest

from harnex_tmux.adapters.base import Observation, State
from harnex_tmux.adapters.rules import Dialog, ScreenRules, load_rules
from harnex_tmux.adapters.screen import SHIPPED_DIR, ScreenAdapter

from ._mock_http import MockModelServer, ToolCall
from .agents import (
    AgentLaunch,
    InstalledAgents,
    claude_launch,
    codex_launch,
    gemini_launch,
    opencode_launch,
    processes_with_home,
    qwen_launch,
)
from .mock_anthropic import MockAnthropic
from .mock_gemini import MockGemini
from .mock_openai import MockOpenAI
from .model_view import assert_model_got
from .screen import (
    QWEN_SCREENS,
    SCREENS,
    AgentScreens,
    answer_dialog,
    capture,
    pane_state,
    paste,
    send_keys,
    wait_for_exit,
    wait_for_screen,
)

pytestmark = [pytest.mark.e2e]

CLIS = ["claude", "codex", "qwen"]
STARTUP_TIMEOUT = 60.0
REPLY_TIMEOUT = 30.0
EXIT_TIMEOUT = 20.0


@dataclass
class PaneAgent:
    """A CLI running in a tmux window of its own (see :func:`agent_window`) against ``mock``:
    what every smoke test reads the screen of and waits on, whichever screen texts it checks."""

    mock: MockModelServer
    server: libtmux.Server
    pane_id: str
    status_file: Path
    scratch: Path

    def screen(self) -> str:
        return capture(self.server, self.pane_id)

    def wait(
        self, predicate: Callable[[str], bool], what: str, timeout: float = REPLY_TIMEOUT
    ) -> str:
        return wait_for_screen(self.server, self.pane_id, predicate, what, timeout)


@contextmanager
def agent_window(
    server: libtmux.Server, name: str, launch: AgentLaunch, mock: MockModelServer, scratch: Path
) -> Iterator[PaneAgent]:
    """``launch`` started in a new window ``name`` (its exit status into a file in ``scratch``).
    Afterwards, however the test ended: the mock lets go of a held reply (or the CLI would wait
    on it), the window is killed and the launch's throw-away home removed."""
    status_file = scratch / "exit-status"
    window = server.sessions[0].new_window(
        window_name=name, window_shell=launch.shell_command(status_file=status_file)
    )
    try:
        pane = window.active_pane
        assert pane is not None and pane.pane_id, "tmux gave the new window no pane"
        yield PaneAgent(mock, server, pane.pane_id, status_file, scratch)
    finally:
        mock.release()
        if server.is_alive() and window.window_id:
            server.cmd("kill-window", "-t", window.window_id)
        launch.cleanup()


@dataclass
class RunningAgent(PaneAgent):
    """A CLI as harnex's own screen texts (``tests/e2e/screen.py``) see it."""

    name: str
    launch: AgentLaunch
    screens: AgentScreens

    def submit(self, text: str) -> None:
        """Bracketed paste, a short pause, then Enter on its own."""
        paste(self.server, self.pane_id, text, self.scratch)
        time.sleep(0.3)
        send_keys(self.server, self.pane_id, "Enter")

    def quit(self) -> str:
        """Type the quit command, let its menu settle, press Enter; return the exit status."""
        send_keys(self.server, self.pane_id, self.screens.quit_command, literal=True)
        time.sleep(0.7)  # "/" opens a command menu; give it a moment before Enter
        send_keys(self.server, self.pane_id, "Enter")
        return wait_for_exit(self.server, self.pane_id, EXIT_TIMEOUT, self.status_file)


@contextmanager
def started_agent(
    name: str,
    agents: InstalledAgents,
    mock_anthropic: MockAnthropic,
    mock_openai: MockOpenAI,
    server: libtmux.Server,
    repo: Path,
    tmp_path: Path,
    trust: bool = False,
) -> Iterator[RunningAgent]:
    """Start ``name`` in a new window, pass its trust dialog and wait for its idle prompt.

    With ``trust`` the throw-away home pre-trusts the repo and the dialog must never show.
    """
    mock: MockModelServer
    home = tmp_path / "home"
    if name == "claude":
        launch = claude_launch(agents.claude, mock_anthropic.url, home, repo, trust=trust)
        mock = mock_anthropic
    elif name == "qwen":
        # Qwen Code 0.24.4 asks about folder trust only when a setting turns it on.
        launch = qwen_launch(
            agents.qwen, mock_openai.base_url, home, repo, trust_dialog=True, trust=trust
        )
        mock = mock_openai
    else:
        launch = codex_launch(agents.codex, mock_openai.base_url, home, repo, trust=trust)
        mock = mock_openai
    with agent_window(server, name, launch, mock, tmp_path) as window:
        agent = RunningAgent(**vars(window), name=name, launch=launch, screens=SCREENS[name])
        if trust:

            def idle_without_dialog(screen: str) -> bool:
                assert not agent.screens.shows_trust_dialog(screen), screen
                return agent.screens.is_idle(screen)

            agent.wait(idle_without_dialog, f"{name}'s idle prompt", STARTUP_TIMEOUT)
        else:
            agent.wait(agent.screens.shows_trust_dialog, f"{name}'s trust dialog", STARTUP_TIMEOUT)
            answer_dialog(
                server,
                agent.pane_id,
                agent.screens.shows_trust_dialog,
                choose=agent.screens.trust_choice,
            )
            agent.wait(agent.screens.is_idle, f"{name}'s idle prompt", STARTUP_TIMEOUT)
        yield agent


StartAgent = Callable[..., AbstractContextManager[RunningAgent]]


@pytest.fixture
def start_agent(
    agents: InstalledAgents,
    mock_anthropic: MockAnthropic,
    mock_openai: MockOpenAI,
    tmux_server: libtmux.Server,
    git_repo: Path,
    tmp_path: Path,
) -> StartAgent:
    """``start_agent(name, trust=False)``: :func:`started_agent` with this test's CLIs, mocks,
    tmux server, repo and scratch folder, which every test of the three CLIs passes alike."""

    def start(name: str, trust: bool = False) -> AbstractContextManager[RunningAgent]:
        return started_agent(
            name, agents, mock_anthropic, mock_openai, tmux_server, git_repo, tmp_path, trust
        )

    return start


def _message() -> str:
    token = uuid.uuid4().hex[:8]
    return (
        f"harnex e2e {token}: ünï 日本 🚀\n"
        "second line: C-c Enter ; $(id) `uname` 'quoted' \"double\"\n"
        "third line — the end"
    )


def _assert_nothing_left(agent: RunningAgent) -> None:
    deadline = time.monotonic() + 5
    while processes_with_home(agent.launch.home) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = processes_with_home(agent.launch.home)
    assert not left, f"{agent.name} left processes running under its HOME: {left}"


@pytest.mark.parametrize("name", CLIS)
def test_paste_arrives_as_one_turn_then_quit(name: str, start_agent: StartAgent) -> None:
    with start_agent(name) as agent:
        mock = agent.mock
        message = _message()
        # The reply names the message's token: Claude Code 2.1.332 sends this paste in its
        # pasted-content tags, whose opening line the default reply would start with.
        expected_reply = f"MOCK REPLY to {message.split(':')[0]}"
        mock.reply = lambda _text: expected_reply
        paste(agent.server, agent.pane_id, message, agent.scratch)
        time.sleep(0.3)
        assert mock.user_turns == [], "the paste alone must not submit anything"
        send_keys(agent.server, agent.pane_id, "Enter")

        turns = mock.wait_for_user_turns(1, timeout=REPLY_TIMEOUT)
        assert len(turns) == 1, turns
        assert_model_got(name, message, turns[0])
        agent.wait(
            lambda s: expected_reply in s and agent.screens.is_idle(s),
            f"the reply {expected_reply!r} and {name}'s idle prompt again",
        )
        assert mock.user_turns == turns, "the message must arrive as exactly one turn"
        assert len(mock.reply_finished_at) == 1

        status = agent.quit()
        assert status == "0", f"{name} exited with {status!r}; screen:\n{agent.screen()}"
        assert mock.user_turns == turns
        _assert_nothing_left(agent)


@pytest.mark.parametrize("name", CLIS)
def test_busy_while_the_mock_holds_its_reply(name: str, start_agent: StartAgent) -> None:
    with start_agent(name) as agent:
        mock = agent.mock
        mock.delay_s = 30.0
        agent.submit("hold on a moment")
        assert mock.wait_for_user_turns(1, timeout=REPLY_TIMEOUT) == ["hold on a moment"]
        screen = agent.wait(agent.screens.is_busy, f"{name}'s busy marker")
        assert not agent.screens.is_idle(screen)
        # Still busy a moment later: the reply is held, the prompt glyph is not "ready".
        time.sleep(1.0)
        screen = agent.screen()
        assert agent.screens.is_busy(screen) and not agent.screens.is_idle(screen), screen
        assert mock.reply_finished_at == []

        released_at = time.monotonic()
        mock.release()
        agent.wait(
            lambda s: "MOCK REPLY: hold on a moment" in s and agent.screens.is_idle(s),
            f"the reply and {name}'s idle prompt after release",
        )
        assert len(mock.reply_finished_at) == 1
        assert mock.reply_finished_at[0][0] >= released_at
        assert agent.quit() == "0"
        _assert_nothing_left(agent)


@pytest.mark.parametrize("name", CLIS)
def test_pretrusted_home_skips_the_trust_dialog(name: str, start_agent: StartAgent) -> None:
    with start_agent(name, trust=True) as agent:
        agent.submit("trusted already")
        assert agent.mock.wait_for_user_turns(1, timeout=REPLY_TIMEOUT) == ["trusted already"]
        agent.wait(
            lambda s: "MOCK REPLY: trusted already" in s and agent.screens.is_idle(s),
            f"the reply and {name}'s idle prompt",
        )
        assert agent.quit() == "0"
        _assert_nothing_left(agent)


# Gemini CLI and OpenCode: the texts their shipped adapter files (harnex_tmux/adapters/files/)
# key on, read from those files and looked for on the raw CLI's screen.
FILE_CLIS = ["gemini", "opencode"]
FILE_STARTUP_TIMEOUT = 120.0  # OpenCode alone can take 10 s or more to draw on a loaded machine


@dataclass
class RawAgent(PaneAgent):
    """A CLI running in tmux, and what its adapter file says its screen shows."""

    rules: ScreenRules

    def input_line(self, screen: str) -> str | None:
        """The input line as the file describes it (glyph or box, placeholder read as "")."""
        return ScreenAdapter(self.rules).input_line(screen)

    def idle(self, screen: str) -> bool:
        """The input line and an idle marker, with no busy marker."""
        return (
            self.input_line(screen) is not None
            and any(marker in screen for marker in self.rules.idle_markers)
            and not self.busy(screen)
        )

    def empty(self, screen: str) -> bool:
        """Idle with nothing typed (the placeholder, if any, read as empty). Only before the
        first turn: in a wide pane OpenCode's sidebar then shares the input box's lines."""
        return self.idle(screen) and self.input_line(screen) == ""

    def busy(self, screen: str) -> bool:
        return any(marker in screen for marker in self.rules.busy_markers)

    def trust_dialog(self) -> Dialog | None:
        return next((r.dialog for r in self.rules.dialogs if r.state == State.TRUST), None)

    def settled(self, predicate: Callable[[str], bool], what: str, timeout: float) -> str:
        """The screen once ``predicate`` holds and it has not changed for a second (a CLI
        that has just drawn its prompt may still be starting up)."""
        seen: list[tuple[float, str]] = []

        def still(screen: str) -> bool:
            if not predicate(screen):
                seen.clear()
                return False
            if not seen or seen[0][1] != screen:
                seen[:] = [(time.monotonic(), screen)]
            return time.monotonic() - seen[0][0] >= 1.0

        return self.wait(still, what, timeout)

    def paste_and_submit(self, text: str) -> None:
        """Paste, wait for the text in the input line, let the CLI settle, submit."""
        paste(self.server, self.pane_id, text, self.scratch)
        self.wait(lambda s: self.input_line(s) == text, f"{text!r} in the input line")
        time.sleep(self.rules.settle_s)
        send_keys(self.server, self.pane_id, *self.rules.submit_keys)

    def stop(self) -> str:
        """The adapter file's stop steps, until the CLI has exited; its exit status."""
        for step in self.rules.stop_steps:
            if pane_state(self.server, self.pane_id)[0]:
                break
            send_keys(self.server, self.pane_id, *step.keys)
            deadline = time.monotonic() + step.wait_s
            while time.monotonic() < deadline and not pane_state(self.server, self.pane_id)[0]:
                time.sleep(0.05)
        return wait_for_exit(self.server, self.pane_id, EXIT_TIMEOUT, self.status_file)


@pytest.mark.parametrize("name", FILE_CLIS)
def test_the_screen_texts_of_the_adapter_files(
    name: str,
    agents: InstalledAgents,
    mock_gemini: MockGemini,
    mock_openai: MockOpenAI,
    tmux_server: libtmux.Server,
    git_repo: Path,
    tmp_path: Path,
) -> None:
    rules = load_rules(SHIPPED_DIR / f"{name}.toml")
    mock: MockModelServer
    if name == "gemini":
        launch = gemini_launch(agents.gemini, mock_gemini.url, tmp_path / "home", git_repo)
        mock = mock_gemini
    else:
        launch = opencode_launch(agents.opencode, mock_openai.base_url, tmp_path / "home", git_repo)
        mock = mock_openai
    with agent_window(tmux_server, name, launch, mock, tmp_path) as window:
        agent = RawAgent(**vars(window), rules=rules)
        trust = agent.trust_dialog()
        if trust is not None:
            agent.wait(trust.matches, f"{name}'s trust dialog", FILE_STARTUP_TIMEOUT)
            answer_dialog(tmux_server, agent.pane_id, trust.matches)
        screen = agent.settled(
            agent.empty, f"{name}'s empty input and idle marker", FILE_STARTUP_TIMEOUT
        )
        if trust is not None and all(re.search(p, screen, re.I) for p in trust.patterns):
            # Still drawn above the new prompt: the answered text says it is done with.
            assert rules.dialogs_below_input, screen
            assert any(re.search(p, screen, re.I) for p in trust.answered), screen

        # A draft takes the placeholder's place; an idle marker stays in view.
        paste(tmux_server, agent.pane_id, "a draft line\nsecond line", tmp_path)
        screen = agent.wait(
            lambda s: agent.input_line(s) == "a draft line", f"the draft in {name}'s input"
        )
        assert any(marker in screen for marker in rules.idle_markers), screen
        send_keys(tmux_server, agent.pane_id, "C-c")  # clears the draft
        agent.wait(agent.empty, f"{name}'s empty input again")

        if rules.collapsed_paste is not None:
            collapsed = rules.collapsed_paste
            paste(tmux_server, agent.pane_id, "\n".join(f"line {i}" for i in range(30)), tmp_path)
            agent.wait(
                lambda s: re.match(collapsed, agent.input_line(s) or "") is not None,
                f"{name}'s collapsed paste marker",
            )
            send_keys(tmux_server, agent.pane_id, "C-c")
            agent.wait(agent.empty, f"{name}'s empty input after the paste")

        mock.delay_s = 30.0
        agent.paste_and_submit("hold on a moment")
        assert mock.wait_for_user_turns(1, timeout=REPLY_TIMEOUT) == ["hold on a moment"]
        screen = agent.wait(agent.busy, f"{name}'s busy marker")
        assert not agent.idle(screen), screen
        mock.release()
        agent.wait(
            lambda s: "MOCK REPLY: hold on a moment" in s and agent.idle(s),
            f"the reply and {name}'s idle screen",
        )
        assert mock.user_turns == ["hold on a moment"]

        status = agent.stop()
        assert status == "0", f"{name} exited with {status!r}; screen:\n{agent.screen()}"


def test_qwen_screens_hold_what_its_adapter_file_keys_on(
    agents: InstalledAgents,
    mock_openai: MockOpenAI,
    tmux_server: libtmux.Server,
    git_repo: Path,
    tmp_path: Path,
) -> None:
    """Qwen Code runs from ``adapters/files/qwen.toml`` alone: each text that file keys on is
    looked for on the raw CLI's screens (no harnex in between), and the file's rules read
    each screen as the state it is."""
    rules = load_rules(SHIPPED_DIR / "qwen.toml")
    adapter = ScreenAdapter(rules)

    def state(screen: str) -> State:
        return adapter.detect(Observation(screen=screen, quiet_for=float("inf")))

    home = tmp_path / "home"
    launch = qwen_launch(agents.qwen, mock_openai.base_url, home, git_repo, trust_dialog=True)
    with agent_window(tmux_server, "qwen", launch, mock_openai, tmp_path) as window:
        agent = RunningAgent(**vars(window), name="qwen", launch=launch, screens=QWEN_SCREENS)
        trust = agent.wait(QWEN_SCREENS.shows_trust_dialog, "the trust dialog", STARTUP_TIMEOUT)
        assert state(trust) == State.TRUST, trust
        answer_dialog(tmux_server, agent.pane_id, QWEN_SCREENS.shows_trust_dialog)
        idle = agent.wait(QWEN_SCREENS.is_idle, "the idle prompt", STARTUP_TIMEOUT)
        assert rules.placeholder and f">   {rules.placeholder}" in idle, idle
        assert state(idle) == State.PROMPT and adapter.input_line(idle) == "", idle

        mock_openai.delay_s = 30.0
        agent.submit("hold on a moment")
        busy = agent.wait(QWEN_SCREENS.is_busy, "the busy spinner")
        assert state(busy) == State.BUSY, busy
        mock_openai.release()
        mock_openai.delay_s = 0.0
        agent.wait(lambda s: "MOCK REPLY: hold on" in s and QWEN_SCREENS.is_idle(s), "idle")

        mock_openai.tool_call_next = ToolCall(
            "run_shell_command", {"command": "echo smoke > smoke.txt", "description": "smoke"}
        )
        agent.submit("please write smoke.txt")
        dialog = agent.wait(lambda s: "Yes, allow once" in s, "the permission dialog")
        assert "Allow execution of: 'echo'?" in dialog, dialog
        assert state(dialog) == State.CONFIRMATION, dialog
        send_keys(tmux_server, agent.pane_id, "Enter")
        done = agent.wait(
            lambda s: mock_openai.tool_done_reply in s and QWEN_SCREENS.is_idle(s), "tool done"
        )
        assert state(done) == State.PROMPT, done
        assert (git_repo / "smoke.txt").read_text() == "smoke\n"
        assert agent.quit() == "0"
        _assert_nothing_left(agent)
