"""Budgets with a live session: a spent budget holds the inbox (queued messages stay queued
through a sidecar kill and ``harnex recover``), refuses sends with one line and exit 4, and
``harnex budget --add`` lets the held message through exactly once; a corrupt budget file is
one line and the session runs on without enforcement, saying so.

The demo agent writes no usage of its own, so the session's usage file is a Claude Code
transcript the test writes, named to the sidecar as Claude Code's hooks name it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from conftest import Figures, Harnex, recorded, spend_tokens, wait_for

from harnex_tmux.errors import EXIT_BUDGET
from harnex_tmux.session.client import SidecarClient
from tests.procs import gone


def _events(info: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    lines = Path(info["events_log_path"]).read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == kind]


def _levels(info: dict[str, Any]) -> list[str]:
    return [e["level"] for e in _events(info, "budget")]


def _message(client: SidecarClient, message_id: str) -> str:
    return str(client.request("GET", f"/messages/{message_id}").body["status"])


def test_spent_budget_holds_the_inbox_through_recover_and_add_lets_it_go_once(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    received = tmp_path / "received.jsonl"
    info = harnex.start_demo("bud", "--budget", "1000", record=received, busy=3.0)
    transcript = tmp_path / "session.jsonl"
    transcript.touch()
    hook = {"hook_event_name": "SessionStart", "transcript_path": str(transcript)}
    harnex.sidecar("bud", timeout=10).request("POST", "/hook/claude", hook)

    spend_tokens(transcript, 1, 850)
    wait_for(lambda: _levels(info) == ["warning"], timeout=20, interval=0.1)
    (entry,) = harnex.registry()
    assert entry["budget_escalated"] == "budget at 80 %: spent 850 tokens of 1,000 tokens"

    harnex.json("send", "--id", "bud", "--message", "one")
    held = harnex.json("send", "--id", "bud", "--message", "two", "--no-wait")["message_id"]
    spend_tokens(transcript, 2, 200)
    wait_for(lambda: _levels(info) == ["warning", "exceeded"], timeout=20, interval=0.1)

    refused = harnex.run("send", "--id", "bud", "--message", "three")
    line = "budget reached: spent 1,050 tokens of 1,000 tokens (harnex budget --id bud --add 1M)"
    assert refused.returncode == EXIT_BUDGET
    assert refused.stderr.strip() == f"harnex: {line}"
    assert json.loads(refused.stdout)["error"] == line
    figures.record("send while spent", f"exit {refused.returncode}, one line")

    client = harnex.sidecar("bud", timeout=10)
    wait_for(lambda: client.status()["state"] == "prompt", timeout=30, interval=0.1)
    assert _message(client, held) == "queued" and recorded(received) == ["one"]

    os.kill(entry["sidecar_pid"], 9)
    harnex.json("recover", "--id", "bud")
    client = harnex.sidecar("bud", timeout=10)
    status = harnex.json("status", "--id", "bud", "--json")[0]
    assert status["budget"]["state"] == "exceeded" and status["budget"]["spent"] == 1050
    again = harnex.run("send", "--id", "bud", "--message", "three")
    assert again.returncode == EXIT_BUDGET, "held again from the recovered sidecar's start"
    wait_for(lambda: client.status()["state"] == "prompt", timeout=30, interval=0.1)
    assert _message(client, held) == "queued" and recorded(received) == ["one"]
    assert _levels(info) == ["warning", "exceeded"], "no step repeated after recover"
    figures.record("budget steps repeated after recover", 0)

    shown = harnex.run("budget", "--id", "bud", "--add", "1k")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "spent 1,050 tokens of 2,000 tokens (ok)"
    wait_for(lambda: _message(client, held) == "delivered", timeout=30, interval=0.1)
    harnex.json("send", "--id", "bud", "--message", "four")
    assert recorded(received) == ["one", "two", "four"]
    figures.record("held message typed after --add", recorded(received).count("two"), "time(s)")

    assert harnex.json("budget", "--id", "bud", "--clear", "--json") == {"ok": True, "budget": None}
    assert "budget" not in harnex.json("status", "--id", "bud", "--json")[0]


def test_a_corrupt_budget_file_is_one_line_and_the_session_runs_on(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    received = tmp_path / "received.jsonl"
    info = harnex.start_demo("cor", "--budget", "5usd", record=received)
    (entry,) = harnex.registry()
    budget_file = next((harnex.state_dir / "budgets").glob("*--cor.json"))
    assert json.loads(budget_file.read_text())["budget"] == "5usd"
    budget_file.write_text('{"budget": "5 doubloons"')
    os.kill(entry["sidecar_pid"], 9)
    harnex.json("recover", "--id", "cor")

    (event,) = wait_for(lambda: _events(info, "budget"), timeout=20, interval=0.1)
    assert event["level"] == "error" and "\n" not in event["error"]
    assert event["error"] == f"budget file {budget_file} is not JSON; the budget is not enforced"
    status = harnex.json("status", "--id", "cor", "--json")[0]
    assert status["budget"] == {"problem": event["error"]}
    assert harnex.json("send", "--id", "cor", "--message", "still here")["status"] == "delivered"
    assert recorded(received) == ["still here"]
    shown = harnex.run("budget", "--id", "cor")
    assert shown.stdout.strip() == f"Budget not enforced: {event['error']}"
    figures.record("corrupt budget file", "one line, not enforced, sends delivered")
    assert harnex.run("budget", "--id", "cor", "--add", "5usd").returncode == 0
    assert json.loads(budget_file.read_text())["budget"] == "5usd", "--add writes it anew"


def test_a_resumed_session_keeps_its_budget_file_and_counts_on_from_its_usage(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    """The tmux server killed under a session whose budget was raised and warned; ``harnex
    resume`` brings it back with the raised limit, the warning not given again, and the usage
    counted on from the same transcript (neither from zero nor twice), plus a new one's."""
    info = harnex.start_demo("res", "--budget", "1000")
    transcript = tmp_path / "session.jsonl"
    transcript.touch()
    hook = {"hook_event_name": "SessionStart", "transcript_path": str(transcript)}
    harnex.sidecar("res", timeout=10).request("POST", "/hook/claude", hook)
    spend_tokens(transcript, 1, 900)
    wait_for(lambda: _levels(info) == ["warning"], timeout=20, interval=0.1)
    assert harnex.run("budget", "--id", "res", "--add", "1k").returncode == 0
    budget_file = next((harnex.state_dir / "budgets").glob("*--res.json"))
    kept = json.loads(budget_file.read_text())
    assert kept["budget"] == "2000" and kept["progress"]["warned_at"] == "1000"

    harnex.tmux("kill-server")
    wait_for(lambda: gone(info["sidecar_pid"]), timeout=20)
    (resumed,) = harnex.json("resume", "--all")
    assert resumed["id"] == "res"
    assert json.loads(budget_file.read_text()) == kept, "the budget file as it was"
    info = next(r for r in harnex.registry() if r["id"] == "res")

    def budget() -> dict[str, Any]:
        return dict(harnex.json("status", "--id", "res", "--json")[0]["budget"])

    shown = wait_for(lambda: (b := budget())["spent"] == 900 and b, timeout=20, interval=0.1)
    assert shown["limit"] == 2000 and shown["state"] == "ok"
    table = harnex.run("status", "--id", "res").stdout.splitlines()
    assert table[0].split()[7:10] == ["TOKENS", "COST", "BUDGET"]
    assert table[2].split()[9] == "900/2k"
    # The resumed agent goes on in the same transcript (its hooks name it again) and in a new
    # one (a /clear): each call counts once.
    client = harnex.sidecar("res", timeout=10)
    client.request("POST", "/hook/claude", hook)
    fresh = tmp_path / "fresh.jsonl"
    spend_tokens(transcript, 2, 100)
    spend_tokens(fresh, 3, 700)
    client.request("POST", "/hook/claude", {**hook, "transcript_path": str(fresh)})
    wait_for(lambda: budget()["spent"] == 1700, timeout=20, interval=0.1)
    wait_for(lambda: _levels(info) == ["warning"], timeout=20, interval=0.1)
    assert harnex.json("usage", "--id", "res", "--json")["total"]["tokens"] == 1700
    spend_tokens(fresh, 4, 300)
    wait_for(lambda: budget()["state"] == "exceeded", timeout=20, interval=0.1)
    assert budget()["spent"] == 2000
    figures.record("budget and usage carried through resume", "limit 2000, spent 900 -> 2000")
