"""harnex driving the real Claude Code and Codex CLIs (pinned npm versions) against the
project's loopback mock model servers: what the adapters claim about each screen is checked
here, so a UI change in a new CLI version fails these tests instead of users' sends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ._mock_http import MockModelServer
from .harness import Harness, _start, harness_and_mock
from .mock_anthropic import MockAnthropic
from .mock_gemini import MockGemini
from .mock_openai import MockOpenAI
from .model_view import assert_model_got

pytestmark = pytest.mark.e2e
MULTILINE = "\n".join(f"line {i:02d}: ünï 日本 🚀 C-c Enter ; $(id)" for i in range(30))
UNICODE = "Unicode: 日本語 中文 한국어 · emoji 🚀🧪👩‍💻 · combining e\u0301 n\u0303"


def _walk_through(h: Harness, mock: MockModelServer, ident: str, trust_dialog: bool = True) -> None:
    """Trust dialog -> prompt -> three exact messages -> a queued one -> pane -> stop.

    OpenCode has no folder-trust dialog (``trust_dialog=False``)."""
    info = _start(h, ident)
    if trust_dialog:
        dialog = h.run(
            "wait", "--id", ident, "--until", "workspace-trust-prompt", "--timeout", "60"
        )
        assert dialog.returncode == 0, dialog.stderr + h.screen(ident)
        assert h.json("status", "--id", ident, "--json")[0]["state"] == "workspace-trust-prompt"
        refused = h.run("send", "--id", ident, "--message", "too early", "--timeout", "5")
        assert refused.returncode == 1 and "dialog" in refused.stderr
        h.json("send", "--id", ident, "--submit-only")  # Enter answers the dialog: trust
    h.wait_prompt(ident)

    for text in ("one line from harnex", MULTILINE, UNICODE):
        count = len(mock.user_turns)
        sent = h.json("send", "--id", ident, "--message", text, "--wait-for-idle")
        assert sent["status"] == "delivered", sent
        turns = mock.wait_for_user_turns(count + 1, timeout=30)
        assert len(turns) == count + 1, "the message must arrive as one turn"
        assert_model_got(h.launch.name, text, turns[count])
    assert f"MOCK REPLY: {UNICODE[:20]}" in h.screen(ident)

    queue_while_busy(h, mock, ident, busy_timeout=10, send_timeout=60)

    h.run("wait", "--id", ident, "--until", "prompt", "--timeout", "30")
    snap = h.json("pane", "--id", ident, "--json")
    assert snap["ok"] and snap["state"] == "prompt" and snap["pane_id"] == info["pane_id"]
    assert "MOCK REPLY: third" in snap["text"]

    stopped = h.json("stop", "--id", ident, "--timeout", "20")
    assert stopped["code"] == 0, stopped
    state = Path(h.env["HARNEX_STATE_DIR"])
    ended = json.loads(next((state / "exits").glob(f"*--{ident}.json")).read_text())
    assert ended["code"] == 0 and ended["stopped"] is True
    events = [json.loads(x) for x in Path(info["events_log_path"]).read_text().splitlines()]
    assert events[-1]["type"] in ("exited", "state")
    assert any(e["type"] == "exited" and e["code"] == 0 for e in events)


def queue_while_busy(
    h: Harness, mock: MockModelServer, ident: str, busy_timeout: float, send_timeout: float
) -> None:
    """A message sent while the agent works waits in the inbox (never typed into the busy
    agent) and goes in after the turn, before the next one: the model gets each once, in
    order ("first, slow", "second, queued", "third")."""
    mock.delay_s = 5.0
    count = len(mock.user_turns)
    h.json("send", "--id", ident, "--message", "first, slow")
    busy = h.run("wait", "--id", ident, "--until", "busy", "--timeout", str(busy_timeout))
    assert busy.returncode == 0, busy.stderr + h.screen(ident)
    queued = h.json("send", "--id", ident, "--no-wait", "--message", "second, queued")
    assert queued["status"] == "queued"
    mock.wait_for_user_turns(count + 1, timeout=30)
    assert mock.user_turns[count:] == ["first, slow"]  # not typed into the busy agent
    mock.delay_s = 0.0
    done = h.json("send", "--id", ident, "--message", "third", "--timeout", str(send_timeout))
    assert done["status"] == "delivered"
    assert mock.wait_for_user_turns(count + 3, timeout=30)[count:] == [
        "first, slow",
        "second, queued",
        "third",
    ]


def test_claude_walk_through(claude: Harness, mock_anthropic: MockAnthropic) -> None:
    _walk_through(claude, mock_anthropic, "cl-1")


def test_codex_walk_through(codex: Harness, mock_openai: MockOpenAI) -> None:
    _walk_through(codex, mock_openai, "cx-1")


def test_gemini_walk_through(gemini: Harness, mock_gemini: MockGemini) -> None:
    _walk_through(gemini, mock_gemini, "gm-1")


def test_opencode_walk_through(opencode: Harness, mock_openai: MockOpenAI) -> None:
    _walk_through(opencode, mock_openai, "oc-1", trust_dialog=False)


# About 10 KB over 120 lines, with characters a terminal or a paste handler could mangle.
LARGE = "\n".join(
    f'{i:03d} {"ünï 日本 🚀 " if i % 7 == 0 else ""}{"x" * 60} $HOME `id` \\ "q" {{}}'
    for i in range(120)
)


@pytest.mark.parametrize("which", ["claude", "codex", "gemini", "opencode"])
def test_large_message_arrives_whole(which: str, request: pytest.FixtureRequest) -> None:
    h, mock = harness_and_mock(which, request)
    _start(h, "big", "--auto-accept")
    h.wait_prompt("big")
    assert len(LARGE.encode()) > 10_000
    sent = h.json("send", "--id", "big", "--message", LARGE, "--reply", "--json", "--timeout", "90")
    assert sent["status"] == "delivered", sent
    (turn,) = mock.wait_for_user_turns(1, timeout=30)
    assert_model_got(h.launch.name, LARGE, turn)
    assert sent["reply"] == mock.reply(turn)
    after = h.json("send", "--id", "big", "--message", "and a short one", "--reply", "--json")
    assert after["reply"] == mock.reply("and a short one")
    assert mock.user_turns == [turn, "and a short one"]


# About 100 KB over 1,200 numbered lines (the 10 KB message's kind of line): a paste ten times
# larger than the usual "large", which terminals and input boxes take in many reads. Under the
# 128 KiB a single command-line argument may hold, so it goes in as `--message`.
HUGE = "\n".join(
    f'{i:04d} {"ünï 日本 🚀 " if i % 7 == 0 else ""}{"y" * 60} $HOME `id` \\ "q" {{}}'
    for i in range(1200)
)


def send_huge(h: Harness, mock: MockModelServer, ident: str) -> None:
    """A 100 KB message arrives at the model once, exactly, as one turn, with the status
    `delivered`; a short one after it arrives too (the agent took the whole paste)."""
    assert 100_000 <= len(HUGE.encode()) < 128 * 1024
    sent = h.json(
        "send", "--id", ident, "--message", HUGE, "--json", "--timeout", "240", timeout=300
    )
    assert sent["status"] == "delivered", sent
    (turn,) = mock.wait_for_user_turns(1, timeout=120)
    assert_model_got(h.launch.name, HUGE, turn)
    after = h.json("send", "--id", ident, "--message", "and a short one", "--timeout", "120")
    assert after["status"] == "delivered", after
    assert mock.wait_for_user_turns(2, timeout=60) == [turn, "and a short one"]


@pytest.mark.parametrize("which", ["claude", "codex", "gemini", "opencode"])
def test_message_of_100_kb_arrives_whole(which: str, request: pytest.FixtureRequest) -> None:
    h, mock = harness_and_mock(which, request)
    _start(h, "huge", "--auto-accept")
    h.wait_prompt("huge")
    send_huge(h, mock, "huge")


# About 10 KB over 100 lines of lower-case words and spaces, no trailing newline.
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")
PLAIN = "\n".join(
    " ".join(_WORDS[(i + j) % len(_WORDS)] for j in range(18))[:101].rstrip() for i in range(100)
)


def test_opencode_slow_to_show_a_paste_gets_no_added_space(
    opencode: Harness, mock_openai: MockOpenAI
) -> None:
    """OpenCode shows a long paste as "[Pasted ~N lines] " and would send the space after it
    too; harnex deletes it, but only once the marker shows. On a loaded machine OpenCode can
    take longer to show a paste than harnex's settle time (the model then got the text plus
    one space): here OpenCode is held stopped (SIGSTOP) for 2 s while the message goes in."""
    info = _start(opencode, "slow", "--auto-accept")
    opencode.wait_prompt("slow")
    assert len(PLAIN.encode()) > 10_000 and not PLAIN.endswith("\n")
    os.kill(info["pid"], signal.SIGSTOP)
    try:
        queued = opencode.json("send", "--id", "slow", "--message", PLAIN, "--no-wait")
        assert queued["status"] == "queued"
        time.sleep(2.0)
    finally:
        os.kill(info["pid"], signal.SIGCONT)
    assert mock_openai.wait_for_user_turns(1, timeout=60) == [PLAIN], "the exact text"
    after = opencode.json(
        "send", "--id", "slow", "--message", "and a short one", "--reply", "--json"
    )
    assert after["status"] == "delivered", after
    assert mock_openai.user_turns == [PLAIN, "and a short one"]


@pytest.mark.parametrize("which", ["claude", "codex", "gemini", "opencode"])
def test_auto_accept_context_and_outside_kill(which: str, request: pytest.FixtureRequest) -> None:
    h, mock = harness_and_mock(which, request)
    info = _start(h, "ctx", "--auto-accept", "--context", "hello from --context")
    turns = mock.wait_for_user_turns(1, timeout=90)
    assert turns == ["[harnex session id=ctx] hello from --context"]
    h.run("wait", "--id", "ctx", "--until", "prompt", "--timeout", "30")
    os.kill(info["pid"], signal.SIGKILL)
    waited = h.run("wait", "--id", "ctx", "--timeout", "20")
    # wait exits with the agent's own code, as harnex 0.4.0 did.
    assert waited.returncode == 128 + signal.SIGKILL, waited.stderr
    assert json.loads(waited.stdout)["state"] == "exited"
    state = Path(h.env["HARNEX_STATE_DIR"])
    ended = json.loads(next((state / "exits").glob("*--ctx.json")).read_text())
    assert ended["signal"] == signal.SIGKILL and ended["code"] == 128 + signal.SIGKILL
    deadline = time.monotonic() + 10
    while list((state / "sessions").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list((state / "sessions").glob("*.json"))


def test_claude_skip_permissions_as_root_needs_sandbox_flag(claude: Harness) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root is refused")
    env = {k: v for k, v in claude.env.items() if k != "IS_SANDBOX"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harnex_tmux",
            "run",
            "--id",
            "sk",
            "--detach",
            claude.launch.argv[0],
            "--",
            "--dangerously-skip-permissions",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=claude.launch.cwd,
        timeout=30,
    )
    assert result.returncode == 1
    assert "IS_SANDBOX=1" in result.stderr and result.stderr.count("\n") == 1
