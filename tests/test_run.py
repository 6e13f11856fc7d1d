"""``harnex run``: placement, environment, registry, and refusals."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
from pathlib import Path

import pytest
from conftest import PYTHON, Harnex, wait_for

from harnex_tmux.ports import preferred_port


def test_detach_prints_session_and_writes_private_registry(harnex: Harnex) -> None:
    info = harnex.start_demo("impl-1")
    for field in (
        "id",
        "cli",
        "pid",
        "port",
        "pane_id",
        "window_id",
        "tmux_session",
        "sidecar_pid",
        "output_log_path",
        "events_log_path",
    ):
        assert info[field], field
    assert info["id"] == "impl-1" and info["tmux_session"] == "harnex"
    (record,) = harnex.registry()
    assert record["token"] and len(record["token"]) == 32
    assert record["pane_id"] == info["pane_id"]
    reg = next((harnex.state_dir / "sessions").glob("*.json"))
    assert stat.S_IMODE(reg.stat().st_mode) == 0o600
    assert stat.S_IMODE((harnex.state_dir / "sessions").stat().st_mode) == 0o700
    windows = harnex.tmux("list-windows", "-t", "harnex", "-F", "#{window_id} #{window_name}")
    assert f"{info['window_id']} impl-1" in windows.stdout
    events = [json.loads(x) for x in Path(info["events_log_path"]).read_text().splitlines()]
    assert events[0]["type"] == "started" and events[0]["pid"] == info["pid"]


def test_tmux_name_sets_window_name(harnex: Harnex) -> None:
    info = harnex.start_demo("w1", "--tmux", "custom-name")
    out = harnex.tmux("display-message", "-p", "-t", info["pane_id"], "#{window_name}")
    assert out.stdout.strip() == "custom-name"


TRICKY = 'it\'s $(touch pwned) `id` "quoted" \\ ünï 🚀\nsecond line; rc=1'


def test_agent_environment(harnex: Harnex, tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    dump = tmp_path / "dump_env.py"
    dump.write_text(
        "import json, os, sys\n"
        "with open(sys.argv[1] + '.tmp', 'w') as f:\n"
        "    json.dump(dict(os.environ), f)\n"
        "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    )
    info = harnex.start(
        "envy",
        command=["sh", "-c", f'{PYTHON} {dump} "$0"; exec sleep 60', str(env_file)],
        env={"HARNEX_TEST_TRICKY": TRICKY, "_hx_rc": "mine"},
    )
    env = json.loads(wait_for(lambda: env_file.exists() and env_file.read_text()))
    # Values arrive byte for byte (they pass through a file the pane sources, not tmux's
    # command line), and the pane's own variables do not clobber the agent's.
    assert env["HARNEX_TEST_TRICKY"] == TRICKY and env["_hx_rc"] == "mine"
    assert not (harnex.repo / "pwned").exists()
    assert not list((harnex.state_dir / "sidecar").glob("*.env")), "the env file is removed"
    assert env["HARNEX_ID"] == "envy"
    assert env["HARNEX_SESSION_CLI"] == "sh"
    assert env["HARNEX_SESSION_REPO_ROOT"] == str(harnex.repo)
    assert len(env["HARNEX_SESSION_ID"]) == 16
    assert "HARNEX_SPAWNER_PANE" not in env
    assert env["HARNEX_STATE_DIR"] == str(harnex.state_dir)
    assert env["TMUX_PANE"] == info["pane_id"]
    # Only agents whose own hooks post to the API get the token they authenticate with
    # (Claude Code: tests/e2e); a plain program has no use for it.
    (record,) = harnex.registry()
    assert "HARNEX_HOOK_TOKEN" not in env
    assert record["token"] not in "\n".join(env.values())


def test_run_from_inside_tmux_uses_callers_session_and_sets_spawner(
    harnex: Harnex, tmp_path: Path
) -> None:
    env_file = tmp_path / "child-env.txt"
    script = tmp_path / "spawn.sh"
    script.write_text(
        f'cd "{harnex.repo}" && {PYTHON} -m harnex_tmux run --id child --detach '
        f"sh -- -c 'env > \"$0\"; exec sleep 60' {env_file} > {tmp_path}/out.json 2>&1\n"
        "exec sleep 60\n"
    )
    env = {k: v for k, v in harnex.env.items() if k != "HARNEX_TMUX_SOCKET"}
    harnex.tmux("-f", "/dev/null", "new-session", "-d", "-s", "caller", "-x", "120", "-y", "40")
    for key, value in env.items():
        harnex.tmux("set-environment", "-g", key, value)
    harnex.tmux("respawn-pane", "-k", "-t", "caller", f"sh {script}")
    caller_pane = harnex.tmux("display-message", "-p", "-t", "caller", "#{pane_id}").stdout.strip()
    text = wait_for(lambda: env_file.exists() and env_file.read_text(), timeout=20)
    child_env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert child_env["HARNEX_SPAWNER_PANE"] == caller_pane
    windows = harnex.tmux("list-windows", "-t", "caller", "-F", "#{window_name}").stdout.split()
    assert "child" in windows
    assert harnex.tmux("has-session", "-t", "=harnex").returncode != 0


def test_child_env_has_description_and_inbox_ttl_default_comes_from_env(
    harnex: Harnex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "env.txt"
    command = ["sh", "-c", 'env > "$0"; exec sleep 60', str(env_file)]
    harnex.start("described", "--description", "the task", command=command)
    text = wait_for(lambda: env_file.exists() and env_file.read_text(), timeout=20)
    child_env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert child_env["HARNEX_DESCRIPTION"] == "the task"
    other = tmp_path / "env2.txt"
    harnex.start("plain", command=["sh", "-c", 'env > "$0"; exec sleep 60', str(other)])
    text = wait_for(lambda: other.exists() and other.read_text(), timeout=20)
    assert "HARNEX_DESCRIPTION=" not in text
    # HARNEX_INBOX_TTL is the default of --inbox-ttl, as in 0.4.0.
    from harnex_tmux.cli.run import command as run_command

    assert run_command.make_context("run", ["sh"]).params["inbox_ttl"] == 120.0
    monkeypatch.setenv("HARNEX_INBOX_TTL", "7.5")
    assert run_command.make_context("run", ["sh"]).params["inbox_ttl"] == 7.5
    assert run_command.make_context("run", ["--inbox-ttl", "9", "sh"]).params["inbox_ttl"] == 9


def test_duplicate_live_id_is_refused(harnex: Harnex) -> None:
    harnex.start_demo("dup")
    before = harnex.tmux("list-windows", "-a").stdout.count("\n")
    result = harnex.run("run", "--id", "dup", "--detach", "sleep", "--", "60")
    assert result.returncode == 1
    assert "already running" in result.stderr
    assert result.stderr.count("\n") == 1
    assert harnex.tmux("list-windows", "-a").stdout.count("\n") == before


def test_agent_binary_not_found(harnex: Harnex) -> None:
    result = harnex.run("run", "--id", "nope", "--detach", "no-such-agent-binary-xyz")
    assert result.returncode == 1
    assert result.stderr.strip() == "harnex: agent command not found: no-such-agent-binary-xyz"
    assert harnex.tmux("list-sessions").returncode != 0  # no server, no window
    assert harnex.registry() == []


def test_cwd_starts_the_agent_there_and_a_missing_folder_starts_nothing(
    harnex: Harnex, tmp_path: Path
) -> None:
    """``--cwd DIR`` (``~`` expanded) instead of the current folder; a folder that is not
    there is one line, exit 1, and no window, sidecar or record."""
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    env = dict(harnex.env, HOME=str(home))
    demo = [PYTHON, "--", "-m", "harnex_tmux.demo_agent"]
    result = harnex.run("run", "--id", "cw", "--detach", "--cwd", "~/work", *demo, env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert os.readlink(f"/proc/{data['pid']}/cwd") == str(home / "work")
    # Its session belongs to the folder's repository (here the folder), as if run from there.
    harnex.run("stop", "--id", "cw", check=True, env=env, cwd=home / "work")
    missing = harnex.run("run", "--id", "cw2", "--detach", "--cwd", str(tmp_path / "nope"), *demo)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"harnex: no folder '{tmp_path / 'nope'}' to start in (--cwd)"
    assert harnex.registry() == []
    windows = harnex.tmux("list-windows", "-a", "-F", "#{window_name}").stdout.split()
    assert "cw2" not in windows


def test_tmux_missing(harnex: Harnex, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = dict(harnex.env, PATH=str(bin_dir))
    result = harnex.run("run", "--id", "x", "--detach", "sleep", env=env)
    assert result.returncode == 1
    assert "tmux not found" in result.stderr
    assert result.stderr.count("\n") == 1


def test_port_taken_walks_forward(harnex: Harnex) -> None:
    # Block the preferred port of an id; one whose port another process holds is passed
    # over (it could free that port before harnex looks).
    for n in range(20):
        ident = f"porty{n}"
        port = preferred_port(str(harnex.repo), ident, 43000, 4000)
        blocker = socket.socket()
        try:
            blocker.bind(("127.0.0.1", port))
            blocker.listen(1)
            break
        except OSError:
            blocker.close()
    else:
        pytest.fail("no id with a free preferred port to block")
    try:
        info = harnex.start_demo(ident)
        assert info["port"] != port
        assert 43000 <= info["port"] < 47000
    finally:
        blocker.close()


def test_explicit_port_taken_is_an_error(harnex: Harnex) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        result = harnex.run(
            "run", "--id", "p2", "--detach", "--port", str(port), "sleep", "--", "9"
        )
        assert result.returncode == 1
        assert f"port {port}" in result.stderr and "not available" in result.stderr
        assert harnex.registry() == []
        assert "p2" not in harnex.tmux("list-windows", "-a", "-F", "#{window_name}").stdout
    finally:
        blocker.close()


def test_agent_that_exits_immediately(harnex: Harnex) -> None:
    info = harnex.start("quick", command=["sh", "-c", "echo bye-now; exit 3"])
    waited = harnex.run("wait", "--id", "quick", "--timeout", "10")
    assert waited.returncode == 3, waited.stderr  # the agent's own exit code, as 0.4.0
    assert json.loads(waited.stdout)["code"] == 3
    # Waiting again on the ended session gives the same answer.
    again = harnex.run("wait", "--id", "quick", "--timeout", "10")
    assert again.returncode == 3 and json.loads(again.stdout)["code"] == 3
    exit_file = next((harnex.state_dir / "exits").glob("*quick.json"))
    data = json.loads(exit_file.read_text())
    assert data["code"] == 3 and data["signal"] is None and data["id"] == "quick"
    wait_for(lambda: not harnex.registry())
    # The pane stays for inspection after the exit ...
    pane = harnex.json("pane", "--id", "quick", "--json")
    assert "bye-now" in pane["text"] and pane["state"] == "exited"
    # ... until stop cleans it up.
    stopped = harnex.json("stop", "--id", "quick")
    assert stopped["already_exited"] is True
    assert info["window_id"] not in harnex.tmux("list-windows", "-a", "-F", "#{window_id}").stdout


def test_foreground_run_returns_agent_exit_code(harnex: Harnex) -> None:
    result = harnex.run("run", "--id", "fg", "sh", "--", "-c", "sleep 0.3; exit 7", timeout=30)
    assert result.returncode == 7, result.stderr


def test_unknown_adapter_is_usage_error(harnex: Harnex) -> None:
    result = harnex.run("run", "--cli", "nonesuch", "--detach", "sleep")
    assert result.returncode == 2
    assert "unknown --cli" in result.stderr


def test_state_dir_layout_permissions(harnex: Harnex) -> None:
    harnex.start_demo("perm")
    for sub in ("sessions", "output", "events", "exits", "sidecar"):
        mode = stat.S_IMODE((harnex.state_dir / sub).stat().st_mode)
        assert mode == 0o700, sub
    for path in harnex.state_dir.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert os.environ["HARNEX_STATE_DIR"] == str(harnex.state_dir)
