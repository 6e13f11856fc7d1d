"""Real agents as MCP clients: the pinned Claude Code, Codex and Qwen Code, with
``harnex mcp`` registered the way ``harnex mcp --print-config`` says, are told by the mock
model to call harnex's tools. Each call must do what the CLI would (the message arrives in the
other session exactly once) and its result must come back to the model in the agent's next
request.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import recorded, wait_for

from harnex_tmux.mcp.config import CLAUDE_ALLOW_RULE, client_config

from ._mock_http import ToolCall
from .agents import (
    AgentLaunch,
    InstalledAgents,
    claude_launch,
    claude_permission_mode,
    codex_launch,
    qwen_launch,
)
from .harness import Harness, _harness
from .mock_anthropic import MockAnthropic
from .mock_openai import MockOpenAI
from .test_harnex_hooks import _ready

pytestmark = pytest.mark.e2e

SERVER = [sys.executable, "-m", "harnex_tmux", "mcp"]


def _claude_mcp_launch(
    agents: InstalledAgents, mock: MockAnthropic, repo: Path, tmp_path: Path, extra: list[str]
) -> AgentLaunch:
    """Claude Code with ``extra`` arguments (the ``--mcp-config`` registration), tool search
    off and the ``default`` permission mode.

    From 2.1.332 on Claude Code offers MCP tools by name only ("deferred tools", in a system
    message), and the model loads them with its ``ToolSearch`` tool before it calls them: the
    mock calls only tools its request offers, so ``ENABLE_TOOL_SEARCH=false`` (Claude Code's
    own variable) puts them in the tool list, as 2.1.197 always did. Its ``auto`` mode would
    have the tool calls checked by the API server, which the mock does not do (the ``claude``
    fixture in test_harnex_agents says more)."""
    launch = claude_launch(
        agents.claude,
        mock.url,
        tmp_path / "home",
        repo,
        trust=True,
        extra_args=extra,
        extra_env={"ENABLE_TOOL_SEARCH": "false"},
    )
    claude_permission_mode(launch.home, "default")
    return launch


@pytest.fixture
def claude_mcp(
    agents: InstalledAgents, mock_anthropic: MockAnthropic, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    """Claude Code with harnex's MCP server for this run only (``--mcp-config``), its tools
    allowed without a permission dialog (the rule ``mcp__harnex``)."""
    extra = ["--mcp-config", client_config("claude", SERVER), "--allowedTools", CLAUDE_ALLOW_RULE]
    yield from _harness(
        _claude_mcp_launch(agents, mock_anthropic, git_repo, tmp_path, extra), tmp_path
    )


@pytest.fixture
def codex_mcp(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    """Codex with the ``mcp_servers.harnex`` table print-config writes, its tools approved
    (the table's ``default_tools_approval_mode``, commented out in the snippet)."""
    # Trusted beforehand: the trust dialog is tested elsewhere, and Codex 0.169.0 under heavy
    # load sometimes exits while it is answered ("timed out discarding buffered terminal input").
    launch = codex_launch(
        agents.codex, mock_openai.url + "/v1", tmp_path / "home", git_repo, trust=True
    )
    config = launch.home / ".codex" / "config.toml"
    table = client_config("codex", SERVER).replace("# default_tools", "default_tools")
    assert 'default_tools_approval_mode = "approve"' in table.splitlines()
    config.write_text(config.read_text() + "\n" + table + "\n")
    yield from _harness(launch, tmp_path)


def _qwen_mcp_launch(
    agents: InstalledAgents, mock: MockOpenAI, repo: Path, tmp_path: Path, *, trust: bool = True
) -> AgentLaunch:
    """Qwen Code with print-config's ``mcpServers`` entry merged into its user settings (as
    it is, or without its ``"trust": true``)."""
    launch = qwen_launch(agents.qwen, mock.base_url, tmp_path / "home", repo)
    snippet = json.loads(client_config("qwen", SERVER))
    if not trust:
        del snippet["mcpServers"]["harnex"]["trust"]
    settings = launch.home / ".qwen" / "settings.json"
    settings.write_text(json.dumps(json.loads(settings.read_text()) | snippet, indent=2) + "\n")
    return launch


@pytest.fixture
def qwen_mcp(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    """Qwen Code registered as print-config says: its ``"trust": true`` runs harnex's tools
    without a dialog (folder trust is off, 0.24.4's default, so the folder counts as
    trusted)."""
    yield from _harness(_qwen_mcp_launch(agents, mock_openai, git_repo, tmp_path), tmp_path)


def _lead_and_mock(
    which: str, request: pytest.FixtureRequest
) -> tuple[Harness, MockAnthropic | MockOpenAI]:
    h: Harness = request.getfixturevalue(f"{which}_mcp")
    mock: MockAnthropic | MockOpenAI = request.getfixturevalue(
        "mock_anthropic" if which == "claude" else "mock_openai"
    )
    return h, mock


def _lead_ready(h: Harness, mock: MockAnthropic | MockOpenAI) -> dict[str, Any]:
    """Start the lead and wait until its model is offered harnex's tools.

    Claude Code reaches its prompt before its MCP servers are connected (``harnex mcp`` needs
    a second or more to start on a loaded machine), and a call before then fails with "still
    connecting". So plain turns go first, until one of them carries the tools.
    """
    info = _ready(h, "lead")
    deadline = time.monotonic() + 120
    while True:
        h.json("send", "--id", "lead", "-m", "are harnex's tools there?", "--wait-for-idle")
        offered = [r.body.get("tools") for r in mock.requests if r.is_user_turn][-1]
        if "mcp__harnex" in json.dumps(offered):
            return info
        names = [t.get("name") for t in offered or [] if isinstance(t, dict)]
        assert time.monotonic() < deadline, (
            f"harnex's MCP tools never reached the model; it was offered {names}"
        )


def _tool_call(h: Harness, tool: str, arguments: dict[str, Any]) -> ToolCall:
    """How each CLI names an MCP tool to its model: Claude Code and Qwen Code 0.24.4 as
    ``mcp__harnex__<tool>``, Codex 0.169.0 as ``<tool>`` in the namespace ``mcp__harnex``."""
    if h.launch.name in ("claude", "qwen"):
        return ToolCall(f"mcp__harnex__{tool}", arguments)
    return ToolCall(tool, arguments, namespace="mcp__harnex")


def _tool_json(text: str) -> Any:
    """The tool's JSON result in what the agent sent back (Codex puts its own lines first;
    Qwen Code 0.24.4 sends the structured result, then on the next line the text content,
    both the same JSON)."""
    _, _, output = text.rpartition("Output:\n")
    data, end = json.JSONDecoder().raw_decode(output)
    rest = output[end:].strip()
    assert not rest or json.loads(rest) == data, text
    return data


def _call(
    h: Harness, mock: MockAnthropic | MockOpenAI, tool: str, arguments: dict[str, Any]
) -> Any:
    """One user turn in which the model calls harnex's ``tool``; the tool's result as the
    model got it back (the JSON the tool answered)."""
    done = len(mock.tool_results)
    mock.tool_call_next = _tool_call(h, tool, arguments)
    sent = h.json("send", "--id", "lead", "--message", f"please use harnex {tool}")
    assert sent["status"] == "delivered", sent
    results = mock.wait_for_tool_results(done + 1, timeout=90)
    assert len(results) == done + 1, results
    back = h.run("wait", "--id", "lead", "--until", "prompt", "--timeout", "60")
    assert back.returncode == 0, back.stderr + h.screen("lead")
    # The request after the tool call is the agent's next one; nothing was asked twice.
    assert mock.tool_results == results
    return _tool_json(results[-1])


@pytest.mark.parametrize("which", ["claude", "codex", "qwen"])
def test_agent_runs_and_messages_a_session_through_mcp(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    h, mock = _lead_and_mock(which, request)
    lead = _lead_ready(h, mock)
    turns = len(mock.user_turns)
    record = tmp_path / "worker.jsonl"
    agent = ["-m", "harnex_tmux.demo_agent", "--busy", "0.3", "--record", str(record)]

    started = _call(h, mock, "run", {"cli": sys.executable, "id": "worker", "args": agent})
    assert started["ok"] is True and started["id"] == "worker"
    assert h.run("wait", "--id", "worker", "--until", "prompt", "--timeout", "60").returncode == 0
    # An ordinary session: the CLI lists it, in the lead's tmux session (its spawner pane's).
    listed = {row["id"]: row for row in h.json("status", "--json")}
    assert set(listed) == {"lead", "worker"}
    assert listed["worker"]["tmux_session"] == lead["tmux_session"]

    status = _call(h, mock, "status", {"id": "worker"})
    assert [row["id"] for row in status["sessions"]] == ["worker"]

    sent = _call(h, mock, "send", {"id": "worker", "message": f"hello from {which} over mcp"})
    assert sent["ok"] is True and sent["status"] == "delivered", sent
    (text,) = wait_for(lambda: recorded(record), timeout=30)
    header, body = text.split("\n")
    # Sent from inside the lead's session: the relay header names it.
    assert header.startswith(f"[harnex relay from={which} id=lead at=")
    assert body == f"hello from {which} over mcp"

    shot = _call(h, mock, "pane", {"id": "worker", "lines": 30})
    assert f"hello from {which} over mcp" in shot["text"]

    # Exactly once, and the model saw four more user turns, each answered by one tool call.
    assert len(recorded(record)) == 1
    assert len(mock.user_turns) == turns + 4 and len(mock.tool_results) == 4


def test_without_the_allow_rule_claude_asks_first(
    agents: InstalledAgents, mock_anthropic: MockAnthropic, git_repo: Path, tmp_path: Path
) -> None:
    """Why the registration documents ``--allowedTools mcp__harnex``: without it Claude Code
    asks before the first call of harnex's tools, and the call waits for the answer."""
    extra = ["--mcp-config", client_config("claude", SERVER)]
    launch = _claude_mcp_launch(agents, mock_anthropic, git_repo, tmp_path, extra)
    with contextmanager(_harness)(launch, tmp_path) as h:
        _lead_ready(h, mock_anthropic)
        mock_anthropic.tool_call_next = ToolCall("mcp__harnex__status", {})
        h.json("send", "--id", "lead", "--message", "please use harnex status")
        asked = h.run("wait", "--id", "lead", "--until", "confirmation", "--timeout", "60")
        assert asked.returncode == 0, asked.stderr + h.screen("lead")
        # 2.1.197 names the tool "harnex - status (MCP)"; 2.1.332 by its title, "harnex —
        # Status Tool: (MCP)".
        screen = h.screen("lead")
        names = ("harnex - status (MCP)", "harnex — Status Tool: (MCP)")
        assert any(name in screen for name in names), screen
        assert mock_anthropic.tool_results == []
        h.json("send", "--id", "lead", "--submit-only")  # Enter picks the default: "1. Yes"
        (result,) = mock_anthropic.wait_for_tool_results(1, timeout=60)
        assert [row["id"] for row in json.loads(result)["sessions"]] == ["lead"]


def test_without_trust_qwen_asks_first(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> None:
    """Why the Qwen Code snippet says ``"trust": true``: without it Qwen Code asks before
    each call of harnex's tools, and the call waits for the answer."""
    launch = _qwen_mcp_launch(agents, mock_openai, git_repo, tmp_path, trust=False)
    with contextmanager(_harness)(launch, tmp_path) as h:
        _lead_ready(h, mock_openai)
        mock_openai.tool_call_next = ToolCall("mcp__harnex__status", {})
        h.json("send", "--id", "lead", "--message", "please use harnex status")
        asked = h.run("wait", "--id", "lead", "--until", "confirmation", "--timeout", "60")
        assert asked.returncode == 0, asked.stderr + h.screen("lead")
        # Its Notification hook reports the dialog as it is drawn: wait for the drawing.
        dialog = 'Allow execution of MCP tool "status" from server "harnex"?'
        wait_for(lambda: dialog in h.screen("lead"), timeout=30, interval=0.5)
        assert mock_openai.tool_results == []
        h.json("send", "--id", "lead", "--submit-only")  # Enter picks "1. Yes, allow once"
        (result,) = mock_openai.wait_for_tool_results(1, timeout=60)
        assert [row["id"] for row in _tool_json(result)["sessions"]] == ["lead"]


@pytest.mark.parametrize("which", ["claude", "qwen"])
def test_an_agent_asks_another_of_its_kind_and_gets_its_reply(
    which: str, request: pytest.FixtureRequest
) -> None:
    """``send`` with ``reply: true`` between two real agents: the lead's tool call returns
    the peer's answer (reported by the peer's own hooks), which the lead's model then reads."""
    h, mock = _lead_and_mock(which, request)
    _lead_ready(h, mock)
    _ready(h, "peer")
    question = "what is six times seven?"
    args = {"id": "peer", "message": question, "reply": True, "timeout": 120}
    answer = _call(h, mock, "send", args)
    assert answer["status"] == "delivered" and answer["completed_at"], answer
    asked = [turn for turn in mock.user_turns if turn.endswith(question)]
    assert len(asked) == 1 and asked[0].startswith(f"[harnex relay from={which} id=lead at=")
    assert answer["reply"] == mock.reply(asked[0])
