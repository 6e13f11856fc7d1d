"""harnex driving the real Qwen Code (pinned ``@qwen-code/qwen-code``) against the loopback
OpenAI mock: its screen read through its shipped adapter file (``adapters/files/qwen.toml``),
its turns reported by its own hooks (``adapters/qwen.py``). The folder-trust dialog, exact
one-line, multi-line, unicode and 10 KB messages (each one turn at the model), a message
queued while busy, ``send --reply`` and proven delivery, a tool-permission dialog,
``--context`` with ``--auto-accept``, ``pane``, ``stop`` (also with a draft in the input line)
and an outside kill. A UI change in a new Qwen Code version fails these tests instead of
users' sends."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from ._mock_http import ToolCall
from .harness import Harness, _start
from .mock_openai import MockOpenAI
from .test_harnex_agents import HUGE, LARGE, MULTILINE, _walk_through
from .test_harnex_hooks import _client
from .test_permission_dialogs import _events, _finished, _wait_sidecar_log

pytestmark = pytest.mark.e2e

COMMAND = "echo harnex-permission-check > perm.txt"
ASK = "please write perm.txt"


def _ready(h: Harness, ident: str, *flags: str) -> dict[str, object]:
    info = _start(h, ident, *flags)
    assert info["adapter"] == "qwen", info
    h.wait_prompt(ident)
    return info


def test_qwen_walk_through(qwen_trust: Harness, mock_openai: MockOpenAI) -> None:
    """Trust dialog (seen, guarded, answered) -> prompt -> one-line, 30-line and unicode
    messages exact as one turn each -> a message queued while busy -> pane -> stop (code 0)."""
    _walk_through(qwen_trust, mock_openai, "qw-1", trust_dialog=True)
    # Its hooks ran once the folder was trusted: every turn reported its end and reply.
    done = [e["reply"] for e in _events(qwen_trust, "qw-1") if e["type"] == "turn_complete"]
    assert done == [mock_openai.reply(t) for t in mock_openai.user_turns], done


def test_qwen_without_folder_trust_is_ready_at_once(qwen: Harness, mock_openai: MockOpenAI) -> None:
    _ready(qwen, "qw-plain")
    sent = qwen.json("send", "--id", "qw-plain", "--message", "no dialog first", "--wait-for-idle")
    assert sent["status"] == "delivered", sent
    assert mock_openai.wait_for_user_turns(1, timeout=30) == ["no dialog first"]
    assert "MOCK REPLY: no dialog first" in qwen.screen("qw-plain")


def test_qwen_large_message_arrives_whole(qwen: Harness, mock_openai: MockOpenAI) -> None:
    _ready(qwen, "qw-big")
    assert len(LARGE.encode()) > 10_000
    sent = qwen.json(
        "send", "--id", "qw-big", "--message", LARGE, "--reply", "--json", "--timeout", "90"
    )
    assert sent["status"] == "delivered", sent
    assert mock_openai.wait_for_user_turns(1, timeout=60) == [LARGE], "one turn, the exact text"
    assert sent["reply"] == mock_openai.reply(LARGE)
    # Shown collapsed ("[Pasted Content 10361 chars]"), reported whole by its hook: proven.
    message = _client(qwen, "qw-big").request("GET", f"/messages/{sent['message_id']}").body
    assert message["proven"] is True, message
    after = qwen.json("send", "--id", "qw-big", "--message", "and a short one", "--reply", "--json")
    assert after["reply"] == mock_openai.reply("and a short one")
    assert mock_openai.user_turns == [LARGE, "and a short one"]


def test_qwen_message_of_100_kb_is_not_taken_and_says_so(
    qwen: Harness, mock_openai: MockOpenAI
) -> None:
    """Qwen Code 0.24.4 reads a 100 KB paste a few KiB at a time ("Pasting… 4 KB" in its
    footer), shows it collapsed, and then ignores the submit key: the model never gets it.
    harnex waits for the paste to be taken (a submit right behind it sent the collapsed
    marker, "[Pasted Content 104747 chars]", to the model as the prompt, reported
    `delivered`), then says `failed`: the text is still in the input line."""
    _ready(qwen, "qw-huge")
    assert 100_000 <= len(HUGE.encode()) < 128 * 1024
    sent = qwen.run("send", "--id", "qw-huge", "--message", HUGE, "--json", "--timeout", "240")
    answer = json.loads(sent.stdout)
    assert sent.returncode == 1 and answer["status"] == "failed", answer
    assert "still in the agent's input line" in answer["error"]
    assert "Pasted Content" in qwen.screen("qw-huge"), "it stays collapsed in the input"
    # Seconds after the first submit key (it was pressed twice): a turn would have started.
    assert mock_openai.user_turns == [], "the model got nothing (and no marker for a text)"


def test_qwen_reply_turn_complete_and_proven_delivery(
    qwen: Harness, mock_openai: MockOpenAI
) -> None:
    """Qwen Code's own hooks (UserPromptSubmit, Stop): each message proven by the prompt it
    reports, the reply from its Stop hook, ``wait --until task_complete``."""
    ident = "qw-hk"
    _ready(qwen, ident)
    text = "Please answer with a reply\nsecond line ünï 🚀"
    out = qwen.json("send", "--id", ident, "--message", text, "--reply", "--json")
    assert out["status"] == "delivered" and out["completed_at"], out
    assert out["reply"] == mock_openai.reply(text)
    message = _client(qwen, ident).request("GET", f"/messages/{out['message_id']}").body
    assert message["proven"] is True, message
    plain = qwen.run("send", "--id", ident, "--message", "short one", "--reply", "--timeout", "60")
    assert plain.returncode == 0 and plain.stdout.strip() == mock_openai.reply("short one")

    waited: dict[str, Any] = {}

    def wait_turn() -> None:
        waited.update(qwen.json("wait", "--id", ident, "--until", "task_complete"))

    waiter = threading.Thread(target=wait_turn)
    waiter.start()
    qwen.json("send", "--id", ident, "--message", "third message")
    waiter.join(70)
    assert waited["reply"] == mock_openai.reply("third message")
    assert mock_openai.user_turns == [text, "short one", "third message"]
    done = [e for e in _events(qwen, ident) if e["type"] == "turn_complete"]
    assert len(done) == 3 and done[0]["message_id"] == out["message_id"]


def test_qwen_screen_only_without_hooks(qwen: Harness, mock_openai: MockOpenAI) -> None:
    """With hooks off (``HARNEX_NO_HOOKS=1``) the adapter file alone drives the session:
    readiness, submits confirmed by the screen, exact turns, a queued message, stop."""
    qwen.env["HARNEX_NO_HOOKS"] = "1"
    ident = "qw-file"
    _ready(qwen, ident)
    for text in ("one line ünï 🚀", MULTILINE, LARGE):
        count = len(mock_openai.user_turns)
        sent = qwen.json("send", "--id", ident, "--message", text, "--wait-for-idle")
        assert sent["status"] == "delivered", sent
        turns = mock_openai.wait_for_user_turns(count + 1, timeout=60)
        assert turns[count:] == [text], "the model must get the exact text as one turn"
    mock_openai.delay_s = 5.0
    qwen.json("send", "--id", ident, "--message", "slow one")
    busy = qwen.run("wait", "--id", ident, "--until", "busy", "--timeout", "10")
    assert busy.returncode == 0, busy.stderr + qwen.screen(ident)
    queued = qwen.json("send", "--id", ident, "--no-wait", "--message", "queued one")
    assert queued["status"] == "queued"
    mock_openai.delay_s = 0.0
    assert mock_openai.wait_for_user_turns(5, timeout=60)[3:] == ["slow one", "queued one"]
    events = _events(qwen, ident)
    assert not [e for e in events if e["type"] == "turn_complete"], "no hooks, no turn reports"
    stopped = qwen.json("stop", "--id", ident, "--timeout", "30")
    assert stopped["code"] == 0, stopped


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

    # Qwen Code reports the dialog through its Notification hook as it draws it.
    found = _wait_sidecar_log(qwen, ident, r"dialog reported by the agent: (.*)$", 30)
    assert "run_shell_command" in found.group(1), found.group(0)

    qwen.json("send", "--id", ident, "--submit-only")  # Enter picks "1. Yes, allow once"
    message = _finished(qwen, ident, sent["message_id"], timeout=60)
    assert message["reply"] == mock_openai.tool_done_reply and message["proven"] is True, message
    assert len(mock_openai.tool_results) == 1, mock_openai.tool_results
    back = qwen.run("wait", "--id", ident, "--until", "prompt", "--timeout", "60")
    assert back.returncode == 0, back.stderr + qwen.screen(ident)
    assert mock_openai.tool_done_reply in qwen.screen(ident)
    assert written.read_text() == "harnex-permission-check\n"
    # The turn going on after the dialog is reported as an empty prompt: not a new turn.
    done = [e for e in _events(qwen, ident) if e["type"] == "turn_complete"]
    assert [e["reply"] for e in done] == [mock_openai.tool_done_reply]
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
