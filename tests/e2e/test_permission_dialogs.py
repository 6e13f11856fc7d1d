"""Tool-permission dialogs with the real CLIs: the mock model asks the agent to run a shell
command, the agent asks its user first, and harnex must see that dialog as ``confirmation``,
refuse to type a message into it, let it be answered, and see the turn through to its end.

Nothing else in the suite makes an agent ask for permission, so these are the tests behind
the adapters' tool-dialog rules (docs/adapters.md).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from ._mock_http import ToolCall
from .agents import claude_permission_mode
from .harness import Harness, harness_and_mock
from .mock_anthropic import MockAnthropic
from .mock_gemini import MockGemini
from .mock_openai import MockOpenAI
from .test_harnex_hooks import _client, _ready

pytestmark = pytest.mark.e2e

COMMAND = "echo harnex-permission-check > perm.txt"
WRITTEN = "harnex-permission-check\n"
ASK = "please write perm.txt"
# Claude Code 2.1.197 reports a permission dialog through its Notification hook only once the
# dialog has waited 6 s with no key pressed; this leaves room for a slow machine.
NOTIFICATION_WITHIN_S = 20.0


def _tool_call(cli: str) -> ToolCall:
    """A harmless shell command that each CLI, as the e2e homes configure it, asks about."""
    if cli == "claude":
        # Claude Code's `default` permission mode (named in the home's settings, see
        # agents.claude_permission_mode) asks before any Bash command that writes.
        return MockAnthropic.bash(COMMAND, "Write perm.txt for the harnex test")
    if cli == "gemini":
        # Gemini CLI 0.61.0 asks before any shell command in its default approval mode.
        return MockGemini.shell(COMMAND, "Write perm.txt for the harnex test")
    if cli == "opencode":
        # OpenCode 1.18.33 runs shell commands unasked by default; the e2e home's config
        # says "permission": {"bash": "ask"} (see agents.opencode_launch).
        return ToolCall("bash", {"command": COMMAND, "description": "Write perm.txt"})
    # Codex 0.169.0 runs commands in its sandbox without asking under its default approval
    # policy (on-request) and no longer accepts "untrusted"; a call that asks to leave the
    # sandbox is what makes it ask.
    return MockOpenAI.exec_command(
        COMMAND,
        sandbox_permissions="require_escalated",
        justification="Write perm.txt for the harnex test?",
    )


def _events(h: Harness, ident: str) -> list[dict[str, Any]]:
    path = next(Path(h.env["HARNEX_STATE_DIR"], "events").glob(f"*--{ident}.jsonl"))
    return [json.loads(line) for line in path.read_text().splitlines()]


def _finished(h: Harness, ident: str, message_id: str, timeout: float) -> dict[str, Any]:
    """The message's record once its turn has finished (it then carries the reply)."""
    client = _client(h, ident)
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = client.request("GET", f"/messages/{message_id}").body
        if message.get("completed_at"):
            return message
        assert time.monotonic() < deadline, f"the turn did not finish: {message}\n{h.screen(ident)}"
        time.sleep(0.1)


def _wait_sidecar_log(h: Harness, ident: str, pattern: str, timeout: float) -> re.Match[str]:
    """The first line of the session's sidecar log matching ``pattern``, waiting for it."""
    log = Path(h.env["HARNEX_STATE_DIR"], "sidecar")
    deadline = time.monotonic() + timeout
    while True:
        text = "".join(p.read_text() for p in log.glob(f"*--{ident}.log"))
        found = re.search(pattern, text, re.MULTILINE)
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"no {pattern!r} in the sidecar log:\n{text}"
        time.sleep(0.1)


@pytest.mark.parametrize("which", ["claude", "codex", "gemini", "opencode"])
def test_permission_dialog_is_seen_guarded_and_answered(
    which: str, request: pytest.FixtureRequest
) -> None:
    h, mock = harness_and_mock(which, request)
    if which == "claude":
        # 2.1.332 defaults to `auto` mode, which runs the command without asking.
        claude_permission_mode(h.launch.home, "default")
    ident = "perm"
    written = Path(h.launch.cwd, "perm.txt")
    _ready(h, ident)
    mock.tool_call_next = _tool_call(which)

    sent = h.json("send", "--id", ident, "--message", ASK)
    assert sent["status"] == "delivered", sent
    shown = h.run("wait", "--id", ident, "--until", "confirmation", "--timeout", "60")
    assert shown.returncode == 0, shown.stderr + h.screen(ident)
    assert h.json("status", "--id", ident, "--json")[0]["state"] == "confirmation"
    screen = h.screen(ident)
    assert COMMAND in screen, screen  # the dialog asks about our command
    assert mock.user_turns == [ASK]
    assert not written.exists(), "the command must wait for the answer"

    refused = h.run("send", "--id", ident, "--message", "typed into the dialog", "--timeout", "5")
    assert refused.returncode == 1, refused.stdout
    assert "dialog" in refused.stderr and "confirmation" in refused.stderr, refused.stderr

    if which == "claude":
        # Claude's own report of the dialog: its Notification hook, which comes late (see
        # NOTIFICATION_WITHIN_S), so the screen has shown the dialog for seconds by then.
        found = _wait_sidecar_log(
            h, ident, r"Notification hook \((\S+), state (\S+)\): (.*)$", NOTIFICATION_WITHIN_S
        )
        assert found.group(1) == "permission_prompt", found.group(0)
        assert "permission" in found.group(3).lower(), found.group(0)
        assert found.group(2) == "confirmation", "the screen is the first to see the dialog"
        assert h.json("status", "--id", ident, "--json")[0]["state"] == "confirmation"
    if which == "gemini":
        # Gemini CLI reports the dialog through its Notification hook as it draws it.
        found = _wait_sidecar_log(h, ident, r"dialog reported by the agent: (.*)$", 30)
        assert "requires execution" in found.group(1), found.group(0)
    if which == "opencode":
        # OpenCode's event stream reports the request (permission.asked) with the command.
        found = _wait_sidecar_log(h, ident, r"dialog reported by the agent: (.*)$", 30)
        assert COMMAND in found.group(1), found.group(0)
    assert not written.exists() and mock.tool_results == []

    h.json("send", "--id", ident, "--submit-only")  # Enter picks the default: "1. Yes"
    message = _finished(h, ident, sent["message_id"], timeout=60)
    assert message["reply"] == mock.tool_done_reply, message
    # The agent itself confirmed the text (Claude as it took the prompt, Codex at the turn's
    # end): a dialog in the middle of the turn does not get in the way.
    assert message["proven"] is True, message

    assert len(mock.tool_results) == 1, mock.tool_results
    assert written.read_text() == WRITTEN
    back = h.run("wait", "--id", ident, "--until", "prompt", "--timeout", "60")
    assert back.returncode == 0, back.stderr + h.screen(ident)
    assert mock.tool_done_reply in h.screen(ident)
    assert mock.user_turns == [ASK], "the refused message must never reach the model"

    moves = [(e["from"], e["to"]) for e in _events(h, ident) if e["type"] == "state"]
    into = [i for i, (_, to) in enumerate(moves) if to == "confirmation"]
    assert into, moves
    # The dialog came up in the middle of the turn and the turn went on after it.
    assert moves[into[0]][0] == "busy", moves
    assert any(to == "prompt" for _, to in moves[into[-1] :]), moves
    done = [e for e in _events(h, ident) if e["type"] == "turn_complete"]
    assert [e["reply"] for e in done] == [mock.tool_done_reply]
