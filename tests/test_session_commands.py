"""status, wait, stop, logs, pane: normal paths, exit codes, and sessions that died oddly."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from conftest import Harnex, wait_for


def test_status_table_and_json(harnex: Harnex) -> None:
    harnex.start_demo("s1", "--description", "first one")
    harnex.start_demo("s2")
    harnex.run("wait", "--id", "s1", "--until", "prompt", "--timeout", "10", check=True)
    table = harnex.run("status", check=True).stdout.splitlines()
    assert table[0].split() == ["ID", "CLI", "PID", "PORT", "AGE", "IDLE", "STATE", "REPO", "DESC"]
    rows = {line.split()[0]: line for line in table[1:]}
    assert set(rows) == {"s1", "s2"}
    assert "first one" in rows["s1"] and "prompt" in rows["s1"]
    data = harnex.json("status", "--json")
    assert {d["id"] for d in data} == {"s1", "s2"}
    for entry in data:
        assert "token" not in entry
        assert entry["log_mtime"] > 0 and entry["log_idle_s"] >= 0
        assert entry["state"] in ("prompt", "busy")
    one = harnex.json("status", "--id", "s2", "--json")
    assert [d["id"] for d in one] == ["s2"]


def test_status_other_repo_and_all(harnex: Harnex, tmp_path: Path) -> None:
    harnex.start_demo("here")
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    assert "no harnex sessions" in harnex.run("status", cwd=other, check=True).stdout
    assert [d["id"] for d in harnex.json("status", "--json", cwd=other)] == []
    assert [d["id"] for d in harnex.json("status", "--all", "--json", cwd=other)] == ["here"]
    assert [
        d["id"] for d in harnex.json("status", "--repo", str(harnex.repo), "--json", cwd=other)
    ] == ["here"]


def test_unknown_id_is_a_clear_error(harnex: Harnex) -> None:
    for args in (
        ["status", "--id", "ghost"],
        ["stop", "--id", "ghost"],
        ["wait", "--id", "ghost"],
        ["logs", "--id", "ghost"],
        ["pane", "--id", "ghost"],
    ):
        result = harnex.run(*args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("harnex: no session 'ghost'"), (args, result.stderr)
        assert result.stderr.count("\n") == 1


def test_no_session_without_id(harnex: Harnex) -> None:
    result = harnex.run("stop")
    assert result.returncode == 1 and "no harnex session in" in result.stderr
    harnex.start_demo("a")
    harnex.start_demo("b")
    result = harnex.run("pane")
    assert result.returncode == 1 and "several sessions" in result.stderr


def test_wait_states_and_timeout(harnex: Harnex, tmp_path: Path) -> None:
    harnex.start_demo("w", busy=1.5)
    assert harnex.json("wait", "--id", "w", "--until", "prompt", "--timeout", "10")["state"] == (
        "prompt"
    )
    start = time.monotonic()
    result = harnex.run("wait", "--id", "w", "--until", "busy", "--timeout", "0.5")
    assert result.returncode == 124
    assert time.monotonic() - start < 5
    assert "did not reach 'busy'" in result.stderr
    result = harnex.run("wait", "--id", "w", "--until", "sleeping")
    assert result.returncode == 2


def test_wait_returns_1_when_session_ends_first(harnex: Harnex) -> None:
    harnex.start("ends", command=["sh", "-c", "sleep 0.5; exit 0"])
    result = harnex.run("wait", "--id", "ends", "--until", "confirmation", "--timeout", "20")
    # The generic adapter never reports a dialog; the agent exits instead.
    assert result.returncode == 1, result.stderr
    assert "exited before reaching 'confirmation'" in result.stderr


def test_stop_runs_stop_sequence_and_cleans_up(harnex: Harnex) -> None:
    info = harnex.start_demo("st")
    harnex.run("wait", "--id", "st", "--until", "prompt", "--timeout", "10", check=True)
    result = harnex.json("stop", "--id", "st")
    assert result["ok"] and result["code"] == 0  # Ctrl-C at an idle demo prompt exits 0
    wait_for(lambda: not harnex.registry())
    windows = harnex.tmux("list-windows", "-a", "-F", "#{window_id}").stdout
    assert info["window_id"] not in windows
    events = [json.loads(x) for x in Path(info["events_log_path"]).read_text().splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "started" and "exited" in types
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    exited = next(e for e in events if e["type"] == "exited")
    assert exited["code"] == 0 and "signal" not in exited
    for event in events:
        assert event["schema_version"] == 1 and event["id"] == "st"
        assert event["ts"].endswith("Z") and len(event["ts"]) == 20


def test_stop_terminates_an_agent_that_ignores_ctrl_c(harnex: Harnex) -> None:
    harnex.start("stubborn", command=["sh", "-c", "trap '' INT; while :; do sleep 0.1; done"])
    result = harnex.json("stop", "--id", "stubborn", "--timeout", "10")
    assert result["code"] == 128 + signal.SIGTERM and result["signal"] == signal.SIGTERM


def test_stop_times_out_with_124(harnex: Harnex) -> None:
    harnex.start("slowstop", command=["sh", "-c", "trap '' INT TERM; while :; do sleep 0.1; done"])
    result = harnex.run("stop", "--id", "slowstop", "--timeout", "0.5")
    assert result.returncode == 124
    assert "still running" in result.stderr


def test_pane_killed_by_hand_is_recorded(harnex: Harnex) -> None:
    info = harnex.start_demo("victim")
    harnex.tmux("kill-pane", "-t", info["pane_id"])
    waited = harnex.json("wait", "--id", "victim", "--timeout", "10")
    assert waited["state"] == "exited"
    data = json.loads(next((harnex.state_dir / "exits").glob("*victim.json")).read_text())
    # The demo agent exits 129 when its terminal disappears (the kernel's hangup).
    assert data["code"] == 128 + signal.SIGHUP and data["signal"] == signal.SIGHUP
    wait_for(lambda: not harnex.registry())
    events = Path(info["events_log_path"]).read_text()
    assert '"type": "exited"' in events


def test_sidecar_killed_by_hand(harnex: Harnex) -> None:
    info = harnex.start_demo("orphan")
    os.kill(info["sidecar_pid"], signal.SIGKILL)
    wait_for(
        lambda: (
            not Path(f"/proc/{info['sidecar_pid']}").exists()
            or "Z" in Path(f"/proc/{info['sidecar_pid']}/stat").read_text().split()[2]
        )
    )
    start = time.monotonic()
    (row,) = harnex.json("status", "--json", timeout=10)
    assert time.monotonic() - start < 5
    assert row["state"] == "sidecar-down" and row["agent_alive"] is True
    assert "sidecar-down" in harnex.run("status", check=True).stdout
    pane = harnex.json("pane", "--id", "orphan", "--json")
    assert "demo>" in pane["text"]
    stopped = harnex.run("stop", "--id", "orphan", "--timeout", "10")
    assert stopped.returncode == 0, stopped.stderr
    assert harnex.registry() == []


def test_logs_strip_control_sequences(harnex: Harnex, tmp_path: Path) -> None:
    script = (
        "printf '\\033[31mred\\033[0m line\\n'; for i in 1 2 3 4 5; do echo n$i; done; sleep 60"
    )
    harnex.start("lg", command=["sh", "-c", script])
    wait_for(lambda: "n5" in harnex.run("logs", "--id", "lg").stdout)
    out = harnex.run("logs", "--id", "lg", check=True).stdout
    assert "red line" in out and "\x1b" not in out
    assert harnex.run("logs", "--id", "lg", "--lines", "2", check=True).stdout == "n4\nn5\n"


def test_logs_follow_ends_when_session_exits(harnex: Harnex) -> None:
    harnex.start("fl", command=["sh", "-c", "echo one; sleep 1; echo two; sleep 0.5"])
    out = harnex.run("logs", "--id", "fl", "--follow", timeout=20)
    assert out.returncode == 0
    assert "one" in out.stdout and "two" in out.stdout


def test_pane_json_and_lines(harnex: Harnex) -> None:
    harnex.start("pn", command=["sh", "-c", "for i in 1 2 3 4; do echo row$i; done; sleep 60"])
    wait_for(lambda: "row4" in harnex.json("pane", "--id", "pn", "--json")["text"])
    snap = harnex.json("pane", "--id", "pn", "--json", "--lines", "2")
    assert snap["text"] == "row3\nrow4"
    assert snap["lines"] == 2 and snap["ok"] is True and snap["id"] == "pn"
    assert snap["pane_id"].startswith("%") and snap["captured_at"].endswith("Z")
    assert snap["state"] in ("unknown", "prompt", "busy")
    assert harnex.run("pane", "--id", "pn", check=True).stdout.splitlines()[-1] == "row4"


def test_pane_finds_session_in_another_repo(harnex: Harnex, tmp_path: Path) -> None:
    harnex.start("far", command=["sh", "-c", "echo far-away; sleep 60"])
    other = tmp_path / "elsewhere"
    other.mkdir()
    wait_for(lambda: "far-away" in harnex.run("pane", "--id", "far", cwd=other).stdout)


def test_version(harnex: Harnex) -> None:
    from harnex_tmux import __version__

    assert harnex.run("--version", check=True).stdout.strip() == f"harnex, version {__version__}"
