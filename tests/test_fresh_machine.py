"""A new user's first commands: tmux never ran (no socket folder), empty HOME, no state dir.

CI machines have run tmux before, so only a test that builds such a machine sees these bugs.
Each test gets its own ``TMUX_TMPDIR``, so the "default" server it starts is private to it
and is killed by its socket path afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harnex_tmux.errors import HarnexError
from harnex_tmux.tmux import Tmux
from tests.procs import alive

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class FreshMachine:
    env: dict[str, str]
    cwd: Path
    socket_path: Path
    home: Path

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-m", "harnex_tmux", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def fresh() -> Iterator[FreshMachine]:
    # Short, so the socket path stays under the kernel's 108-byte limit.
    base = Path(tempfile.mkdtemp(prefix="hx-fresh-"))
    tmpdir, home, cwd = base / "tmux", base / "home", base / "work"
    for folder in (tmpdir, home, cwd):
        folder.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TMUX", "HARNEX_", "XDG_")) and k != "HOME"
    }
    env.update(TMUX_TMPDIR=str(tmpdir), HOME=str(home), PYTHONPATH=str(ROOT))
    machine = FreshMachine(env, cwd, tmpdir / f"tmux-{os.getuid()}" / "default", home)
    try:
        yield machine
    finally:
        _teardown(machine)
        shutil.rmtree(base, ignore_errors=True)


def _teardown(machine: FreshMachine) -> None:
    sidecars: list[int] = []
    for record in machine.home.glob(".local/state/harnex/sessions/*.json"):
        with contextlib.suppress(OSError, ValueError):
            pid = json.loads(record.read_text()).get("sidecar_pid")
            if isinstance(pid, int):
                sidecars.append(pid)
    if machine.socket_path.exists():
        subprocess.run(
            ["tmux", "-S", str(machine.socket_path), "kill-server"],
            capture_output=True,
            timeout=10,
        )
    deadline = time.monotonic() + 3
    for pid in sidecars:
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_demo_works_first_time_on_a_machine_where_tmux_never_ran(fresh: FreshMachine) -> None:
    assert not fresh.socket_path.parent.exists()
    result = fresh.run("demo", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": delivered" in result.stdout
    assert "exit code 0" in result.stdout
    # tmux insists on a private socket folder.
    assert fresh.socket_path.parent.stat().st_mode & 0o777 == 0o700
    # The state went to the XDG default under the new HOME.
    assert (fresh.home / ".local" / "state" / "harnex").is_dir()


def test_run_status_stop_on_a_machine_where_tmux_never_ran(fresh: FreshMachine) -> None:
    agent = [PYTHON, "-m", "harnex_tmux.demo_agent", "--busy", "0.2"]
    started = fresh.run("run", "--id", "first", "--detach", agent[0], "--", *agent[1:])
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    assert info["id"] == "first"
    waited = fresh.run("wait", "--id", "first", "--until", "prompt", "--timeout", "30")
    assert waited.returncode == 0, waited.stderr
    status = fresh.run("status", "--json")
    assert status.returncode == 0, status.stderr
    assert [s["id"] for s in json.loads(status.stdout)] == ["first"]
    stopped = fresh.run("stop", "--id", "first")
    assert stopped.returncode == 0, stopped.stderr


def test_an_empty_tmux_answer_is_a_one_line_error() -> None:
    tmux = Tmux("/nonexistent/socket")
    with pytest.raises(HarnexError) as caught:
        tmux._placement([])
    assert "tmux could not open a window" in str(caught.value)
    assert "\n" not in str(caught.value)
