"""Exactly once for plain terminal programs (the generic adapter): every message arrives once
and whole, no stray second Enter, and the status reported is true.

The programs are in plain_agents.py; each records every line it is given, empty ones too.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Harnex, recorded, wait_for

PLAIN = str(Path(__file__).with_name("plain_agents.py"))


def _start(harnex: Harnex, ident: str, mode: str, record: Path, *extra: str) -> dict[str, Any]:
    return harnex.start(
        ident,
        *extra,
        command=[sys.executable, PLAIN, mode, "--record", str(record)],
    )


def _start_working(
    harnex: Harnex, ident: str, mode: str, record: Path, work: float
) -> dict[str, Any]:
    command = [sys.executable, PLAIN, mode, "--record", str(record), "--work", str(work)]
    return harnex.start(ident, command=command)


def _send_all(harnex: Harnex, ident: str, texts: list[str]) -> list[dict[str, Any]]:
    """Queue every text at once (as two quick ``send --no-wait`` would), then wait for each."""
    client = harnex.sidecar(ident)
    ids = [client.request("POST", "/send", {"text": t}).body["message_id"] for t in texts]
    finished = []
    for message_id in ids:
        deadline = time.monotonic() + 90
        while True:
            body = client.request("GET", f"/messages/{message_id}?wait=25", timeout=40).body
            if body["status"] != "queued" or time.monotonic() > deadline:
                break
        finished.append(body)
    return finished


def _settled(harnex: Harnex, ident: str) -> None:
    """Back at the prompt after the last message: a stray Enter would have shown by now."""
    harnex.run("wait", "--id", ident, "--until", "prompt", "--timeout", "60", check=True)
    time.sleep(0.5)


def test_a_program_working_silently_gets_no_second_enter(harnex: Harnex, tmp_path: Path) -> None:
    """It prints one line after a submit, then works silently for 3 s. Quiet output used
    to count as ready: the second message was typed into the working program, Enter went
    unanswered, was pressed again, and the message was called failed although it arrived
    (with an extra empty line). The kernel shows it sleeping: busy, however quiet."""
    record = tmp_path / "rec.jsonl"
    _start_working(harnex, "silent", "silent", record, work=3.0)
    harnex.run("wait", "--id", "silent", "--until", "prompt", "--timeout", "30", check=True)
    results = _send_all(harnex, "silent", ["first message", "second message"])
    assert [r["status"] for r in results] == ["delivered", "delivered"], results
    wait_for(lambda: len(recorded(record)) >= 2, timeout=30)
    _settled(harnex, "silent")
    assert recorded(record) == ["first message", "second message"]


def test_quiet_but_sleeping_is_busy_not_ready(harnex: Harnex, tmp_path: Path) -> None:
    """Quiet for longer than the quiet time (0.3 s here), but sleeping: not at a prompt."""
    harnex.start("nap", command=["sh", "-c", "echo starting; sleep 4; cat"])
    time.sleep(1.5)
    (status,) = harnex.json("status", "--id", "nap", "--json")
    assert status["state"] == "busy", status


def test_a_program_reading_its_terminal_is_ready(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    _start(harnex, "reader", "no-echo", record)
    harnex.run("wait", "--id", "reader", "--until", "prompt", "--timeout", "30", check=True)


def test_slow_echo_of_100_kib(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    _start(harnex, "slow", "slow-echo", record)
    harnex.run("wait", "--id", "slow", "--until", "prompt", "--timeout", "30", check=True)
    big = "".join(chr(ord("a") + i % 26) for i in range(100 * 1024))
    results = _send_all(harnex, "slow", [big, "after the big one"])
    assert [r["status"] for r in results] == ["delivered", "delivered"], results
    wait_for(lambda: len(recorded(record)) >= 2, timeout=60)
    _settled(harnex, "slow")
    assert recorded(record) == [big, "after the big one"]


def test_a_program_that_never_echoes(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    _start(harnex, "noecho", "no-echo", record)
    harnex.run("wait", "--id", "noecho", "--until", "prompt", "--timeout", "30", check=True)
    results = _send_all(harnex, "noecho", ["one", "two", "three"])
    assert [r["status"] for r in results] == ["delivered"] * 3, results
    _settled(harnex, "noecho")
    assert recorded(record) == ["one", "two", "three"]


def test_a_line_buffered_program_without_bracketed_paste(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    _start_working(harnex, "cooked", "cooked", record, work=1.0)
    harnex.run("wait", "--id", "cooked", "--until", "prompt", "--timeout", "30", check=True)
    long_line = "x" * 3000  # over the send-keys limit: goes in as a paste
    results = _send_all(harnex, "cooked", ["short one", long_line, "ünïcödé ✓"])
    assert [r["status"] for r in results] == ["delivered"] * 3, results
    wait_for(lambda: len(recorded(record)) >= 3, timeout=30)
    _settled(harnex, "cooked")
    assert recorded(record) == ["short one", long_line, "ünïcödé ✓"]


def test_no_sign_either_way_is_unconfirmed_exit_3(harnex: Harnex, tmp_path: Path) -> None:
    """A program that shows nothing at all after a submit: harnex cannot tell, so it says
    so (exit 3, status unconfirmed) and does not press Enter again. It did get it, once."""
    record = tmp_path / "rec.jsonl"
    _start(harnex, "mute", "mute", record)
    harnex.run("wait", "--id", "mute", "--until", "prompt", "--timeout", "30", check=True)
    result = harnex.run("send", "--id", "mute", "--message", "hello mute")
    assert result.returncode == 3, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "unconfirmed" and answer["ok"] is False
    assert answer["error"]
    time.sleep(1.0)
    assert recorded(record) == ["hello mute"]


def test_prompt_regex_decides_readiness(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    _start(harnex, "rx", "no-echo", record, "--prompt-regex", r"^plain>$")
    harnex.run("wait", "--id", "rx", "--until", "prompt", "--timeout", "30", check=True)
    results = _send_all(harnex, "rx", ["by the pattern"])
    assert results[0]["status"] == "delivered", results
    wait_for(lambda: recorded(record) == ["by the pattern"], timeout=10)


def test_prompt_regex_that_never_matches_keeps_it_busy(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    harnex.start(
        "rxno",
        "--prompt-regex",
        "READY>",
        command=[sys.executable, PLAIN, "no-echo", "--record", str(record)],
    )
    time.sleep(1.5)
    (status,) = harnex.json("status", "--id", "rxno", "--json")
    assert status["state"] != "prompt", status


@pytest.mark.parametrize("pattern", ["(unclosed", "[z-a]"])
def test_a_bad_prompt_regex_is_a_usage_error(harnex: Harnex, pattern: str) -> None:
    result = harnex.run("run", "--id", "bad", "--detach", "--prompt-regex", pattern, "cat")
    assert result.returncode == 2, result.stderr
    assert "bad --prompt-regex" in result.stderr
    assert harnex.registry() == []
