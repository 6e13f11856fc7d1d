"""What a sidecar and the CLI load: only the parts of libtmux and the standard library they
use, so a session costs little memory and starts quickly (the figures are in
docs/benchmarks.md; these tests check the imports that produce them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _in_fresh_python(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter (this one has loaded everything already) and return
    what it printed as JSON."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_tmux_commands_load_only_the_libtmux_runner(tmp_path: Path) -> None:
    found = _in_fresh_python(
        "import json, sys\n"
        "from harnex_tmux.tmux import Tmux\n"
        f"answer = Tmux({str(tmp_path / 'no-server')!r})._try('list-sessions')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('libtmux'))\n"
        "import libtmux\n"
        "from libtmux import Pane\n"
        "print(json.dumps({'answer': answer, 'loaded': loaded,\n"
        "    'server': libtmux.Server.__name__, 'pane': Pane.__name__,\n"
        "    'version': libtmux.__version__}))\n"
    )
    assert found["answer"] is None  # a command ran (and failed: no server there)
    loaded = found["loaded"]
    assert isinstance(loaded, list) and "libtmux.common" in loaded
    assert not {"libtmux.server", "libtmux.session", "libtmux.pane", "libtmux.neo"} & set(loaded)
    # The rest of libtmux is still there for anyone in the process who asks for it.
    assert (found["server"], found["pane"]) == ("Server", "Pane")
    assert found["version"]


def test_tmux_runs_the_same_command_line_as_libtmux_server(tmp_path: Path) -> None:
    import libtmux

    from harnex_tmux.tmux import Tmux

    socket = str(tmp_path / "s")
    ours = Tmux(socket)
    ours._try("list-sessions")
    theirs = libtmux.Server(socket_path=socket).cmd("list-sessions")
    assert ours._last_stderr == theirs.stderr
