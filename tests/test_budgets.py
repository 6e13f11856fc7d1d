"""Budgets: the parser, the decision, and the sidecar's budget desk with stand-in parts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harnex_tmux.adapters.base import State
from harnex_tmux.budgets import (
    MAX_TOKENS,
    Budget,
    Progress,
    decide,
    format_amount,
    parse_budget,
    reached_message,
)
from harnex_tmux.errors import BudgetError
from harnex_tmux.sidecar.budget import BudgetDesk, BudgetParts, write_budget_file
from harnex_tmux.usage.model import Usage

# --- the parser ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "limit"),
    [
        ("5usd", "usd", Decimal(5)),
        ("5USD", "usd", Decimal(5)),
        ("2.50 usd", "usd", Decimal("2.50")),
        ("$3", "usd", Decimal(3)),
        ("$0.25", "usd", Decimal("0.25")),
        ("2M", "tokens", 2_000_000),
        ("150k", "tokens", 150_000),
        ("1.5k", "tokens", 1_500),
        ("2000000", "tokens", 2_000_000),
        ("2_000_000", "tokens", 2_000_000),
        (" 7 ", "tokens", 7),
    ],
)
def test_budgets_read(text: str, kind: str, limit: Decimal | int) -> None:
    budget = parse_budget(text)
    assert (budget.kind, budget.limit) == (kind, limit)
    assert type(budget.limit) is (Decimal if kind == "usd" else int)


BAD = ["5eur", "-1", "-5usd", "nan", "inf", "NaNusd", "infusd", "0", "0usd", "", "usd"]
BAD += ["5 tokens", "1.5", "0.0001k", "1e6", "9" * 60, "2000000000000000", "5000000usd"]
BAD += ["1.1234567usd", "5mb"]


@pytest.mark.parametrize("text", BAD)
def test_bad_budgets_are_one_line_errors(text: str) -> None:
    with pytest.raises(BudgetError) as caught:
        parse_budget(text)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 200
    assert "budget" in message


@given(st.integers(min_value=1, max_value=MAX_TOKENS))
def test_a_token_budget_reads_back_as_itself(tokens: int) -> None:
    budget = Budget("tokens", tokens)
    assert parse_budget(budget.to_text()) == budget


@given(st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1_000_000), places=6))
def test_a_usd_budget_reads_back_as_itself(usd: Decimal) -> None:
    budget = Budget("usd", usd)
    assert parse_budget(budget.to_text()) == budget


@given(st.text(max_size=30))
def test_any_text_is_a_budget_or_a_budget_error(text: str) -> None:
    try:
        budget = parse_budget(text)
    except BudgetError:
        return
    assert budget.limit > 0


def test_adding_keeps_the_kind() -> None:
    assert parse_budget("5usd").plus(parse_budget("2usd")) == Budget("usd", Decimal(7))
    assert parse_budget("1M").plus(parse_budget("150k")) == Budget("tokens", 1_150_000)
    with pytest.raises(BudgetError, match="in USD"):
        parse_budget("5usd").plus(parse_budget("1M"))


def test_amounts_as_people_read_them() -> None:
    assert format_amount("usd", Decimal("5.0234")) == "5.02 USD"
    assert format_amount("usd", Decimal(5)) == "5 USD"
    assert format_amount("tokens", 1_500_000) == "1,500,000 tokens"
    assert reached_message("w", parse_budget("5usd"), Decimal("5.02")) == (
        "budget reached: spent 5.02 USD of 5 USD (harnex budget --id w --add 2usd)"
    )


# --- the decision ----------------------------------------------------------------------------


def _run(budget: Budget, spendings: list[int | None]) -> list[tuple[bool, bool, bool, bool]]:
    progress = Progress()
    steps = []
    for spent in spendings:
        decision = decide(budget, spent, progress)
        progress = decision.progress
        steps.append((decision.warn, decision.exceed, decision.say_unknown, decision.held))
    return steps


@given(st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=3000)), max_size=30))
def test_each_step_is_taken_once_and_the_hold_follows_the_spending(
    spendings: list[int | None],
) -> None:
    budget = Budget("tokens", 1000)
    steps = _run(budget, spendings)
    assert sum(warn for warn, _, _, _ in steps) <= 1
    assert sum(exceed for _, exceed, _, _ in steps) <= 1
    assert sum(say for _, _, say, _ in steps) == (None in spendings)
    for spent, (warn, exceed, _, held) in zip(spendings, steps, strict=True):
        assert held == (spent is not None and spent >= 1000)
        assert not warn or (spent is not None and spent >= 800)
        assert not exceed or held
    known = [s for s in spendings if s is not None]
    assert any(w for w, _, _, _ in steps) == any(s >= 800 for s in known)
    assert any(e for _, e, _, _ in steps) == any(s >= 1000 for s in known)


def test_a_raised_limit_warns_and_stops_again() -> None:
    first = decide(Budget("tokens", 100), 100, Progress())
    assert first.warn and first.exceed and first.held
    raised = decide(Budget("tokens", 300), 100, first.progress)
    assert not raised.warn and not raised.exceed and not raised.held
    near = decide(Budget("tokens", 300), 250, raised.progress)
    assert near.warn and not near.exceed
    over = decide(Budget("tokens", 300), 300, near.progress)
    assert not over.warn and over.exceed


def test_the_progress_survives_its_json() -> None:
    progress = decide(Budget("usd", Decimal(5)), Decimal(6), Progress()).progress
    assert Progress.from_dict(json.loads(json.dumps(progress.to_dict()))) == progress
    assert Progress.from_dict("garbage") == Progress()


# --- the sidecar's desk ----------------------------------------------------------------------


class Stand:
    """Stand-ins for what the desk uses, recording what it did."""

    def __init__(self, path: Path, state: State = State.BUSY, keys: bool = True) -> None:
        self.path = path
        self.spent = Usage()
        self.state = state
        self.keys = keys
        self.events: list[dict[str, Any]] = []
        self.interrupts = 0
        self.escalations: list[str] = []
        self.releases = 0
        self.logged: list[str] = []

    def interrupt(self) -> bool:
        self.interrupts += 1
        return self.keys

    def emit(self, event_type: str, **payload: Any) -> None:
        self.events.append({"type": event_type, **payload})

    def released(self) -> None:
        self.releases += 1

    def desk(self) -> BudgetDesk:
        return BudgetDesk(
            BudgetParts(
                ident="w",
                path=self.path,
                usage=lambda: self.spent,
                state=lambda: self.state,
                interrupt=self.interrupt,
                escalate=self.escalations.append,
                released=self.released,
                emit=self.emit,
                log=self.logged.append,
            )
        )

    def levels(self) -> list[str]:
        return [e["level"] for e in self.events if e["type"] == "budget"]


def test_the_desk_warns_then_interrupts_and_holds(tmp_path: Path) -> None:
    stand = Stand(tmp_path / "b.json")
    write_budget_file(stand.path, parse_budget("1000"))
    desk = stand.desk()
    stand.spent = Usage(input=500)
    desk.check()
    assert stand.levels() == [] and not desk.held and desk.refusal() is None
    stand.spent = Usage(input=700, output=100)
    desk.check()
    desk.check()
    assert stand.levels() == ["warning"]
    assert stand.escalations == ["budget at 80 %: spent 800 tokens of 1,000 tokens"]
    assert stand.events[0] | {"seq": 0} == {
        "type": "budget",
        "level": "warning",
        "kind": "tokens",
        "spent": 800,
        "limit": 1000,
        "text": "spent 800 tokens of 1,000 tokens",
        "seq": 0,
    }
    stand.spent = Usage(input=700, cached=300, reasoning=20)
    desk.check()
    desk.check()
    assert stand.levels() == ["warning", "exceeded"] and stand.interrupts == 1
    assert stand.events[-1]["interrupted"] is True
    assert desk.held
    assert desk.refusal() == (
        "budget reached: spent 1,020 tokens of 1,000 tokens (harnex budget --id w --add 1M)"
    )
    assert desk.describe() == {
        "kind": "tokens",
        "limit": 1000,
        "spent": 1020,
        "state": "exceeded",
        "text": "spent 1,020 tokens of 1,000 tokens",
        "share": 1.02,
    }


def test_a_restarted_desk_holds_at_once_and_does_nothing_twice(tmp_path: Path) -> None:
    stand = Stand(tmp_path / "b.json")
    write_budget_file(stand.path, parse_budget("1000"))
    stand.spent = Usage(input=1200)
    stand.desk().check()
    assert stand.levels() == ["warning", "exceeded"] and stand.interrupts == 1
    again = stand.desk()
    assert again.held, "held before its first look at the usage"
    again.check()
    assert stand.levels() == ["warning", "exceeded"] and stand.interrupts == 1
    assert again.refusal() is not None


def test_adding_releases_and_clearing_ends_it(tmp_path: Path) -> None:
    stand = Stand(tmp_path / "b.json")
    write_budget_file(stand.path, parse_budget("1000"))
    desk = stand.desk()
    stand.spent = Usage(input=1200)
    desk.check()
    assert desk.held
    shown = desk.change(add="1k")
    assert shown is not None and shown["limit"] == 2000 and shown["state"] == "ok"
    assert not desk.held and stand.releases == 1
    assert json.loads(stand.path.read_text())["budget"] == "2000", "on disk"
    with pytest.raises(BudgetError):
        desk.change(add="2usd")
    stand.spent = Usage(input=2500)
    desk.check()
    assert desk.held and stand.levels() == ["warning", "exceeded", "warning", "exceeded"]
    assert desk.change(clear=True) is None
    assert not desk.held and stand.releases == 2 and desk.refusal() is None
    assert stand.desk().describe() is None, "cleared on disk too"


def test_an_idle_agent_is_not_interrupted(tmp_path: Path) -> None:
    stand = Stand(tmp_path / "b.json", state=State.PROMPT)
    write_budget_file(stand.path, parse_budget("10"))
    desk = stand.desk()
    stand.spent = Usage(output=11)
    desk.check()
    assert stand.interrupts == 0 and desk.held
    assert stand.events[-1]["interrupted"] is False


def test_an_unknown_cost_is_said_once_and_not_enforced(tmp_path: Path) -> None:
    stand = Stand(tmp_path / "b.json")
    write_budget_file(stand.path, parse_budget("1usd"))
    desk = stand.desk()
    stand.spent = Usage(input=10**9, cost_usd=None)
    desk.check()
    desk.check()
    assert stand.levels() == ["unknown"] and not desk.held and stand.interrupts == 0
    assert "not enforced" in stand.events[0]["error"]
    described = desk.describe()
    assert described is not None and described["state"] == "unknown"
    stand.spent = Usage(input=10, cost_usd=1.5)
    desk.check()
    assert stand.levels() == ["unknown", "warning", "exceeded"] and desk.held


@pytest.mark.parametrize(
    "content", ["{not json", '{"budget": 5}', '{"budget": "5eur"}', "[]", "\xff"]
)
def test_a_corrupt_budget_file_is_one_line_and_not_enforced(tmp_path: Path, content: str) -> None:
    stand = Stand(tmp_path / "b.json")
    stand.path.write_text(content, encoding="latin-1")
    desk = stand.desk()
    (event,) = stand.events
    assert event["level"] == "error" and "\n" not in event["error"]
    assert str(stand.path) in event["error"] and "not enforced" in event["error"]
    stand.spent = Usage(input=10**9)
    desk.check()
    assert not desk.held and desk.describe() == {"problem": event["error"]}
    assert desk.change(add="5k") is not None, "a new budget replaces the broken file"
    desk.check()
    assert desk.held


def test_the_api_refuses_a_send_while_the_budget_is_spent(tmp_path: Path) -> None:
    from harnex_tmux.errors import ApiError
    from harnex_tmux.sidecar.api import ApiParts, build_router
    from harnex_tmux.sidecar.inbox import Inbox
    from harnex_tmux.sidecar.readiness import Readiness
    from harnex_tmux.sidecar.server import Request
    from harnex_tmux.sidecar.turns import Turns

    stand = Stand(tmp_path / "b.json")
    write_budget_file(stand.path, parse_budget("10"))
    desk = stand.desk()
    stand.spent = Usage(output=12)
    desk.check()
    readiness = Readiness()
    readiness.set(State.PROMPT)
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    router = build_router(
        ApiParts(
            ident="w",
            pane_id="%1",
            read_pane=lambda lines: "",
            readiness=readiness,
            inbox=inbox,
            turns=Turns(),
            deliver_now=lambda message: True,
            status_payload=lambda: {"id": "w"},
            request_stop=lambda: True,
            on_hook=lambda source, event, payload: None,
            budget_refusal=desk.refusal,
            budget_show=desk.describe,
            budget_change=desk.change,
        )
    )

    def call(method: str, path: str, body: dict[str, Any]) -> Any:
        handler, rest = router.resolve(method, path)
        return handler(Request(method, path, {}, json.dumps(body).encode()), rest)

    for forced in (False, True):
        with pytest.raises(ApiError) as caught:
            call("POST", "/send", {"text": "go on", "force": forced})
        assert caught.value.status == 402
        assert str(caught.value) == (
            "budget reached: spent 12 tokens of 10 tokens (harnex budget --id w --add 1M)"
        )
    assert len(inbox) == 0
    for bad in ({}, {"add": 5}, {"add": "5eur"}, {"add": "1k", "clear": True}, {"clear": "yes"}):
        with pytest.raises(ApiError) as caught:
            call("POST", "/budget", bad)
        assert caught.value.status == 400
    status, answer = call("POST", "/budget", {"add": "1k"})
    assert status == 200 and answer["budget"]["limit"] == 1010
    status, answer = call("POST", "/send", {"text": "go on"})
    assert status == 202 and len(inbox) == 1


def test_every_shipped_cli_names_its_interrupt_keys_and_a_plain_program_none() -> None:
    from harnex_tmux.adapters import adapter_for
    from harnex_tmux.adapters.rules import parse_rules

    for name in ("claude", "codex", "gemini", "qwen", "opencode", "aider"):
        assert adapter_for(name).interrupt_keys, name
    assert adapter_for("claude").interrupt_keys == ("Escape",)
    assert adapter_for("generic").interrupt_keys == ()
    data = {"name": "x", "prompt": {"empty_box_is_idle": True}, "interrupt_keys": ["C-c"]}
    assert parse_rules(data, "x.toml").interrupt_keys == ("C-c",)


def test_status_shows_a_budget_column_only_when_a_session_has_a_budget() -> None:
    from harnex_tmux.cli.status import _table

    row: dict[str, Any] = {"id": "a", "cli": "claude", "state": "prompt", "repo_root": "/r"}
    assert "BUDGET" not in _table([row])
    usd = dict(row, budget={"kind": "usd", "limit": 5.0, "spent": 2.1, "state": "ok"})
    tokens = dict(row, budget={"kind": "tokens", "limit": 2_000_000, "spent": 1_234_567})
    unknown = dict(row, budget={"kind": "usd", "limit": 2.5, "spent": None})
    broken = dict(row, budget={"problem": "budget file x is not JSON"})
    header, _, *lines = _table([usd, tokens, unknown, broken, row]).splitlines()
    # 0.4.0's columns keep their places; BUDGET comes after STATE, before REPO.
    assert header.split() == [
        *("ID", "CLI", "PID", "PORT", "AGE", "IDLE", "STATE", "BUDGET", "REPO", "DESC")
    ]
    cells = [line.split()[7] for line in lines]
    assert cells == ["2.10/5usd", "1.2M/2M", "?/2.50usd", "error", "-"]
