"""harnex driving the real Aider (aider-chat from PyPI, pinned in ``pip_agents.py``) against
the loopback OpenAI-compatible mock: the screen rules of ``adapters/files/aider.toml`` and
its ``[ready]`` notification command are checked here, so a new Aider version that changes
them fails these tests instead of users' sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .harness import Harness, _start
from .mock_openai import MockOpenAIChat
from .test_harnex_agents import LARGE, MULTILINE, UNICODE, queue_while_busy, send_huge

pytestmark = pytest.mark.e2e
GITIGNORE_QUESTION = "Add .aider* to .gitignore"


def _events(info: dict[str, Any]) -> list[dict[str, Any]]:
    lines = Path(info["events_log_path"]).read_text().splitlines()
    return [json.loads(line) for line in lines]


def _turns_reported(info: dict[str, Any]) -> int:
    """Turn ends the sidecar learnt of: only the ``[ready]`` command reports them for Aider
    (the screen alone never emits ``turn_complete``)."""
    return sum(1 for e in _events(info) if e["type"] == "turn_complete")


def test_aider_walk_through(aider: Harness, mock_openai_chat: MockOpenAIChat) -> None:
    """Its first question -> prompt -> three exact messages -> a queued one -> pane -> stop."""
    h, mock, ident = aider, mock_openai_chat, "ai-1"
    info = _start(h, ident)
    # The test repository has no .gitignore: Aider asks to add its files to one.
    asked = h.run("wait", "--id", ident, "--until", "confirmation", "--timeout", "90")
    assert asked.returncode == 0, asked.stderr + h.screen(ident)
    assert GITIGNORE_QUESTION in h.screen(ident)
    refused = h.run("send", "--id", ident, "--message", "too early", "--timeout", "5")
    assert refused.returncode == 1 and "dialog" in refused.stderr
    h.json("send", "--id", ident, "--submit-only")  # Enter takes the default: yes
    h.wait_prompt(ident)
    assert ".aider*" in (Path(h.launch.cwd) / ".gitignore").read_text()

    for number, text in enumerate(("one line from harnex", MULTILINE, UNICODE), start=1):
        count = len(mock.user_turns)
        sent = h.json("send", "--id", ident, "--message", text, "--wait-for-idle")
        assert sent["status"] == "delivered", sent
        turns = mock.wait_for_user_turns(count + 1, timeout=30)
        assert turns[count:] == [text], "the model must get the exact text as one turn"
        assert _turns_reported(info) == number, "each turn's end comes from [ready]"
    assert f"MOCK REPLY: {UNICODE[:20]}" in h.screen(ident)

    queue_while_busy(h, mock, ident, busy_timeout=30, send_timeout=90)

    h.wait_prompt(ident)
    snap = h.json("pane", "--id", ident, "--json")
    assert snap["ok"] and snap["state"] == "prompt" and snap["pane_id"] == info["pane_id"]
    assert "MOCK REPLY: third" in snap["text"]
    assert mock.user_turns == [
        "one line from harnex",
        MULTILINE,
        UNICODE,
        "first, slow",
        "second, queued",
        "third",
    ], "every message arrives exactly once"

    stopped = h.json("stop", "--id", ident, "--timeout", "30")
    assert stopped["code"] == 0, stopped
    state = Path(h.env["HARNEX_STATE_DIR"])
    ended = json.loads(next((state / "exits").glob(f"*--{ident}.json")).read_text())
    assert ended["code"] == 0 and ended["stopped"] is True
    assert any(e["type"] == "exited" and e["code"] == 0 for e in _events(info))


def test_aider_large_message_arrives_whole(
    aider: Harness, mock_openai_chat: MockOpenAIChat
) -> None:
    h, mock = aider, mock_openai_chat
    (Path(h.launch.cwd) / ".gitignore").write_text(".aider*\n")  # no question at start
    _start(h, "big")
    h.wait_prompt("big")
    assert len(LARGE.encode()) > 10_000
    sent = h.json("send", "--id", "big", "--message", LARGE, "--wait-for-idle", "--timeout", "120")
    assert sent["status"] == "delivered", sent
    assert mock.wait_for_user_turns(1, timeout=60) == [LARGE], "one turn, the exact text"
    after = h.json("send", "--id", "big", "--message", "and a short one", "--wait-for-idle")
    assert after["status"] == "delivered", after
    assert mock.wait_for_user_turns(2, timeout=30) == [LARGE, "and a short one"]


def test_aider_message_of_100_kb_arrives_whole(
    aider: Harness, mock_openai_chat: MockOpenAIChat
) -> None:
    h = aider
    (Path(h.launch.cwd) / ".gitignore").write_text(".aider*\n")  # no question at start
    _start(h, "huge")
    h.wait_prompt("huge")
    send_huge(h, mock_openai_chat, "huge")


def test_aider_send_reply_returns_the_reply_text(
    aider: Harness, mock_openai_chat: MockOpenAIChat
) -> None:
    """``send --reply`` ends with the turn (reported by ``[ready]``) and brings the reply
    text, read from Aider's chat history file (its ``[reply]`` table): the model's answer
    whole, several lines and a quoted line too, without the message or Aider's own lines."""
    h, mock = aider, mock_openai_chat
    (Path(h.launch.cwd) / ".gitignore").write_text(".aider*\n")
    _start(h, "rp")
    h.wait_prompt("rp")
    answer = "First line of the answer.\n\n> a quoted line\n#### not a heading of yours\nlast"
    mock.reply = lambda text: answer if text.startswith("long") else f"MOCK REPLY: {text}"
    mock.delay_s = 3.0
    sent = h.json("send", "--id", "rp", "--message", "reply please", "--reply", "--json")
    assert sent["status"] == "delivered" and sent["completed_at"], sent
    assert sent["reply"] == "MOCK REPLY: reply please", sent
    # Aider prints the reply before it runs its notification command.
    assert "MOCK REPLY: reply please" in h.screen("rp"), "it returned with the turn, not before"
    mock.delay_s = 0.0
    again = h.json("send", "--id", "rp", "--message", "long\nanswer", "--reply", "--json")
    assert again["reply"] == answer, again
    assert mock.user_turns == ["reply please", "long\nanswer"]
