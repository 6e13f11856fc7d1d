"""harnex driving the real Qwen Code (pinned ``@qwen-code/qwen-code``) against the loopback
OpenAI mock, through nothing but its shipped adapter file (``adapters/files/qwen.toml``):
the folder-trust dialog, exact one-line, multi-line, unicode and 10 KB messages (each one
turn at the model), a message queued while busy, a tool-permission dialog, ``--context``
with ``--auto-accept``, ``pane``, ``stop`` (also with a draft in the input line) and an
outside kill. What the file says about each screen is checked here, so a UI change in a new
Qwen Code version fails these tests instead of users' sends."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._mock_http import ToolCall
from .agents import InstalledAgents, qwen_launch
from .mock_openai import MockOpenAI
from .test_harnex_agents import LARGE, Harness, _harness, _start, _walk_through

pytestmark = pytest.mark.e2e

COMMAND = "echo harnex-permission-check > perm.txt"
ASK = "please write perm.txt"


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


def _ready(h: Harness, ident: str, *flags: str) -> dict[str, object]:
    info = _start(h, ident, *flags)
    assert info["adapter"] == "qwen", info
    ready = h.run("wait", "--id", ident, "--until", "prompt", "--timeout", "90")
    assert ready.returncode == 0, ready.stderr + h.screen(ident)
    return info


def test_qwen_walk_through(qwen_trust: Harness, mock_openai: MockOpenAI) -> None:
    """Trust dialog (seen, guarded, answered) -> prompt -> one-line, 30-line and unicode
    messages exact as one turn each -> a message queued while busy -> pane -> stop (code 0)."""
    _walk_through(qwen_trust, mock_openai, "qw-1", trust_dialog=True)


def test_qwen_without_folder_trust_is_ready_at_once(qwen: Harness, mock_openai: MockOpenAI) -> None:
    _ready(qwen, "qw-plain")
    sent = qwen.json("send", "--id", "qw-plain", "--message", "no dialog first", "--wait-for-idle")
    assert sent["status"] == "delivered", sent
    assert mock_openai.wait_for_user_turns(1, timeout=30) == ["no dialog first"]
    assert "MOCK REPLY: no dialog first" in qwen.screen("qw-plain")


def test_qwen_large_message_arrives_whole(qwen: Harness, mock_openai: MockOpenAI) -> None:
    _ready(qwen, "qw-big")
    assert len(LARGE.encode()) > 10_000
    sent = qwen.json("send", "--id", "qw-big", "--message", LARGE, "--timeout", "90")
    assert sent["status"] == "delivered", sent
    assert mock_openai.wait_for_user_turns(1, timeout=60) == [LARGE], "one turn, the exact text"
    after = qwen.json("send", "--id", "qw-big", "--message", "and a short one", "--timeout", "90")
    assert after["status"] == "delivered", after
    assert mock_openai.wait_for_user_turns(2, timeout=30) == [LARGE, "and a short one"]


def test_qwen_send_reply() -> None:
    pytest.skip(
        "no reply signal: Qwen Code runs from an adapter file alone (the screen), and "
        "`send --reply` needs the agent's own end-of-turn report (hooks or events), which "
        "harnex does not wire for Qwen Code 0.24.4"
    )


def test_qwen_permission_dialog_is_seen_guarded_and_answered(
    qwen: Harness, mock_openai: MockOpenAI
) -> None:
    ident = "qw-perm"
    written = Path(qwen.launch.cwd, "perm.txt")
    _ready(qwen, ident)
    # Qwen Code 0.24.4's shell tool; the e2e home's approval mode ("default") asks first.
    mock_openai.tool_call_next = ToolCall(
        "run_shell_command", {"command": COMMAND, "description": "Write perm.txt"}
    )
    sent = qwen.json("send", "--id", ident, "--message", ASK)
    assert sent["status"] == "delivered", sent
    shown = qwen.run("wait", "--id", ident, "--until", "confirmation", "--timeout", "60")
    assert shown.returncode == 0, shown.stderr + qwen.screen(ident)
    assert qwen.json("status", "--id", ident, "--json")[0]["state"] == "confirmation"
    assert COMMAND in qwen.screen(ident)
    assert not written.exists(), "the command must wait for the answer"

    refused = qwen.run("send", "--id", ident, "--message", "into the dialog", "--timeout", "5")
    assert refused.returncode == 1, refused.stdout
    assert "dialog" in refused.stderr and "confirmation" in refused.stderr, refused.stderr

    qwen.json("send", "--id", ident, "--submit-only")  # Enter picks "1. Yes, allow once"
    assert mock_openai.wait_for_tool_results(1, timeout=60)
    back = qwen.run("wait", "--id", ident, "--until", "prompt", "--timeout", "60")
    assert back.returncode == 0, back.stderr + qwen.screen(ident)
    deadline = time.monotonic() + 30
    while mock_openai.tool_done_reply not in qwen.screen(ident):
        assert time.monotonic() < deadline, qwen.screen(ident)
        time.sleep(0.2)
    assert written.read_text() == "harnex-permission-check\n"
    assert mock_openai.user_turns == [ASK], "the refused message must never reach the model"


def test_qwen_stop_with_a_draft_in_the_input(qwen: Harness, mock_openai: MockOpenAI) -> None:
    """The first Ctrl-C clears a draft; the stop steps still end Qwen Code with code 0."""
    _ready(qwen, "qw-draft")
    typed = qwen.json("send", "--id", "qw-draft", "--message", "a draft never sent", "--no-submit")
    assert typed["status"] == "delivered", typed
    assert "a draft never sent" in qwen.screen("qw-draft")
    stopped = qwen.json("stop", "--id", "qw-draft", "--timeout", "30")
    assert stopped["code"] == 0, stopped
    assert mock_openai.user_turns == []


def test_qwen_auto_accept_context_and_outside_kill(
    qwen_trust: Harness, mock_openai: MockOpenAI
) -> None:
    h = qwen_trust
    info = _start(h, "qw-ctx", "--auto-accept", "--context", "hello from --context")
    turns = mock_openai.wait_for_user_turns(1, timeout=90)
    assert turns == ["[harnex session id=qw-ctx] hello from --context"]
    h.run("wait", "--id", "qw-ctx", "--until", "prompt", "--timeout", "30")
    os.kill(int(str(info["pid"])), signal.SIGKILL)
    waited = h.run("wait", "--id", "qw-ctx", "--timeout", "20")
    assert waited.returncode == 128 + signal.SIGKILL, waited.stderr
    assert json.loads(waited.stdout)["state"] == "exited"
    state = Path(h.env["HARNEX_STATE_DIR"])
    ended = json.loads(next((state / "exits").glob("*--qw-ctx.json")).read_text())
    assert ended["signal"] == signal.SIGKILL
