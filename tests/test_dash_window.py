"""``harnex dash --window`` typed in a pane of this test's private tmux server, as a person
inside tmux types it: the dashboard opens in a window of its own, shown at once, and lists
the live sessions (read with capture-pane, as they would see it)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from conftest import Harnex, wait_for


def _windows(harnex: Harnex) -> dict[str, str]:
    """window name -> its flags (``*`` marks the active one)."""
    out = harnex.tmux("list-windows", "-t", "=harnex:", "-F", "#{window_name} #{window_flags}")
    found = {}
    for line in out.stdout.splitlines():
        name, _, flags = line.partition(" ")
        found[name] = flags
    return found


def test_window_opens_the_dashboard_in_its_own_shown_window(harnex: Harnex, tmp_path: Path) -> None:
    harnex.start_demo("listed")
    harnex.run("wait", "--id", "listed", "--until", "prompt", "--timeout", "30", check=True)
    done = tmp_path / "exit-code"
    settings = " ".join(
        f"{k}={shlex.quote(v)}" for k, v in harnex.env.items() if k.startswith("HARNEX_")
    )
    typed = (
        f"cd {shlex.quote(str(harnex.repo))} && env {settings} TERM=xterm-256color "
        f"PYTHONPATH={shlex.quote(harnex.env['PYTHONPATH'])} "
        f"{shlex.quote(sys.executable)} -m harnex_tmux dash --window; "
        f"echo $? > {shlex.quote(str(done))}; exec sleep 600"
    )
    opened = harnex.tmux("new-window", "-t", "=harnex:", "-n", "caller", "sh", "-c", typed)
    assert opened.returncode == 0, opened.stderr

    wait_for(lambda: done.exists() and done.read_text().strip(), timeout=60)
    assert done.read_text().strip() == "0"  # inside tmux nothing is attached: it returns
    windows = wait_for(lambda: (w := _windows(harnex)) and "harnex-dash" in w and w, timeout=30)
    assert "*" in windows["harnex-dash"]  # shown at once

    def screen() -> str:
        out = harnex.tmux("capture-pane", "-p", "-t", "=harnex:harnex-dash")
        return out.stdout

    shown = wait_for(lambda: (text := screen()) and "· 1 idle" in text and text, timeout=60)
    assert any(line.split()[:1] == ["listed"] for line in shown.splitlines())
