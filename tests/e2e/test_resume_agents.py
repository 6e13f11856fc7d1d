"""``harnex resume`` with each first-class CLI against its mock (and Aider): the tmux server
is killed with two messages queued, and the resumed agent continues its conversation and gets
them once each."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.procs import gone

from ._mock_http import MockModelServer
from .harness import Harness, _start, harness_and_mock
from .mock_anthropic import MockAnthropic
from .mock_openai import MockOpenAIChat

pytestmark = pytest.mark.e2e


def _history(body: Any) -> list[str]:
    """Every user text in a Messages API request, oldest first."""
    texts: list[str] = []
    for message in body.get("messages", []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        texts += [b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    return [t for t in texts if not t.startswith("<system-reminder>")]  # Claude Code's own


def _kill_tmux_with_two_queued(h: Harness, mock: MockModelServer, ident: str, sidecar: int) -> None:
    """A third turn the model holds, two messages queued behind it, then the tmux server is
    killed (and the mock lets the turn go); returns once the session's sidecar is gone, so
    the session is left to ``harnex resume`` with "queued one" and "queued two" in its
    journal, the same way for every CLI."""
    mock.delay_s = 60
    h.json("send", "--id", ident, "-m", "third turn")
    h.run("wait", "--id", ident, "--until", "busy", "--timeout", "30")
    for text in ("queued one", "queued two"):
        assert h.json("send", "--id", ident, "--no-wait", "-m", text)["status"] == "queued"
    h.tmux("kill-server")
    mock.delay_s = 0
    mock.release()
    deadline = time.monotonic() + 30
    while not gone(sidecar) and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.parametrize("which", ["claude", "codex", "gemini", "opencode", "qwen"])
def test_resumed_after_the_tmux_server_was_killed(
    which: str, request: pytest.FixtureRequest
) -> None:
    if which == "qwen":
        h, mock = request.getfixturevalue("qwen"), request.getfixturevalue("mock_openai")
    else:
        h, mock = harness_and_mock(which, request)
    info = _start(h, "rs", "--auto-accept")
    h.wait_prompt("rs")
    for text in ("first turn", "second turn"):
        out = h.json("send", "--id", "rs", "-m", text, "--reply", "--json", "--timeout", "60")
        assert out["reply"] == mock.reply(text)
    card = json.loads(
        next(Path(h.env["HARNEX_STATE_DIR"], "resume").glob("*--rs.json")).read_text()
    )
    assert card["conversation"], "the CLI's conversation id (from its hooks) is on the card"

    _kill_tmux_with_two_queued(h, mock, "rs", info["sidecar_pid"])
    (row,) = h.json("status", "--json")
    assert row["state"] == "resumable"
    before = len(mock.user_turn_requests)

    (resumed,) = h.json("resume", "--all")
    state = Path(h.env["HARNEX_STATE_DIR"])
    journal = next((state / "inbox").glob("*--rs.jsonl")).read_text()
    events = next((state / "events").glob("*--rs.prev.jsonl")).read_text()
    seen = [json.loads(line) for line in events.splitlines()]
    story = [(e["type"], e.get("to") or e.get("reason")) for e in seen][-6:]
    assert resumed["continued"] is True and resumed["queued"] == 2, (journal, story, before)
    try:
        mock.wait_for_user_turns(before + 2, timeout=90)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{h.screen('rs')}") from None
    time.sleep(3)
    later = mock.user_turn_requests[before:]
    assert [r.user_text for r in later] == ["queued one", "queued two"]
    # The conversation went on: the earlier turns are in the next request's history (the
    # third too: it was asked when tmux went away), and each queued message came once.
    if isinstance(mock, MockAnthropic):
        history = _history(later[0].body)
        assert history == ["first turn", "second turn", "third turn", "queued one"], history
        assert _history(later[1].body)[-2:] == ["queued one", "queued two"]
    else:
        raw = later[0].raw_body.decode()
        assert "first turn" in raw and "second turn" in raw


def test_aider_resumed_from_its_chat_history(request: pytest.FixtureRequest) -> None:
    """Aider names no conversation: it is resumed with --restore-chat-history, which reads
    its folder's chat history file back, so the model sees the earlier turns again."""
    h: Harness = request.getfixturevalue("aider")
    mock: MockOpenAIChat = request.getfixturevalue("mock_openai_chat")
    info = _start(h, "ra")
    asked = h.run("wait", "--id", "ra", "--until", "confirmation", "--timeout", "90")
    assert asked.returncode == 0, asked.stderr + h.screen("ra")
    h.json("send", "--id", "ra", "--submit-only")  # add .aider* to .gitignore: yes
    h.wait_prompt("ra")
    for number, text in enumerate(("first turn", "second turn"), start=1):
        sent = h.json("send", "--id", "ra", "--message", text, "--wait-for-idle")
        assert sent["status"] == "delivered", sent
        assert mock.wait_for_user_turns(number, timeout=60)[-1] == text
    h.wait_prompt("ra")

    _kill_tmux_with_two_queued(h, mock, "ra", info["sidecar_pid"])
    (row,) = h.json("status", "--json")
    assert row["state"] == "resumable" and row["conversation"] is None
    before = len(mock.user_turn_requests)

    (resumed,) = h.json("resume", "--all")
    assert resumed["continued"] is True and resumed["queued"] == 2, resumed
    assert "note" not in resumed
    try:
        mock.wait_for_user_turns(before + 2, timeout=90)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{h.screen('ra')}") from None
    time.sleep(3)  # a repeat would show by now
    later = mock.user_turn_requests[before:]
    assert [r.user_text for r in later] == ["queued one", "queued two"]
    # The earlier turns, and the model's replies to them, came back from the history file.
    raw = later[0].raw_body.decode()
    for text in ("first turn", "second turn", mock.reply("first turn")):
        assert text in raw, (text, raw[:2000])
