"""``harnex status --tmux``: the segment for tmux's status line, against real sessions."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from conftest import Harnex, wait_for


def test_status_tmux_counts_live_sessions_of_every_repo(harnex: Harnex, tmp_path: Path) -> None:
    assert harnex.run("status", "--tmux", check=True).stdout == "\n"
    harnex.start_demo("idle")
    busy = harnex.start_demo("worker", busy=30)
    harnex.run("wait", "--id", "idle", "--until", "prompt", "--timeout", "20", check=True)
    harnex.run("wait", "--id", "worker", "--until", "prompt", "--timeout", "20", check=True)
    harnex.run("send", "--id", "worker", "--message", "work", check=True)
    harnex.run("wait", "--id", "worker", "--until", "busy", "--timeout", "20", check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # From another folder too: tmux runs the command wherever its server started.
    out = harnex.run("status", "--tmux", cwd=elsewhere, check=True).stdout
    assert out == "1 busy · 1 idle\n"
    os.kill(busy["sidecar_pid"], signal.SIGKILL)
    wait_for(
        lambda: harnex.run("status", "--tmux", check=True).stdout == "1 waiting · 1 idle\n",
        timeout=15,
    )
