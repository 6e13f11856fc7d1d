"""``harnex run --worktree`` with the real CLIs: the mock model has the agent write a file and
commit it, and the file must land in the session's worktree and on its branch only, never in
the main checkout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ._mock_http import ToolCall
from .harness import _start, harness_and_mock
from .mock_anthropic import MockAnthropic
from .mock_openai import MockOpenAI
from .test_permission_dialogs import _finished

pytestmark = pytest.mark.e2e

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Worktree Test",
    "GIT_AUTHOR_EMAIL": "worktree@example.invalid",
    "GIT_COMMITTER_NAME": "Worktree Test",
    "GIT_COMMITTER_EMAIL": "worktree@example.invalid",
}
COMMAND = (
    "echo harnex-worktree-check > wt.txt && git add wt.txt && git commit -q -m 'from the agent'"
)
ASK = "please write and commit wt.txt"


def _tool_call(cli: str) -> ToolCall:
    """The write-and-commit command, in a form each CLI asks about before it runs it (as in
    test_permission_dialogs); Codex's is escalated, so its sandbox does not stop ``git commit``
    from writing to the repository's shared ``.git``."""
    if cli == "claude":
        return MockAnthropic.bash(COMMAND, "Write and commit wt.txt for the harnex test")
    return MockOpenAI.exec_command(
        COMMAND,
        sandbox_permissions="require_escalated",
        justification="Write and commit wt.txt for the harnex test?",
    )


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True, timeout=30
    ).stdout


@pytest.mark.parametrize("which", ["claude", "codex"])
def test_file_written_by_the_agent_lands_in_its_worktree_only(
    which: str, request: pytest.FixtureRequest
) -> None:
    h, mock = harness_and_mock(which, request)
    repo = Path(h.launch.cwd)
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "base")
    h.env.update(GIT_ENV)  # the agent's shell commits with this identity, no user config
    ident = "wt"

    info = _start(h, ident, "--auto-accept", "--worktree")
    worktree = Path(info["worktree"]["path"])
    assert worktree == repo.parent / "repo.worktrees" / ident
    assert info["worktree"]["branch"] == "harnex/wt"
    h.wait_prompt(ident)

    mock.tool_call_next = _tool_call(which)
    sent = h.json("send", "--id", ident, "--message", ASK)
    assert sent["status"] == "delivered", sent
    asked = h.run("wait", "--id", ident, "--until", "confirmation", "--timeout", "60")
    assert asked.returncode == 0, asked.stderr + h.screen(ident)
    h.json("send", "--id", ident, "--submit-only")  # Enter picks the default: "1. Yes"
    message = _finished(h, ident, sent["message_id"], timeout=90)
    assert message["reply"] == mock.tool_done_reply, message
    assert len(mock.tool_results) == 1, mock.tool_results

    assert (worktree / "wt.txt").read_text() == "harnex-worktree-check\n"
    assert not (repo / "wt.txt").exists()
    assert _git(repo, "show", "harnex/wt:wt.txt") == "harnex-worktree-check\n"
    assert "wt.txt" not in _git(repo, "ls-tree", "--name-only", "main")
    assert _git(repo, "log", "--format=%s", "harnex/wt").splitlines() == ["from the agent", "base"]

    (row,) = h.json("status", "--id", ident, "--json")
    assert row["worktree"]["ahead"] == 1 and row["worktree"]["changed_files"] == ["wt.txt"]
    assert "wt.txt" in h.run("diff", "--id", ident, "--stat").stdout
    h.json("stop", "--id", ident, "--timeout", "20")
    assert (worktree / "wt.txt").exists() and "harnex/wt" in _git(repo, "branch")
