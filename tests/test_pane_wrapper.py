"""The pane wrapper (harnex_tmux.tmux._PANE_WRAPPER) run by hand, without tmux: what it
starts besides the agent, and what it leaves behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harnex_tmux.tmux import _PANE_WRAPPER, write_env_file


def _logging_tool(folder: Path, name: str, log: Path, real: str | None) -> Path:
    tool = folder / name
    run_real = f'exec {real} "$@"' if real else "exit 0"
    tool.write_text(f'#!/bin/sh\necho {name} >>"{log}"\n{run_real}\n')
    tool.chmod(0o755)
    return tool


def test_only_builtins_run_before_the_agent(tmp_path: Path) -> None:
    """The sidecar takes the wrapper's first child that is not the gate's tmux for the
    agent: any other program started before the agent (an ``rm``, say) would be taken for
    it. Run with a PATH holding only what the wrapper may use after the agent, it must start
    nothing else, and leave the env file it read empty."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "order.log"
    for name in ("date", "mv"):
        real = subprocess.run(["which", name], capture_output=True, text=True).stdout.strip()
        _logging_tool(bin_dir, name, log, real)
    fake_tmux = _logging_tool(tmp_path, "tmux", log, None)
    agent = tmp_path / "agent"
    agent.write_text(f'#!/bin/sh\necho "agent $SECRET_VALUE" >>"{log}"\nexit 3\n')
    agent.chmod(0o755)
    env_file = tmp_path / "launch.env"
    write_env_file(env_file, {"SECRET_VALUE": "s3cret", "PATH": str(bin_dir)})
    exits = tmp_path / "exit.json"

    wrapper_args = [str(exits), json.dumps("w1"), str(fake_tmux), str(tmp_path / "sock"), "gate"]
    done = subprocess.run(
        ["/bin/sh", "-c", _PANE_WRAPPER, "harnex-pane", *wrapper_args, str(env_file), str(agent)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.stderr == ""
    assert done.returncode == 3
    assert log.read_text().split("\n")[:2] == ["tmux", "agent s3cret"]
    assert env_file.read_text() == "", "the secrets are gone once read"
    assert json.loads(exits.read_text())["code"] == 3
