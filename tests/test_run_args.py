"""``harnex run``'s command line in the order harnex 0.4.0 scripts wrote it."""

from __future__ import annotations

import json

import pytest
from conftest import Harnex

from harnex_tmux.cli.run import command as run_command
from harnex_tmux.cli.run_args import _options, split_run_args

VALUED, FLAGS = _options(run_command)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # options after the CLI stay harnex's; other words go to the agent
        (
            ["claude", "--id", "a", "--dangerously-skip-permissions", "--model", "opus"],
            ["--id", "a", "claude", "--", "--dangerously-skip-permissions", "--model", "opus"],
        ),
        (["python3", "-u", "-m", "x"], ["python3", "--", "-u", "-m", "x"]),
        # --tmux NAME only when NAME is not the CLI
        (["--tmux", "claude"], ["--tmux=", "claude", "--"]),
        (["--tmux", "w1", "claude"], ["--tmux=w1", "claude", "--"]),
        (
            ["--detach", "--tmux", "python3", "--", "-u"],
            ["--detach", "--tmux=", "python3", "--", "-u"],
        ),
        (["codex", "--id", "w", "--tmux", "w"], ["--id", "w", "--tmux=w", "codex", "--"]),
        (["codex", "--tmux", "--id", "w"], ["--tmux=", "--id", "w", "codex", "--"]),
        (["--tmux=w2", "codex"], ["--tmux=w2", "codex", "--"]),
        # --worktree BRANCH the same way: the branch only when it is not the CLI
        (["--worktree", "codex"], ["--worktree=", "codex", "--"]),
        (["--worktree", "feat", "codex"], ["--worktree=feat", "codex", "--"]),
        (
            ["codex", "--worktree", "--base", "main", "--model", "o3"],
            ["--worktree=", "--base", "main", "codex", "--", "--model", "o3"],
        ),
        (["codex", "--worktree", "feat"], ["--worktree=feat", "codex", "--"]),
        # -- still separates; a harnex-looking word after it is the agent's
        (["claude", "--", "--id", "x"], ["claude", "--", "--id", "x"]),
        # an unknown option before the CLI is left for click to reject
        (["--bogus", "claude"], ["--bogus", "claude", "--"]),
    ],
)
def test_split_run_args(args: list[str], expected: list[str]) -> None:
    assert split_run_args(args, VALUED, FLAGS) == expected


def test_tmux_returns_at_once_and_agent_words_pass_through(harnex: Harnex) -> None:
    """``run CLI --tmux NAME`` with agent words after the CLI: JSON back at once, no wait."""
    result = harnex.run(
        "run",
        "sh",
        "--id",
        "tm",
        "--tmux",
        "tm-window",
        "-c",
        "echo agent-args-arrived; exec sleep 60",
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout)
    assert started["window"] == "tm-window" and started["mode"] == "tmux"
    info = harnex.json("status", "--id", "tm", "--json")[0]
    window = harnex.tmux("display-message", "-p", "-t", info["pane_id"], "#{window_name}")
    assert window.stdout.strip() == "tm-window"
    harnex.run("wait", "--id", "tm", "--until", "prompt", "--timeout", "10")
    assert "agent-args-arrived" in harnex.run("pane", "--id", "tm").stdout


def test_unknown_option_before_the_cli_is_a_usage_error(harnex: Harnex) -> None:
    result = harnex.run("run", "--bogus", "sh")
    assert result.returncode == 2 and "--bogus" in result.stderr


def test_run_help_names_every_shipped_cli() -> None:
    from click.testing import CliRunner

    from harnex_tmux.adapters.screen import SHIPPED_DIR
    from harnex_tmux.cli.run import command

    shown = " ".join(CliRunner().invoke(command, ["--help"]).output.split())
    names = sorted(path.stem for path in SHIPPED_DIR.glob("*.toml"))
    assert len(names) >= 6
    assert f"Start CLI ({', '.join(names)}, or any command)" in shown
