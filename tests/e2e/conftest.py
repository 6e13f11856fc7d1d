"""Fixtures for the end-to-end tests: the pinned agent CLIs, the mock model servers, and a
private tmux server per test (never the user's default one)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import libtmux
import pytest

from .agents import AgentInstallError, AgentsUnavailableError, InstalledAgents, install_agents
from .harness import (  # noqa: F401 - the CLIs' fixtures, for every e2e module
    aider,
    claude,
    codex,
    gemini,
    opencode,
    qwen,
    qwen_trust,
)
from .mcp_clients import McpClients, install_mcp_clients
from .mock_anthropic import MockAnthropic
from .mock_gemini import MockGemini
from .mock_openai import MockOpenAI, MockOpenAIChat
from .pip_agents import install_aider
from .screen import tmux

_SKIP_KEY = pytest.StashKey[str]()
T = TypeVar("T")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _installed(request: pytest.FixtureRequest, what: str, install: Callable[[], T]) -> T:
    """``install()``'s result, for a session fixture. A registry out of reach skips the tests
    with a loud reason (repeated in the summary), except under ``CI=true``, where that is a
    failure: CI must not go green without running them. Any other install failure fails."""
    try:
        return install()
    except AgentsUnavailableError as exc:
        reason = f"E2E TESTS NOT RUN: {what} could not be installed: {exc}"
        if _in_ci():
            pytest.fail(f"{reason}\n(CI=true: failing instead of skipping)", pytrace=False)
        request.config.stash[_SKIP_KEY] = reason
        pytest.skip(reason)
    except AgentInstallError as exc:
        pytest.fail(f"installing {what} failed: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def agents(request: pytest.FixtureRequest) -> InstalledAgents:
    """The pinned CLIs, installed with npm into ``<repo>/.cache/agents`` (once); skipped or
    failed as :func:`_installed` says when they cannot be installed."""
    return _installed(request, "the pinned agent CLIs", install_agents)


@pytest.fixture(scope="session")
def aider_binary(request: pytest.FixtureRequest) -> Path:
    """The pinned Aider, installed with pip into ``<agents dir>/aider-venv`` (once)."""
    return _installed(request, "the pinned Aider", install_aider)


@pytest.fixture(scope="session")
def mcp_clients(request: pytest.FixtureRequest) -> McpClients:
    """The pinned MCP Inspector and mcpc with their Node, installed with npm into
    ``<agents dir>/mcp-clients`` (once)."""
    return _installed(request, "the pinned MCP clients", install_mcp_clients)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    reason = config.stash.get(_SKIP_KEY, None)
    if reason:
        terminalreporter.write_sep("!", "END-TO-END TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(reason, red=True)


@pytest.fixture
def mock_anthropic() -> Iterator[MockAnthropic]:
    with MockAnthropic() as mock:
        yield mock


@pytest.fixture
def mock_openai() -> Iterator[MockOpenAI]:
    with MockOpenAI() as mock:
        yield mock


@pytest.fixture
def mock_openai_chat() -> Iterator[MockOpenAIChat]:
    with MockOpenAIChat() as mock:
        yield mock


@pytest.fixture
def mock_gemini() -> Iterator[MockGemini]:
    with MockGemini() as mock:
        yield mock


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository to run an agent in."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    (repo / "README.md").write_text("# scratch repo for harnex end-to-end tests\n")
    return repo


@pytest.fixture
def tmux_server() -> Iterator[libtmux.Server]:
    """A private tmux server on its own socket (``harnex-e2e-<random>``), killed at teardown.

    It reads no config file, keeps dead panes (``remain-on-exit on``) so tests can read exit
    statuses, and holds one session ``e2e`` (200x50) whose first window idles.
    """
    server = libtmux.Server(
        socket_name=f"harnex-e2e-{uuid.uuid4().hex[:12]}", config_file=os.devnull
    )
    socket_path = ""
    try:
        server.new_session(
            session_name="e2e",
            window_name="idle",
            window_command="exec sleep 86400",
            x=200,
            y=50,
        )
        socket_path = tmux(server, "display-message", "-p", "#{socket_path}")[0]
        tmux(server, "set-option", "-g", "remain-on-exit", "on")
        tmux(server, "set-option", "-g", "history-limit", "20000")
        yield server
    finally:
        if server.is_alive():
            server.kill()
        # tmux 3.3a leaves its socket file behind after kill-server.
        if socket_path and Path(socket_path).name.startswith("harnex-e2e-"):
            Path(socket_path).unlink(missing_ok=True)
