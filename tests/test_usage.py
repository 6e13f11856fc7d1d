"""The usage readers, the price table, the turn shares and ``harnex usage``, on files in the
shapes the pinned CLIs write (checked against them by tests/e2e/test_usage.py)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harnex_tmux.usage.claude import ClaudeReader
from harnex_tmux.usage.codex import CodexReader
from harnex_tmux.usage.model import Usage, total
from harnex_tmux.usage.opencode import OpenCodeReader
from harnex_tmux.usage.prices import PriceTable, load, parse, shipped
from harnex_tmux.usage.session import SessionUsage
from harnex_tmux.usage.sources import Source, codex_rollout, from_hook
from harnex_tmux.usage.tail import JsonlTail
from harnex_tmux.usage.turns import TurnShares

# --- Claude Code -----------------------------------------------------------------------------


def claude_line(
    msg: str,
    req: str | None,
    *,
    inp: int = 100,
    read: int = 40,
    write: int = 7,
    out: int = 9,
    model: str = "claude-sonnet-4-5",
    sidechain: bool = False,
    at: str = "2026-12-05T10:00:00.000Z",
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "type": "assistant",
        "isSidechain": sidechain,
        "timestamp": at,
        "uuid": f"u-{msg}-{out}",
        "message": {
            "id": msg,
            "model": model,
            "usage": {
                "input_tokens": inp,
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": write,
                "output_tokens": out,
            },
        },
    }
    if req is not None:
        line["requestId"] = req
    return line


def prompt(ident: str) -> dict[str, Any]:
    return {"type": "user", "promptId": ident, "message": {"role": "user", "content": "hi"}}


def write(path: Path, lines: list[Any], mode: str = "a") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as handle:
        for line in lines:
            handle.write((line if isinstance(line, str) else json.dumps(line)) + "\n")


def test_claude_counts_each_request_once_the_last_line_winning(tmp_path: Path) -> None:
    transcript = tmp_path / "s.jsonl"
    write(
        transcript,
        [
            prompt("p1"),
            claude_line("m1", "r1", out=1),  # a content block written before the answer ended
            claude_line("m1", "r1", out=9),  # the same answer, its final count
            claude_line("m2", "r2", sidechain=True),  # a subagent's copy: its own file counts
            claude_line("m3", "r3", model="<synthetic>"),
            {"type": "summary", "summary": "x"},
        ],
    )
    calls = ClaudeReader(str(transcript)).read()
    assert calls == [
        Usage(100, 40, 7, 9, 0, None, "claude-sonnet-4-5", "2026-12-05T10:00:00.000Z", "p1")
    ]


def test_claude_subagent_files_count_and_copies_do_not_count_twice(tmp_path: Path) -> None:
    transcript = tmp_path / "abc.jsonl"
    write(transcript, [prompt("p1"), claude_line("m1", "r1")])
    sub = tmp_path / "abc" / "subagents" / "agent-1.jsonl"
    write(sub, [claude_line("m2", "r2", sidechain=True, out=3), claude_line("m1", "r1")])
    calls = ClaudeReader(str(transcript)).read()
    assert [c.output for c in calls] == [9, 3]


def test_claude_reads_only_what_was_added_and_waits_for_a_whole_line(tmp_path: Path) -> None:
    transcript = tmp_path / "s.jsonl"
    write(transcript, [prompt("p1"), claude_line("m1", "r1")])
    reader = ClaudeReader(str(transcript))
    assert len(reader.read()) == 1
    offset = reader._tails[str(transcript)].offset
    half = json.dumps(claude_line("m2", "r2"))
    with transcript.open("a") as handle:
        handle.write(half[:30])  # the CLI is still writing this line
    assert len(reader.read()) == 1 and reader._tails[str(transcript)].offset == offset
    with transcript.open("a") as handle:
        handle.write(half[30:] + "\n" + "{not json\n")
    calls = reader.read()
    assert [c.turn for c in calls] == ["p1", "p1"]
    assert reader.problems() == [f"{transcript}: 1 unreadable line(s) skipped"]


def test_claude_file_cut_or_replaced_is_read_again(tmp_path: Path) -> None:
    transcript = tmp_path / "s.jsonl"
    write(transcript, [claude_line("m1", "r1"), claude_line("m2", "r2")])
    reader = ClaudeReader(str(transcript))
    assert len(reader.read()) == 2
    write(transcript, [claude_line("m3", "r3", out=1)], mode="w")
    assert [c.output for c in reader.read()] == [1]
    transcript.unlink()
    assert [c.output for c in reader.read()] == [1]  # what was read stays; the loss is told
    assert reader.problems() == [f"{transcript}: not found"]


# --- Codex -------------------------------------------------------------------------------------


def codex_total(inp: int, cached: int, out: int, reasoning: int, last: Any = None) -> Any:
    usage = {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "cache_write_input_tokens": 0,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
        "total_tokens": inp + out,
    }
    info = {"total_token_usage": usage, "last_token_usage": last or usage}
    return {
        "timestamp": "2026-12-05T10:00:01.000Z",
        "type": "event_msg",
        "payload": {"type": "token_count", "info": info},
    }


def turn_context(model: str, turn: str) -> Any:
    return {"type": "turn_context", "payload": {"model": model, "turn_id": turn}}


def test_codex_counts_the_growth_of_the_running_total(tmp_path: Path) -> None:
    rollout = tmp_path / "rollout-2026-12-05T10-00-00-t1.jsonl"
    write(
        rollout,
        [
            {"type": "session_meta", "payload": {"id": "t1"}},
            turn_context("gpt-5", "turn-a"),
            {"type": "event_msg", "payload": {"type": "token_count", "info": None}},
            codex_total(1000, 400, 50, 20),
            codex_total(1000, 400, 50, 20),  # written twice: counted once
            turn_context("gpt-5-mini", "turn-b"),
            codex_total(2500, 1400, 80, 25),
        ],
    )
    calls = CodexReader(str(rollout)).read()
    # input holds the cached part and output the reasoning: both are taken out.
    assert [(c.input, c.cached, c.output, c.reasoning, c.model, c.turn) for c in calls] == [
        (600, 400, 30, 20, "gpt-5", "turn-a"),
        (500, 1000, 25, 5, "gpt-5-mini", "turn-b"),
    ]


def test_codex_total_that_went_down_falls_back_to_the_last_call(tmp_path: Path) -> None:
    rollout = tmp_path / "r.jsonl"
    last = {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 2}
    write(rollout, [codex_total(1000, 0, 50, 0), codex_total(10, 0, 2, 0, last)])
    assert [c.tokens for c in CodexReader(str(rollout)).read()] == [1050, 12]


def test_codex_usage_records_count_each_call_as_it_arrives_and_once(tmp_path: Path) -> None:
    """Codex 0.171.0 writes a ``token_usage_record`` per answer at once and its running
    ``token_count`` later (after the answer's tools ran): each call counts once, by its
    record, even before the token_count is there."""

    def record(response: str, inp: int, cached: int, out: int) -> Any:
        usage = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out}
        payload = {"response_id": response, "turn_id": "turn-a", "usage": usage}
        return {
            "timestamp": "2026-12-05T10:00:02.000Z",
            "type": "token_usage_record",
            "payload": payload,
        }

    rollout = tmp_path / "r.jsonl"
    write(rollout, [turn_context("gpt-5", "turn-a"), record("resp-1", 1000, 400, 50)])
    reader = CodexReader(str(rollout))
    assert [(c.input, c.cached, c.output, c.turn) for c in reader.read()] == [
        (600, 400, 50, "turn-a")
    ]
    with rollout.open("a") as handle:
        for line in [
            codex_total(1000, 400, 50, 0),  # the same call's running total: not again
            record("resp-2", 1200, 1000, 10),
            record("resp-2", 1200, 1000, 10),  # written twice: once
            codex_total(2200, 1400, 60, 0),
        ]:
            handle.write(json.dumps(line) + "\n")
    assert [c.tokens for c in reader.read()] == [1050, 1210]


def test_codex_rollout_is_found_by_thread_id(tmp_path: Path) -> None:
    folder = tmp_path / "codex" / "sessions" / "2026" / "12" / "05"
    folder.mkdir(parents=True)
    path = folder / "rollout-2026-12-05T10-00-00-0199-abc.jsonl"
    path.write_text("")
    env = {"CODEX_HOME": str(tmp_path / "codex")}
    assert codex_rollout("0199-abc", env) == str(path)
    assert codex_rollout("0199-zzz", env) is None
    assert codex_rollout("../x", env) is None
    found = from_hook("codex", "agent-turn-complete", {"thread-id": "0199-abc"}, env)
    assert found == Source("codex", str(path))


# --- OpenCode ----------------------------------------------------------------------------------


def opencode_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE session (id text PRIMARY KEY, parent_id text)")
    db.execute(
        "CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL, "
        "time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL)"
    )
    return db


def assistant(cost: float, inp: int = 100, parent: str = "msg_u1") -> str:
    return json.dumps(
        {
            "role": "assistant",
            "parentID": parent,
            "modelID": "mock-model",
            "cost": cost,
            "time": {"created": 1796496247473},
            "tokens": {"input": inp, "output": 7, "reasoning": 3, "cache": {"read": 5, "write": 2}},
        }
    )


def test_opencode_reads_its_sessions_and_children_from_its_database(tmp_path: Path) -> None:
    path = tmp_path / "opencode.db"
    db = opencode_db(path)
    db.executemany("INSERT INTO session VALUES (?, ?)", [("ses_a", None), ("ses_child", "ses_a")])
    rows = [
        ("msg_u1", "ses_a", 1, 1, json.dumps({"role": "user"})),
        ("msg_a1", "ses_a", 2, 2, assistant(0.25)),
        ("msg_c1", "ses_child", 3, 3, assistant(0.0)),  # no figure of its own: priced here
        ("msg_x", "ses_other", 4, 4, assistant(9.0)),
        ("msg_bad", "ses_a", 5, 5, "{broken"),
    ]
    db.executemany("INSERT INTO message VALUES (?, ?, ?, ?, ?)", rows)
    db.commit()
    reader = OpenCodeReader(str(path), "ses_a")
    calls = reader.read()
    assert [(c.input, c.cached, c.cache_write, c.output, c.reasoning) for c in calls] == [
        (100, 5, 2, 7, 3)
    ] * 2
    assert [c.cost_usd for c in calls] == [0.25, None] and calls[0].turn == "msg_u1"
    # The message grew as the answer went on: only rows updated since are read again.
    db.execute(
        "UPDATE message SET data = ?, time_updated = 9 WHERE id = 'msg_a1'", (assistant(0.5, 200),)
    )
    db.commit()
    assert [c.input for c in reader.read()] == [200, 100]
    assert reader.problems() == []
    missing = OpenCodeReader(str(tmp_path / "none.db"), "ses_a")
    assert missing.read() == [] and missing.problems()


# --- prices ------------------------------------------------------------------------------------


def test_shipped_prices_parse_and_are_dated() -> None:
    table = shipped()
    assert table.date and datetime.fromisoformat(table.date)
    assert table.entry("claude-sonnet-4-5-20250929") == table.entry("claude-sonnet-4-5")
    assert table.entry("gpt-5") and table.entry("no-such-model") is None


def test_price_of_every_kind_and_never_a_guess() -> None:
    table = parse(
        """
        [models."m*"]
        input = 1.0
        [models."model-x*"]
        input = 2.0
        cached = 0.5
        cache_write = 4.0
        output = 10.0
        """,
        "test",
    )
    call = Usage(1_000_000, 2_000_000, 1_000_000, 100_000, 50_000, None, "model-x-1")
    assert table.price(call).cost_usd == pytest.approx(2.0 + 1.0 + 4.0 + 1.0 + 0.5)
    assert table.price(Usage(5, 0, 0, 0, 0, None, "unknown")).cost_usd is None
    # m* matches but has no output price: tokens of that kind make the cost unknown.
    assert table.price(Usage(10, 0, 0, 5, 0, None, "mini")).cost_usd is None
    assert table.price(Usage(10, 0, 0, 0, 0, None, "mini")).cost_usd == pytest.approx(1e-5)
    # The CLI's own figure wins.
    assert table.price(Usage(10, cost_usd=0.3, model="unknown")).cost_usd == 0.3
    assert total([table.price(call), Usage(1, cost_usd=None)]).cost_usd is None


@pytest.mark.parametrize(
    "text",
    [
        "[models",
        "models = 3",
        '[models."a"]\ninput = "free"',
        '[models."a"]\ninput = -1',
        '[models."a"]\nwords = 1.0',
        "[models]\na = 1",
    ],
)
def test_a_bad_user_price_file_is_one_line_and_the_shipped_table_is_used(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(text)
    monkeypatch.setenv("HARNEX_PRICES", str(path))
    table = load()
    assert table.models == shipped().models
    assert len(table.problems) == 1 and "\n" not in table.problems[0]
    assert str(path) in table.problems[0] and "using the shipped prices" in table.problems[0]


def test_a_user_price_file_overrides_model_by_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('date = "2027-01-01"\n[models."gpt-5"]\ninput = 9.0\noutput = 9.0\n')
    monkeypatch.setenv("HARNEX_PRICES", str(path))
    table = load()
    assert table.models["gpt-5"] == {"input": 9.0, "output": 9.0}
    assert table.models["gpt-5-mini"] == shipped().models["gpt-5-mini"]
    assert table.date == "2027-01-01" and table.problems == []


# --- turns -------------------------------------------------------------------------------------


def test_a_turns_share_is_its_own_calls_even_when_written_late() -> None:
    shares = TurnShares()
    ended = datetime(2026, 12, 5, 10, 0, 5, tzinfo=UTC)
    one = Usage(10, cost_usd=None, at="2026-12-05T10:00:01.000Z", turn="a")
    next_turn = Usage(20, cost_usd=None, at="2026-12-05T10:00:06.000Z", turn="b")
    assert shares.due([], ended) is None
    assert shares.take([one, next_turn], ended) == Usage(10, cost_usd=None, at=one.at, turn="a")
    assert shares.take([one, next_turn], ended) is None  # told once
    late = Usage(5, cost_usd=None, at="2026-12-05T10:00:02.000Z", turn="a")
    later = datetime(2026, 12, 5, 10, 0, 9, tzinfo=UTC)
    told = shares.take([one, late, next_turn], later)
    assert told is not None and told.input == 25


# --- malformed input never raises ---------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "type",
        "message",
        "usage",
        "payload",
        "info",
        "total_token_usage",
        "model",
        "id",
        "requestId",
        "isSidechain",
        "promptId",
        "turn_id",
        "input_tokens",
        "output_tokens",
        "uuid",
        "tokens",
        "usageMetadata",
        "input",
        "cached",
        "promptTokenCount",
    ]
)
shaped = st.recursive(
    st.none()
    | st.integers(-5, 10**16)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(
        ["assistant", "event_msg", "token_count", "turn_context", "<synthetic>", "gemini", "user"]
    ),
    lambda inner: st.dictionaries(keys, inner, max_size=5) | st.lists(inner, max_size=3),
    max_leaves=25,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.binary(max_size=80) | json_values.map(json.dumps) | shaped.map(json.dumps), max_size=12
    )
)
def test_readers_never_raise_on_any_line(
    lines: list[Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "f.jsonl"
    with path.open("wb") as handle:
        for line in lines:
            handle.write((line if isinstance(line, bytes) else line.encode()) + b"\n")
    for reader in (ClaudeReader(str(path)), CodexReader(str(path))):
        calls = reader.read()
        reader.problems()
        for call in calls:
            assert min(call.input, call.cached, call.cache_write, call.output, call.reasoning) >= 0
        assert reader.read() == calls  # nothing new: the same


def test_a_line_longer_than_a_read_is_skipped_not_stuck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harnex_tmux.usage.tail as tail

    monkeypatch.setattr(tail, "CHUNK", 64)
    path = tmp_path / "f.jsonl"
    path.write_text("x" * 200 + "\n" + json.dumps({"a": 1}) + "\n")
    reader = JsonlTail(str(path))
    got: list[dict[str, Any]] = []
    for _ in range(10):
        got += reader.read()[1]
    assert got == [{"a": 1}] and reader.bad_lines >= 1


# --- the session, the sidecar's desk and the command -------------------------------------------


def test_session_usage_sums_its_sources_and_says_what_it_could_not_read(tmp_path: Path) -> None:
    transcript = tmp_path / "s.jsonl"
    write(transcript, [claude_line("m1", "r1"), claude_line("m2", "r2", model="claude-opus-9")])
    usage = SessionUsage(shipped(), [Source("claude", str(transcript))])
    report = usage.read()
    assert report.total.tokens == 2 * (100 + 40 + 7 + 9)
    assert report.total.cost_usd is None  # one model has no price
    assert report.by_model()["claude-sonnet-4-5"].cost_usd == pytest.approx(
        (100 * 3.0 + 40 * 0.3 + 7 * 3.75 + 9 * 15.0) / 1e6
    )
    assert SessionUsage(PriceTable({})).read().problems  # no source known yet: said so


def test_usage_desk_learns_the_source_keeps_it_and_tells_each_turn(tmp_path: Path) -> None:
    from harnex_tmux.adapters.base import HookReport
    from harnex_tmux.sidecar import usage as desk_module

    transcript = tmp_path / "s.jsonl"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    write(transcript, [prompt("p1"), claude_line("m1", "r1", at=now)])
    events: list[dict[str, Any]] = []
    kept: dict[str, Any] = {}
    desk = desk_module.UsageDesk(
        {},
        emit=lambda kind, **data: events.append({"type": kind, **data}),
        remember=kept.__setitem__,
        turn_number=lambda: 1,
        env={},
    )
    payload = {"hook_event_name": "Stop", "transcript_path": str(transcript)}
    desk.noticed("claude", "Stop", payload, HookReport("turn", "done"))
    deadline = datetime.now(UTC).timestamp() + 10
    while not events and datetime.now(UTC).timestamp() < deadline:
        import time

        time.sleep(0.05)
    assert kept["usage_sources"] == [{"cli": "claude", "path": str(transcript)}]
    assert events and events[0]["type"] == "usage" and events[0]["turn"] == 1
    assert (events[0]["input"], events[0]["output"], events[0]["total"]["tokens"]) == (100, 9, 156)
    assert desk.report().total.tokens == 156
    # A recovered sidecar reads the same source from the record and tells no old turn again.
    again = desk_module.UsageDesk(
        kept, emit=lambda *a, **k: None, remember=kept.__setitem__, turn_number=lambda: 1, env={}
    )
    assert again.report().total.tokens == 156


def test_usage_desk_finish_tells_the_untold_turn_at_once_and_then_tells_nothing(
    tmp_path: Path,
) -> None:
    """`exited` is a session's last event: the agent's end tells the turn still settling
    (its files are final) before the sidecar writes `exited`, and nothing comes after."""
    from harnex_tmux.adapters.base import HookReport
    from harnex_tmux.sidecar import usage as desk_module

    transcript = tmp_path / "s.jsonl"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    write(transcript, [prompt("p1"), claude_line("m1", "r1", at=now)])
    events: list[dict[str, Any]] = []
    desk = desk_module.UsageDesk(
        {},
        emit=lambda kind, **data: events.append({"type": kind, **data}),
        remember=lambda key, value: None,
        turn_number=lambda: 1,
        env={},
    )
    payload = {"hook_event_name": "Stop", "transcript_path": str(transcript)}
    desk.noticed("claude", "Stop", payload, HookReport("turn", "done"))
    assert desk.settling  # told only once the file has been quiet for SETTLE_QUIET_S
    desk.finish(within=desk_module.SETTLE_MAX_S)
    assert not desk.settling
    assert [(e["type"], e["turn"], e["input"]) for e in events] == [("usage", 1, 100)]
    # After the end, a late report adds nothing.
    write(transcript, [prompt("p2"), claude_line("m2", "r2", at=now)])
    desk.noticed("claude", "Stop", payload, HookReport("turn", "done"))
    assert not desk.settling and len(events) == 1


def test_harnex_usage_reads_an_ended_session_from_its_exit_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from harnex_tmux.cli.main import cli
    from harnex_tmux.state import ExitRecord, SessionPaths, ensure_dir

    state = tmp_path / "state"
    monkeypatch.setenv("HARNEX_STATE_DIR", str(state))
    monkeypatch.setenv("HARNEX_PRICES", str(tmp_path / "none.toml"))
    repo = tmp_path / "repo"
    repo.mkdir()
    transcript = tmp_path / "s.jsonl"
    write(
        transcript,
        [
            claude_line("m1", "r1", at="2026-12-04T10:00:00.000Z"),
            claude_line("m2", "r2", at="2026-12-05T10:00:00.000Z", model="claude-haiku-4-5"),
        ],
    )
    paths = SessionPaths.for_session(str(repo), "w1")
    ensure_dir(paths.exit_record.parent)
    ended = ExitRecord("w1", 0, None, "2026-12-05T11:00:00Z")
    ended.extra.update(
        cli="claude",
        repo_root=str(repo),
        usage_sources=[{"cli": "claude", "path": str(transcript)}],
    )
    ended.save(paths.exit_record)

    runner = CliRunner()

    out = json.loads(runner.invoke(cli, ["usage", "--repo", str(repo), "--json"]).output)
    assert out["total"]["tokens"] == 2 * 156 and out["rows"][0]["name"] == "w1"
    by_day = json.loads(
        runner.invoke(cli, ["usage", "--repo", str(repo), "--by", "day", "--json"]).output
    )
    assert [row["name"] for row in by_day["rows"]] == ["2026-12-04", "2026-12-05"]
    by_model = runner.invoke(cli, ["usage", "--repo", str(repo), "--by", "model"]).output
    assert by_model.splitlines()[0].split() == [
        "MODEL",
        "INPUT",
        "CACHED",
        "OUTPUT",
        "REASONING",
        "TOKENS",
        "COST",
    ]
    since = json.loads(
        runner.invoke(cli, ["usage", "--repo", str(repo), "--since", "2026-12-05", "--json"]).output
    )
    assert since["total"]["tokens"] == 156
    bad = runner.invoke(cli, ["usage", "--repo", str(repo), "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_status_shows_tokens_and_cost_only_when_an_agent_reported_usage() -> None:
    from harnex_tmux.cli.status import _table

    row: dict[str, Any] = {"id": "a", "cli": "claude", "state": "prompt", "repo_root": "/r"}
    assert "TOKENS" not in _table([row])
    used = dict(row, usage={"calls": 2, "tokens": 12_345, "cost_usd": 0.5})
    header, _, line, other = _table([used, row]).splitlines()
    assert header.split()[7:9] == ["TOKENS", "COST"]
    assert line.split()[7:9] == ["12.3k", "$0.5000"] and other.split()[7:9] == ["-", "-"]
    unknown = dict(row, usage={"calls": 1, "tokens": 3, "cost_usd": None})
    assert _table([unknown]).splitlines()[2].split()[7:9] == ["3", "unknown"]


def test_the_sidecar_serves_get_usage(tmp_path: Path) -> None:
    from harnex_tmux.sidecar.api import ApiParts, build_router
    from harnex_tmux.sidecar.inbox import Inbox
    from harnex_tmux.sidecar.readiness import Readiness
    from harnex_tmux.sidecar.server import Request
    from harnex_tmux.sidecar.turns import Turns

    router = build_router(
        ApiParts(
            ident="s1",
            pane_id="%1",
            read_pane=lambda lines: "",
            readiness=Readiness(),
            inbox=Inbox(tmp_path / "inbox.jsonl", ttl_s=60),
            turns=Turns(),
            deliver_now=lambda message: True,
            status_payload=lambda: {"id": "s1"},
            request_stop=lambda: True,
            on_hook=lambda source, event, payload: None,
            usage=lambda: {"tokens": 7, "calls": 1},
        )
    )
    handler, rest = router.resolve("GET", "/usage")
    assert handler(Request("GET", "/usage", {}, b""), rest) == (
        200,
        {"ok": True, "usage": {"tokens": 7, "calls": 1}},
    )


# --- Gemini CLI and Qwen Code ------------------------------------------------------------------


def test_gemini_counts_each_message_once_with_cached_taken_out_of_input(tmp_path: Path) -> None:
    from harnex_tmux.usage.gemini import GeminiReader

    chat = tmp_path / "session.jsonl"
    tokens = {"input": 200, "output": 5, "cached": 120, "thoughts": 4, "tool": 3, "total": 212}
    gemini = {
        "id": "g1",
        "type": "gemini",
        "timestamp": "2026-12-05T10:00:00.000Z",
        "model": "gemini-2.5-pro",
        "tokens": tokens,
    }
    write(
        chat,
        [
            {"sessionId": "s", "kind": "main"},
            {"$set": {"lastUpdated": "x"}},
            {"id": "u1", "type": "user", "content": "hi"},
            gemini,
            {**gemini, "toolCalls": []},  # the same message written again, whole
        ],
    )
    calls = GeminiReader(str(chat)).read()
    assert [(c.input, c.cached, c.output, c.reasoning, c.turn) for c in calls] == [
        (83, 120, 5, 4, "u1")
    ]


def test_qwen_takes_the_reasoning_out_of_its_candidates(tmp_path: Path) -> None:
    from harnex_tmux.usage.qwen import QwenReader

    chat = tmp_path / "s.jsonl"
    meta = {
        "promptTokenCount": 8482,
        "candidatesTokenCount": 10,
        "thoughtsTokenCount": 5,
        "totalTokenCount": 8492,
        "cachedContentTokenCount": 4244,
    }
    write(
        chat,
        [
            {"uuid": "u1", "type": "user", "message": "hi"},
            {"uuid": "s1", "type": "system", "subtype": "ui_telemetry"},
            {
                "uuid": "a1",
                "type": "assistant",
                "model": "qwen3-coder-plus",
                "timestamp": "2026-12-05T10:00:00.000Z",
                "usageMetadata": meta,
            },
            {"uuid": "t1", "type": "tool_result"},
            {"uuid": "a2", "type": "assistant", "usageMetadata": {"promptTokenCount": "x"}},
        ],
    )
    calls = QwenReader(str(chat)).read()
    assert [(c.input, c.cached, c.output, c.reasoning, c.turn) for c in calls] == [
        (4238, 4244, 5, 5, "u1"),
        (0, 0, 0, 0, "u1"),
    ]


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(shaped.map(json.dumps) | st.binary(max_size=40), max_size=10))
def test_chat_readers_never_raise_on_any_line(lines: list[Any]) -> None:
    import tempfile

    from harnex_tmux.usage.gemini import GeminiReader
    from harnex_tmux.usage.qwen import QwenReader

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chat.jsonl"
        path.write_bytes(
            b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines)
        )
        for reader in (GeminiReader(str(path)), QwenReader(str(path))):
            assert all(call.tokens >= 0 for call in reader.read())


def test_a_call_stamped_after_the_turn_ended_counts_by_its_turns_start() -> None:
    """Qwen Code writes (and stamps) a turn's last answer after its Stop hook: the call's
    turn began before the end, so the ended turn's event has it."""
    ended = datetime(2026, 12, 5, 10, 0, 5, tzinfo=UTC)
    late = Usage(
        7,
        cost_usd=None,
        at="2026-12-05T10:00:05.400Z",
        turn="u2",
        turn_at="2026-12-05T10:00:04.000Z",
    )
    told = TurnShares().take([late], ended)
    assert told is not None and told.input == 7
    unstamped = Usage(7, cost_usd=None, at="2026-12-05T10:00:05.400Z", turn="u2")
    assert TurnShares().take([unstamped], ended) is None
