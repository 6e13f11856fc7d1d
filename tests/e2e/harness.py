"""The harness every end-to-end test drives harnex with: :class:`Harness` (the harnex CLI
pointed at a private tmux server, a state dir and one agent's throw-away home) and one
fixture per CLI (``claude``, ``codex``, ``gemini``, ``opencode``, ``qwen``, ``qwen_trust``,
``aider``), which ``conftest.py`` offers every e2e module: one place for them, not an import
of another test module's fixtures in each."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harnex_tmux.tmux import default_socket_path

from ._mock_http import MockModelServer
from .agents import (
    AgentLaunch,
    InstalledAgents,
    claude_launch,
    claude_permission_mode,
    codex_launch,
    gemini_launch,
    opencode_launch,
    qwen_launch,
)
from .mock_anthropic import MockAnthropic
from .mock_gemini import MockGemini
from .mock_openai import MockOpenAI, MockOpenAIChat
from .pip_agents import aider_launch

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Harness:
    """A harnex CLI pointed at a private tmux server, a state dir, and one agent's home."""

    launch: AgentLaunch
    env: dict[str, str]
    socket: str

    def run(self, *args: str, timeout: float = 90, input: str | None = None) -> Any:
        result = subprocess.run(
            [sys.executable, "-m", "harnex_tmux", *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.launch.cwd,
            timeout=timeout,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        return result

    def json(self, *args: str, timeout: float = 90, input: str | None = None) -> Any:
        result = self.run(*args, timeout=timeout, input=input)
        assert result.returncode == 0, f"harnex {args} -> {result.returncode}: {result.stderr}"
        return json.loads(result.stdout)

    def screen(self, ident: str) -> str:
        return str(self.json("pane", "--id", ident, "--json")["text"])

    def wait_prompt(self, ident: str, timeout: int = 90) -> None:
        """``harnex wait --until prompt`` for ``ident``, which must succeed; its screen is in
        the failure (a CLI that never gets to its prompt shows why: a dialog, an error)."""
        ready = self.run("wait", "--id", ident, "--until", "prompt", "--timeout", str(timeout))
        assert ready.returncode == 0, ready.stderr + self.screen(ident)

    def tmux(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """tmux on this harness's private server, with the environment harnex runs with (so
        both look for the socket in the same folder, ``TMUX_TMPDIR`` set or not)."""
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=10,
            check=check,
        )

    def socket_path(self) -> Path:
        return Path(default_socket_path(self.socket, self.env))


def _harness(launch: AgentLaunch, tmp_path: Path) -> Iterator[Harness]:
    socket = f"harnex-e2e-h-{secrets.token_hex(4)}"
    env = dict(launch.env)
    env.update(
        HARNEX_STATE_DIR=str(tmp_path / "state"),
        HARNEX_TMUX_SOCKET=socket,
        PYTHONPATH=str(REPO_ROOT),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]]),
    )
    harness = Harness(launch, env, socket)
    try:
        yield harness
    finally:
        harness.tmux("kill-server")
        harness.socket_path().unlink(missing_ok=True)
        launch.cleanup()


@pytest.fixture
def claude(
    agents: InstalledAgents, mock_anthropic: MockAnthropic, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    """Claude Code in its ``default`` permission mode, named in the user settings. 2.1.332's
    own default, ``auto``, has each risky tool call checked by the API server
    (``safeguards`` in the request): through a gateway that does not pass the check on, as
    the mock does not, it stops the turn at "Auto mode can't check actions in this session"
    (seen with ``timeout 300 tail -f /dev/null`` and the Agent tool). A user behind such a
    gateway picks a mode the same way; 2.1.197's default is ``default`` anyway."""
    launch = claude_launch(agents.claude, mock_anthropic.url, tmp_path / "home", git_repo)
    claude_permission_mode(launch.home, "default")
    yield from _harness(launch, tmp_path)


@pytest.fixture
def codex(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    launch = codex_launch(agents.codex, mock_openai.url + "/v1", tmp_path / "home", git_repo)
    yield from _harness(launch, tmp_path)


@pytest.fixture
def gemini(
    agents: InstalledAgents, mock_gemini: MockGemini, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    launch = gemini_launch(agents.gemini, mock_gemini.url, tmp_path / "home", git_repo)
    yield from _harness(launch, tmp_path)


@pytest.fixture
def opencode(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    launch = opencode_launch(agents.opencode, mock_openai.base_url, tmp_path / "home", git_repo)
    yield from _harness(launch, tmp_path)


MOCK_OF = {
    "claude": "mock_anthropic",
    "codex": "mock_openai",
    "gemini": "mock_gemini",
    "opencode": "mock_openai",
}


def harness_and_mock(which: str, request: pytest.FixtureRequest) -> tuple[Harness, Any]:
    """The harness fixture for ``which`` CLI and the mock model server it talks to."""
    h: Harness = request.getfixturevalue(which)
    mock: MockModelServer = request.getfixturevalue(MOCK_OF[which])
    return h, mock


def _start(h: Harness, ident: str, *flags: str) -> dict[str, Any]:
    argv = h.launch.argv
    args = ["run", "--id", ident, "--detach", "--timeout", "20", *flags, argv[0]]
    if len(argv) > 1:
        args += ["--", *argv[1:]]
    info: dict[str, Any] = h.json(*args)
    return info


def _qwen(
    agents: InstalledAgents, mock: MockOpenAI, repo: Path, tmp_path: Path, trust_dialog: bool
) -> Iterator[Harness]:
    launch = qwen_launch(
        agents.qwen, mock.base_url, tmp_path / "home", repo, trust_dialog=trust_dialog
    )
    yield from _harness(launch, tmp_path)


@pytest.fixture
def qwen(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    """Qwen Code as most users run it: folder trust off (0.24.4's default), so no dialog."""
    yield from _qwen(agents, mock_openai, git_repo, tmp_path, trust_dialog=False)


@pytest.fixture
def qwen_trust(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    """Qwen Code with folder trust turned on: it asks about the repo first."""
    yield from _qwen(agents, mock_openai, git_repo, tmp_path, trust_dialog=True)


@pytest.fixture
def aider(
    aider_binary: Path, mock_openai_chat: MockOpenAIChat, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    launch = aider_launch(aider_binary, mock_openai_chat.base_url, tmp_path / "home", git_repo)
    yield from _harness(launch, tmp_path)
