"""status, wait, stop, logs, pane: normal paths, exit codes, and sessions that died oddly."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import time
from datetime import datetime
from pathlib import Path

from conftest import Harnex, wait_for

from harnex_tmux.session.client import SidecarClient


def test_status_table_and_json(harnex: Harnex) -> None:
    harnex.start_demo("s1", "--description", "first one")
    harnex.start_demo("s2")
    harnex.run("wait", "--id", "s1", "--until", "prompt", "--timeout", "10", check=True)
    table = harnex.run("status", check=True).stdout.splitlines()
    assert table[0].split() == ["ID", "CLI", "PID", "PORT", "AGE", "IDLE", "STATE", "REPO", "DESC"]
    # 0.4.0's layout: a row of dashes as wide as each column under the header.
    starts = [m.start() for m in re.finditer(r"\S+", table[0])]
    assert [m.start() for m in re.finditer(r"-+", table[1])] == starts
    assert set(table[1].replace(" ", "")) == {"-"}
    rows = {line.split()[0]: line for line in table[2:]}
    assert set(rows) == {"s1", "s2"}
    assert "first one" in rows["s1"] and "prompt" in rows["s1"]
    assert rows["s2"].split()[-1] == "-"  # no description
    data = harnex.json("status", "--json")
    assert {d["id"] for d in data} == {"s1", "s2"}
    for entry in data:
        assert "token" not in entry
        # 0.4.0's types: ISO-8601 text with the local offset, whole seconds.
        assert datetime.fromisoformat(entry["log_mtime"]).tzinfo is not None
        assert len(entry["log_mtime"]) == 25
        assert isinstance(entry["log_idle_s"], int) and entry["log_idle_s"] >= 0
        assert entry["state"] in ("prompt", "busy")
    (record,) = [r for r in harnex.registry() if r["id"] == "s1"]
    live = SidecarClient(record["host"], record["port"], record["token"]).status()
    assert isinstance(live["log_mtime"], str) and isinstance(live["log_idle_s"], int)
    one = harnex.json("status", "--id", "s2", "--json")
    assert [d["id"] for d in one] == ["s2"]


def test_status_other_repo_and_all(harnex: Harnex, tmp_path: Path) -> None:
    harnex.start_demo("here")
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    out = harnex.run("status", cwd=other, check=True).stdout
    assert out == f"No active harnex sessions for {other}.\n"
    empty = dict(harnex.env, HARNEX_STATE_DIR=str(tmp_path / "void"))
    out = harnex.run("status", "--all", env=empty, check=True).stdout
    assert out == "No active harnex sessions.\n"
    assert [d["id"] for d in harnex.json("status", "--json", cwd=other)] == []
    assert [d["id"] for d in harnex.json("status", "--all", "--json", cwd=other)] == ["here"]
    assert [
        d["id"] for d in harnex.json("status", "--repo", str(harnex.repo), "--json", cwd=other)
    ] == ["here"]


def test_unknown_id_is_a_clear_error(harnex: Harnex) -> None:
    for args in (
        ["stop", "--id", "ghost"],
        ["wait", "--id", "ghost"],
        ["logs", "--id", "ghost"],
        ["pane", "--id", "ghost"],
    ):
        result = harnex.run(*args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("harnex: no session 'ghost'"), (args, result.stderr)
        assert result.stderr.count("\n") == 1


def test_status_of_a_missing_id_is_empty_not_an_error(harnex: Harnex) -> None:
    # Scripts check liveness with `harnex status --id X --json | jq length`.
    result = harnex.run("status", "--id", "ghost", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == [] and not result.stderr
    result = harnex.run("status", "--id", "ghost")
    assert result.returncode == 0
    assert result.stdout == f"No active harnex sessions for {harnex.repo}.\n"


def test_status_table_cells_follow_0_4_0() -> None:
    from harnex_tmux.cli.status import _table

    home = os.path.expanduser("~")
    row = {
        "id": "t",
        "cli": "codex",
        "pid": None,
        "port": 43001,
        "started_at": None,
        "log_idle_s": None,
        "state": "",
        "repo_root": home + "/src/a-very-long-project-name",
        "description": "x" * 31,
    }
    header, dashes, line = _table([row]).splitlines()
    cells = line.split()
    assert cells[:7] == ["t", "codex", "-", "43001", "-", "-", "-"]
    # REPO keeps its last 18 characters after "..", DESC its first 27 before "...".
    assert cells[7] == ".." + "~/src/a-very-long-project-name"[-18:] and len(cells[7]) == 20
    assert cells[8] == "x" * 27 + "..." and len(cells[8]) == 30
    assert dashes.split() == ["-" * len(h) for h in ("ID", "codex", "PID", "43001")] + [
        "-" * w for w in (3, 4, 5, 20, 30)
    ]
    assert header.split() == ["ID", "CLI", "PID", "PORT", "AGE", "IDLE", "STATE", "REPO", "DESC"]
    row.update(repo_root=home + "/r", description="exactly thirty characters long")
    line = _table([row]).splitlines()[2]
    assert " ~/r " in line and line.endswith("  exactly thirty characters long")


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
    result = harnex.run("wait", "--id", "victim", "--timeout", "10")
    assert result.returncode == 128 + signal.SIGHUP, result.stderr
    waited = json.loads(result.stdout)
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
    # A dead sidecar is seen from its pid: status does not wait on it (a hang fails here;
    # how fast it answers is for scripts/bench.py, not an assert).
    (row,) = harnex.json("status", "--json", timeout=30)
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
    # As 0.4.0: --lines 0 prints none of the old output (with --follow: only new output).
    assert harnex.run("logs", "--id", "lg", "--lines", "0", check=True).stdout == ""


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
    # `lines` echoes the --lines asked for, as 0.4.0 (null without it).
    assert snap["lines"] == 2 and snap["ok"] is True and snap["id"] == "pn"
    assert harnex.json("pane", "--id", "pn", "--json", "--lines", "3")["lines"] == 3
    assert harnex.json("pane", "--id", "pn", "--json")["lines"] is None
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

    # 0.4.0 printed "harnex 0.4.0 (date)" for --version, -v and `version`.
    for args in (["--version"], ["-v"], ["version"]):
        assert harnex.run(*args, check=True).stdout == f"harnex {__version__}\n", args


def test_help_command_and_bare_harnex(harnex: Harnex) -> None:
    bare = harnex.run()
    assert bare.returncode == 0 and bare.stdout.startswith("Usage: harnex")
    assert "send" in bare.stdout and "status" in bare.stdout
    assert harnex.run("help", check=True).stdout == bare.stdout
    for command in ("send", "status"):
        shown = harnex.run("help", command, check=True).stdout
        assert shown == harnex.run(command, "--help", check=True).stdout
        assert shown.startswith(f"Usage: harnex {command} ")


def test_recipes_list_and_show(harnex: Harnex) -> None:
    from harnex_tmux.cli.recipes import load_recipes

    recipes = load_recipes()
    assert len(recipes) >= 5 and recipes[0].name.startswith("01_")
    listed = harnex.run("recipes", "list", check=True).stdout
    assert listed.startswith("Recipes:\n\n")
    for recipe in recipes:
        assert f"  {recipe.name}" in listed and recipe.title in listed
    second = recipes[1]
    by_number = harnex.run("recipes", "show", "02", check=True).stdout
    assert by_number == second.text.rstrip("\n") + "\n"
    assert by_number.startswith("## 2. ") and "## 3. " not in by_number
    assert harnex.run("recipes", second.name, check=True).stdout == by_number
    assert harnex.run("recipes", "show", "buddy", check=True).stdout.count("buddy") > 0
    # A 0.4.0 recipe file name finds ours by its words.
    assert harnex.run("recipes", "03_buddy", check=True).stdout == (
        harnex.run("recipes", "show", "buddy", check=True).stdout
    )
    missing = harnex.run("recipes", "show", "no-such-recipe")
    assert missing.returncode == 1 and "no recipe matching" in missing.stderr
    assert harnex.run("recipes", "show").returncode == 1


def test_cli_filter_ignores_case(harnex: Harnex) -> None:
    harnex.start_demo("cased")
    cli = harnex.registry()[0]["cli"]
    assert [r["id"] for r in harnex.json("status", "--json", "--cli", cli.upper())] == ["cased"]
    assert harnex.json("status", "--json", "--cli", "nope") == []


def test_random_id_avoids_ids_in_use() -> None:
    from harnex_tmux.state import _ADJECTIVES, _NOUNS, random_id

    every = [f"{a}-{n}" for a in _ADJECTIVES for n in _NOUNS]
    assert random_id(every[1:]) == every[0]  # the one left
    assert random_id(every).startswith("session-")  # all taken: still a fresh id


def test_state_root_itself_is_private(tmp_path: Path) -> None:
    from harnex_tmux.state import SessionPaths

    root = tmp_path / "fresh-state"
    SessionPaths(root, "k").create_dirs()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
