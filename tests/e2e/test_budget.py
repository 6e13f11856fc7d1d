"""Budgets with the real CLIs: the mock's usage crosses 80 % (a ``budget`` warning) and then
100 % in the middle of a turn (the agent is running a long tool): harnex interrupts the turn
with the CLI's own keys, holds the message queued behind it, refuses a new send with one line
and exit 4, and ``harnex budget --add`` lets the held message through, typed exactly once."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from harnex_tmux.errors import EXIT_BUDGET
from harnex_tmux.session.client import SidecarClient

from ._mock_http import MockModelServer
from .harness import Harness, _start, harness_and_mock
from .mock_anthropic import MockAnthropic
from .mock_openai import MockOpenAI

pytestmark = pytest.mark.e2e
# The tool the agent is running when the budget runs out: far longer than any wait below, so
# a turn that was not interrupted makes the test fail instead of passing late. Not a bare
# `sleep 300`: Claude Code 2.1.332 refuses that tool call ("Blocked: standalone sleep 300",
# and "sleep 300 followed by: ..." too), so the turn ended at once. A file in the repository,
# as a path outside it (/dev/null) brings a dialog however the command is allowed; the test
# allows the command in Claude Code's user settings, as a user would.
LONG = "timeout 300 tail -f .git/HEAD"


def _events(h: Harness, ident: str, kind: str) -> list[dict[str, Any]]:
    log = next(Path(h.env["HARNEX_STATE_DIR"], "events").glob(f"*--{ident}.jsonl"))
    return [e for e in map(json.loads, log.read_text().splitlines()) if e["type"] == kind]


def _until(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.2)


def _client(h: Harness, ident: str) -> SidecarClient:
    folder = Path(h.env["HARNEX_STATE_DIR"], "sessions")
    record = json.loads(next(folder.glob(f"*--{ident}.json")).read_text())
    return SidecarClient(record["host"], record["port"], record["token"], timeout=10)


def _mentions(mock: MockModelServer, text: str) -> int:
    """How often the newest model call's conversation holds ``text`` (0: no call has it)."""
    calls = [r for r in mock.requests if mock.is_model_call(r) and isinstance(r.body, dict)]
    bodies = [json.dumps(r.body.get("messages") or r.body.get("input")) for r in calls]
    return max((body.count(text) for body in bodies), default=0)


def _long_tool(which: str) -> Any:
    if which == "claude":
        return MockAnthropic.bash(LONG, "Wait for the test")
    # Codex hands a command still running after ``yield_time_ms`` to a background terminal
    # and goes on with the turn: ask it to wait long enough for the interrupt to come.
    return MockOpenAI.exec_command(LONG, yield_time_ms=120_000)


@pytest.mark.parametrize("which", ["claude", "codex"])
def test_budget_warns_interrupts_holds_and_add_releases(
    which: str, request: pytest.FixtureRequest
) -> None:
    h, mock = harness_and_mock(which, request)
    assert isinstance(mock, MockModelServer)
    if which == "claude":
        settings_file = h.launch.home / ".claude" / "settings.json"
        settings = json.loads(settings_file.read_text())
        settings["permissions"]["allow"] = [f"Bash({LONG})"]
        settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    _start(h, "bud", "--auto-accept", "--budget", "100M")
    ready = h.run("wait", "--id", "bud", "--until", "prompt", "--timeout", "90")
    assert ready.returncode == 0, ready.stderr
    first = h.json("send", "--id", "bud", "--message", "first turn", "--reply", "--json")
    assert first["status"] == "delivered"

    # The first turn's tokens, once the agent wrote them down (its usage event); then a limit
    # they are 85 % of.
    _until("the first turn's usage event", lambda: _events(h, "bud", "usage"))
    spent = _until(
        "the first turn counted",
        lambda: (h.json("budget", "--id", "bud", "--json")["budget"] or {}).get("spent"),
    )
    limit = math.ceil(spent / 0.85)
    assert h.json("budget", "--id", "bud", "--clear", "--json")["budget"] is None
    shown = h.json("budget", "--id", "bud", "--add", str(limit), "--json")["budget"]
    assert shown["state"] == "warning" and shown["limit"] == limit
    (warning,) = _until("the warning", lambda: _events(h, "bud", "budget"))
    assert warning["level"] == "warning" and warning["spent"] == spent

    # A turn that calls a long tool; the model's answer is held until a message is queued
    # behind the turn, then its tokens cross the limit while the tool runs.
    mock.delay_s = 30
    mock.tool_call_next = _long_tool(which)
    h.json("send", "--id", "bud", "--message", "second turn", "--no-wait")
    mock.wait_for_user_turns(2, timeout=60)
    queued = h.json("send", "--id", "bud", "--message", "held message", "--no-wait")
    assert queued["status"] == "queued"
    mock.delay_s = 0
    mock.release()
    levels = _until(
        "the budget exceeded",
        lambda: [e for e in _events(h, "bud", "budget") if e["level"] == "exceeded"],
    )
    assert levels[0]["interrupted"] is True, "the agent was busy in its tool"
    assert levels[0]["spent"] >= limit

    client = _client(h, "bud")
    _until("the interrupted turn back at the prompt", lambda: client.status()["state"] == "prompt")
    refused = h.run("send", "--id", "bud", "--message", "one more")
    assert refused.returncode == EXIT_BUDGET
    line = refused.stderr.strip()
    assert line.startswith("harnex: budget reached: spent ") and "\n" not in line
    assert line.endswith(f"of {limit:,} tokens (harnex budget --id bud --add 1M)")
    held = str(queued["message_id"])
    assert client.request("GET", f"/messages/{held}").body["status"] == "queued"
    assert _mentions(mock, "held message") == 0

    added = h.json("budget", "--id", "bud", "--add", "1M", "--json")["budget"]
    assert added["state"] == "ok"
    _until(
        "the held message delivered",
        lambda: client.request("GET", f"/messages/{held}").body["status"] == "delivered",
        timeout=90,
    )
    # The next model call carries the conversation: the held message in it once. (It is no
    # "user turn" to the mock: it also carries the interrupted tool's result.)
    assert _until("the held message sent to the model", lambda: _mentions(mock, "held message"))
    assert _mentions(mock, "held message") == 1
    h.json("stop", "--id", "bud", "--timeout", "30")
