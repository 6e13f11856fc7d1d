"""``harnex demo``: the newcomer's first command goes through the real machinery."""

from __future__ import annotations

from conftest import Harnex, wait_for


def test_demo_runs_every_step_and_cleans_up(harnex: Harnex) -> None:
    result = harnex.run("demo", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ("[1]", "[2]", "[3]", "[4]", "[5]"):
        assert step in out
    assert "state: prompt" in out
    assert ": delivered" in out
    assert "demo> Hello from harnex!" in out  # the pane capture shows the typed message
    assert "echo: Hello from harnex!" in out  # ... and the agent's answer
    assert "exit code 0" in out
    # The agent's exit is recorded by its pane (what stop waits for) a moment before the
    # sidecar removes the session's registry record.
    wait_for(lambda: harnex.registry() == [], timeout=20, interval=0.1)
    assert "demo" not in harnex.tmux("list-windows", "-a", "-F", "#{window_name}").stdout
