"""``harnex report``: typing a message into the spawner's pane, safely, or failing clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Harnex, recorded, wait_for

from harnex_tmux.errors import HarnexError
from harnex_tmux.reporting import report_text, spawner_pane


def start_target(harnex: Harnex, tmp_path: Path) -> tuple[str, Path]:
    """A demo agent standing in for the spawner; returns its pane id and record file."""
    record = tmp_path / "spawner.jsonl"
    started = harnex.start_demo("spawner", record=record)
    harnex.run("wait", "--id", "spawner", "--until", "prompt", "--timeout", "20", check=True)
    return str(started["pane_id"]), record


def as_session(harnex: Harnex, pane: str | None, ident: str = "buddy-1") -> dict[str, str]:
    """The environment of a harnex session called ``ident`` spawned from ``pane``."""
    env = dict(harnex.env, HARNEX_ID=ident, HARNEX_SESSION_ID="0123456789abcdef")
    env["HARNEX_SESSION_CLI"] = "claude"
    if pane is not None:
        env["HARNEX_SPAWNER_PANE"] = pane
    return env


def test_reports_into_the_spawner_pane_with_one_relay_header(
    harnex: Harnex, tmp_path: Path
) -> None:
    pane, record = start_target(harnex, tmp_path)
    env = as_session(harnex, pane)
    result = harnex.run("report", "--message", "worker finished: all green", env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is True and answer["pane"] == pane and answer["relay"] is True

    texts = wait_for(lambda: recorded(record), timeout=10)
    assert len(texts) == 1
    header, body = texts[0].split("\n")
    assert header.startswith("[harnex relay from=claude id=buddy-1 at=")
    assert body == "worker finished: all green"

    # Already carrying a header (a forwarded relay): it is not added a second time.
    forwarded = f"{header}\nforwarded line"
    assert harnex.run("report", "--message", forwarded, env=env).returncode == 0
    texts = wait_for(lambda: recorded(record)[1:], timeout=10)
    assert texts == [forwarded]
    assert texts[0].count("[harnex relay") == 1


def test_words_stdin_no_relay_and_sanitising(harnex: Harnex, tmp_path: Path) -> None:
    pane, record = start_target(harnex, tmp_path)
    env = as_session(harnex, pane)
    assert harnex.run("report", "--no-relay", "plain", "words", env=env).returncode == 0
    wait_for(lambda: len(recorded(record)) == 1, timeout=10)
    piped = harnex.run("report", "--no-relay", input="from \x1b[31mstdin\x07\n", env=env)
    assert piped.returncode == 0, piped.stderr
    wait_for(lambda: len(recorded(record)) == 2, timeout=10)
    # Outside a session (no HARNEX_SESSION_ID) there is no sender to name: no header.
    outside = dict(harnex.env, HARNEX_SPAWNER_PANE=pane)
    assert harnex.run("report", "-m", "from a script", env=outside).returncode == 0
    texts = wait_for(lambda: recorded(record) if len(recorded(record)) == 3 else None)
    assert texts == ["plain words", "from stdin", "from a script"]


def test_explicit_pane_wins(harnex: Harnex, tmp_path: Path) -> None:
    pane, record = start_target(harnex, tmp_path)
    env = as_session(harnex, "%999999")
    result = harnex.run("report", "--pane", pane, "--no-relay", "-m", "chosen by hand", env=env)
    assert result.returncode == 0, result.stderr
    assert wait_for(lambda: recorded(record), timeout=10) == ["chosen by hand"]


def test_errors(harnex: Harnex) -> None:
    no_spawner = harnex.run("report", "-m", "hello", env=as_session(harnex, None))
    assert no_spawner.returncode == 1
    assert "no spawner pane" in no_spawner.stderr and "HARNEX_SPAWNER_PANE" in no_spawner.stderr
    assert len(no_spawner.stderr.strip().splitlines()) == 1

    harnex.tmux("new-session", "-d", "-s", "other", "sleep 60")
    missing = harnex.run("report", "-m", "hello", env=as_session(harnex, "%999999"))
    assert missing.returncode == 1
    assert "pane %999999 does not exist" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    not_a_pane = harnex.run("report", "-m", "hello", env=as_session(harnex, "main:0"))
    assert not_a_pane.returncode == 2
    assert "not a tmux pane id" in not_a_pane.stderr

    empty = harnex.run("report", "-m", "\x1b\n", env=as_session(harnex, "%0"))
    assert empty.returncode == 2
    assert "empty" in empty.stderr


def test_a_dead_pane_is_refused(harnex: Harnex) -> None:
    harnex.tmux("new-session", "-d", "-s", "keep", "sleep 60")
    harnex.tmux("set-option", "-g", "remain-on-exit", "on")
    made = harnex.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "keep:", "true")
    pane = made.stdout.strip()
    wait_for(lambda: harnex.tmux("display", "-p", "-t", pane, "#{pane_dead}").stdout.strip() == "1")
    result = harnex.run("report", "-m", "hello", env=as_session(harnex, pane))
    assert result.returncode == 1
    assert f"pane {pane} is dead" in result.stderr


def test_library_helpers() -> None:
    assert spawner_pane(None, {"HARNEX_SPAWNER_PANE": " %7 "}) == "%7"
    assert spawner_pane("%3", {"HARNEX_SPAWNER_PANE": "%7"}) == "%3"
    text, relayed = report_text("a\r\nb\n", None, {})
    assert (text, relayed) == ("a\nb", False)
    text, relayed = report_text("done", True, {"HARNEX_ID": "w", "HARNEX_SESSION_CLI": "codex"})
    assert relayed and text.startswith("[harnex relay from=codex id=w at=")
    with pytest.raises(HarnexError, match="the limit is"):
        report_text("x" * (300 * 1024), False, {})
