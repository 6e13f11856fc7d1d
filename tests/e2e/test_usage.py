"""What each agent costs, with the real CLIs: the mock hands out known usage (distinct
figures for every token kind) and ``harnex usage`` must equal what it handed out, turn by
turn (the ``usage`` events) and in total, while the session runs and after it ended."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.procs import gone

from ._mock_http import MockModelServer, ToolCall
from .harness import Harness, _harness, _start, harness_and_mock
from .mock_anthropic import MockAnthropic
from .mock_gemini import MockGemini
from .mock_openai import MockOpenAI, MockOpenAIChat
from .pip_agents import AIDER_MODEL, aider_launch

pytestmark = pytest.mark.e2e
KINDS = ("input", "cached", "cache_write", "output", "reasoning")


def _kinds(usage: dict[str, Any]) -> dict[str, int]:
    return {kind: int(usage[kind]) for kind in KINDS}


def _sum(parts: list[dict[str, int]]) -> dict[str, int]:
    return {kind: sum(p[kind] for p in parts) for kind in KINDS}


def _counted(mock: MockModelServer, since: int) -> list[dict[str, int]]:
    """The usage of the model calls of the user's turns (and their tool follow-ups) from
    request ``since`` on: the calls the agents write down (their side calls, titles and the
    like, they do not)."""
    return [
        r.usage
        for r in mock.requests[since:]
        if r.usage is not None and r.status == 200 and (r.is_user_turn or r.tool_output)
    ]


def _echo(cli: str) -> ToolCall:
    """A harmless shell command in each CLI's own tool."""
    if cli == "claude":
        return MockAnthropic.bash("echo usage", "Echo for the test")
    if cli == "gemini":
        return MockGemini.shell("echo usage", "Echo for the test")
    if cli == "qwen":
        return ToolCall("run_shell_command", {"command": "echo usage", "is_background": False})
    if cli == "opencode":
        return ToolCall("bash", {"command": "echo usage", "description": "Echo for the test"})
    return MockOpenAI.exec_command("echo usage")


def _usage_events(h: Harness, ident: str, count: int) -> list[dict[str, Any]]:
    """The session's ``usage`` events once there are ``count`` (the sidecar adds each when the
    agent has written the turn down, a moment after the turn ended)."""
    log = next(Path(h.env["HARNEX_STATE_DIR"], "events").glob(f"*--{ident}.jsonl"))
    deadline = time.monotonic() + 15
    while True:
        events = [json.loads(line) for line in log.read_text().splitlines()]
        found = [e for e in events if e["type"] == "usage"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.mark.parametrize("which", ["claude", "codex", "gemini", "opencode", "qwen"])
def test_usage_equals_what_the_mock_handed_out(which: str, request: pytest.FixtureRequest) -> None:
    if which == "qwen":
        h, mock = request.getfixturevalue("qwen"), request.getfixturevalue("mock_openai")
    else:
        h, mock = harness_and_mock(which, request)
    _start(h, "us", "--auto-accept")
    ready = h.run("wait", "--id", "us", "--until", "prompt", "--timeout", "90")
    assert ready.returncode == 0, ready.stderr

    per_turn: list[dict[str, int]] = []
    for turn, text in enumerate(["first turn", "second turn, a tool", "third turn"]):
        since = len(mock.requests)
        if turn == 1 and which != "opencode":  # two model calls: a tool call, its follow-up
            mock.tool_call_next = _echo(which)
        out = h.json(
            "send", "--id", "us", "--message", text, "--reply", "--json", "--timeout", "90"
        )
        assert out["status"] == "delivered"
        per_turn.append(_sum(_counted(mock, since)))
    assert len(mock.tool_results) == (which != "opencode")

    handed_out = _sum(per_turn)
    events = _usage_events(h, "us", len(per_turn))
    assert [_kinds(e) for e in events] == per_turn, "one usage event per turn, its own share"
    assert _kinds(events[-1]["total"]) == handed_out

    live = h.json("usage", "--id", "us", "--json")
    assert _kinds(live["total"]) == handed_out
    status = h.json("status", "--id", "us", "--json")[0]
    assert _kinds(status["usage"]) == handed_out
    table = h.run("status", "--id", "us")
    assert "TOKENS" in table.stdout and "COST" in table.stdout

    h.json("stop", "--id", "us", "--timeout", "30")
    ended = h.json("usage", "--id", "us", "--json")
    assert _kinds(ended["total"]) == handed_out, "an ended session reads its files from the record"
    # The mock's model has no price: its cost is unknown, never a guess.
    assert ended["total"]["cost_usd"] is None
    prices = Path(h.env["HARNEX_STATE_DIR"]) / "prices.toml"
    by_model = h.json("usage", "--id", "us", "--by", "model", "--json")["rows"]
    names = [row["name"] for row in by_model]
    prices.write_text(
        "".join(
            f'[models."{name}"]\ninput = 1.0\ncached = 0.1\ncache_write = 2.0\noutput = 10.0\n'
            for name in names
        )
    )
    h.env["HARNEX_PRICES"] = str(prices)
    priced = h.json("usage", "--id", "us", "--json")["total"]
    expected = (
        handed_out["input"] * 1.0
        + handed_out["cached"] * 0.1
        + handed_out["cache_write"] * 2.0
        + (handed_out["output"] + handed_out["reasoning"]) * 10.0
    ) / 1_000_000
    assert priced["cost_usd"] == pytest.approx(expected, abs=1e-6)  # whole micro-dollars


def test_claude_subagent_calls_count(
    claude: Harness,
    mock_anthropic: MockAnthropic,
) -> None:
    """A subagent (Claude Code's Agent tool) writes its calls to a file of its own, under the
    session's folder: they count, and the main transcript's copies do not count twice."""
    h, mock = claude, mock_anthropic
    _start(h, "sub", "--auto-accept")
    ready = h.run("wait", "--id", "sub", "--until", "prompt", "--timeout", "90")
    assert ready.returncode == 0, ready.stderr
    mock.tool_call_next = ToolCall(
        "Agent",
        {
            "description": "Echo for the test",
            "prompt": "Say hello",
            "subagent_type": "general-purpose",
        },
    )
    out = h.json("send", "--id", "sub", "--message", "use an agent", "--reply", "--json")
    assert out["status"] == "delivered"
    # Claude Code 2.1.332 may run the subagent in the background: the turn can end (the
    # reply above) before the subagent's own call reaches the model.
    deadline = time.monotonic() + 30
    while len(handed := _counted(mock, 0)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(handed) >= 3, "the turn, the subagent's call and the turn's follow-up"
    # Claude Code writes its transcript a moment after the turn (and a background subagent's
    # end may bring one more call of the main conversation): read until both agree.
    deadline = time.monotonic() + 15
    while True:
        usage = h.json("usage", "--id", "sub", "--json")
        handed = _counted(mock, 0)
        if _kinds(usage["total"]) == _sum(handed) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert _kinds(usage["total"]) == _sum(handed)
    assert usage["total"]["calls"] == len(handed)
    subagent_files = list(Path(h.launch.home, ".claude", "projects").glob("*/*/**/*.jsonl"))
    assert subagent_files, "Claude Code 2.1.197 writes a subagent's calls to a file of its own"


# Aider's price for the mock's model in the e2e home, so it reports a cost: $1 and $10 per
# million input and output tokens.
AIDER_IN, AIDER_OUT = 1e-6, 1e-5


def _aider_k(count: int) -> int:
    """A count as Aider 0.86.2 writes it (``format_tokens``): 950, 2.3k, 12k."""
    if count < 1000:
        return count
    if count < 10000:
        return round(float(f"{count / 1000:.1f}") * 1000)
    return round(count / 1000) * 1000


@pytest.fixture
def priced_aider(
    aider_binary: Path, mock_openai_chat: MockOpenAIChat, git_repo: Path, tmp_path: Path
) -> Iterator[Harness]:
    home = tmp_path / "home"
    # Without streaming Aider reports the provider's figures (streaming, it counts itself).
    launch = aider_launch(
        aider_binary, mock_openai_chat.base_url, home, git_repo, extra_args=["--no-stream"]
    )
    metadata_file = home / ".aider.model.metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata[AIDER_MODEL].update(input_cost_per_token=AIDER_IN, output_cost_per_token=AIDER_OUT)
    metadata_file.write_text(json.dumps(metadata))
    (git_repo / ".gitignore").write_text(".aider*\n")  # no question at its start
    yield from _harness(launch, tmp_path)


def test_aider_usage_is_what_it_wrote_of_the_mocks_figures(
    priced_aider: Harness, mock_openai_chat: MockOpenAIChat
) -> None:
    """Aider writes each call's tokens (k-rounded from 1,000 on) and cost to its chat history;
    ``harnex usage`` counts exactly those: the mock's figures rounded as Aider rounds them,
    and Aider's own cost (its figures are rounded too, to two significant digits)."""
    h, mock = priced_aider, mock_openai_chat
    _start(h, "au")
    h.wait_prompt("au")
    per_turn: list[int] = []
    cost = 0.0
    # The second message is long: its prompt is written as k-rounded thousands.
    for text in ("first turn", "second turn, long: " + "many words " * 600):
        since = len(mock.requests)
        out = h.json(
            "send", "--id", "au", "--message", text, "--reply", "--json", "--timeout", "90"
        )
        assert out["status"] == "delivered"
        calls = _counted(mock, since)
        assert len(calls) == 1, "one model call per turn"
        sent = [c["input"] + c["cached"] for c in calls]
        received = [c["output"] + c["reasoning"] for c in calls]
        per_turn.append(sum(_aider_k(n) for n in sent + received))
        cost += sum(AIDER_IN * s + AIDER_OUT * r for s, r in zip(sent, received, strict=True))
    assert max(per_turn) >= 1000, "Aider's prompt is over 1,000 tokens: its k-rounding counts"

    events = _usage_events(h, "au", len(per_turn))
    assert [e["tokens"] for e in events] == per_turn, "one usage event per turn"
    live = h.json("usage", "--id", "au", "--json")["total"]
    assert live["tokens"] == sum(per_turn) and live["model"] == AIDER_MODEL
    assert live["cost_usd"] == pytest.approx(cost, rel=0.05)
    h.json("stop", "--id", "au", "--timeout", "30")
    ended = h.json("usage", "--id", "au", "--json")["total"]
    assert ended["tokens"] == sum(per_turn), "read from the record after the end"


@pytest.mark.parametrize("which", ["claude", "codex"])
def test_resumed_session_counts_on_neither_twice_nor_from_zero(
    which: str, request: pytest.FixtureRequest
) -> None:
    """Two turns, the tmux server killed, ``harnex resume`` continues the conversation, a third
    turn: ``harnex usage`` is every call the mock handed out, each once."""
    h, mock = harness_and_mock(which, request)
    info = _start(h, "ru", "--auto-accept", "--budget", "10M")
    ready = h.run("wait", "--id", "ru", "--until", "prompt", "--timeout", "90")
    assert ready.returncode == 0, ready.stderr
    for text in ("first turn", "second turn"):
        out = h.json("send", "--id", "ru", "-m", text, "--reply", "--json", "--timeout", "90")
        assert out["status"] == "delivered"
    before = _sum(_counted(mock, 0))
    assert _kinds(_usage_events(h, "ru", 2)[-1]["total"]) == before
    h.tmux("kill-server")
    deadline = time.monotonic() + 30
    while not gone(info["sidecar_pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)

    (resumed,) = h.json("resume", "--all")
    assert resumed["continued"] is True
    # At once, before the resumed agent said anything: what the ended session used.
    assert _kinds(h.json("usage", "--id", "ru", "--json")["total"]) == before
    ready = h.run("wait", "--id", "ru", "--until", "prompt", "--timeout", "90")
    assert ready.returncode == 0, ready.stderr
    out = h.json("send", "--id", "ru", "-m", "third turn", "--reply", "--json", "--timeout", "90")
    assert out["status"] == "delivered"
    handed_out = _sum(_counted(mock, 0))
    assert handed_out != before
    deadline = time.monotonic() + 15
    while True:
        usage = h.json("usage", "--id", "ru", "--json")
        if _kinds(usage["total"]) == handed_out or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert _kinds(usage["total"]) == handed_out, "each call once, the ended session's too"
    # The budget reads the usage each second: it catches up with the total.
    deadline = time.monotonic() + 15
    while True:
        budget = h.json("status", "--id", "ru", "--json")[0]["budget"]
        if budget["spent"] == sum(handed_out.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert budget["spent"] == sum(handed_out.values()) and budget["limit"] == 10_000_000
    record = next(r for r in h.json("status", "--id", "ru", "--json"))
    sources = {s["path"] for s in record.get("usage_sources", [])}
    assert len(sources) == 1, f"{which} went on in the same file: {sources}"
