"""Entry point of the sidecar process: ``python -m harnex_tmux.sidecar``.

Started by ``harnex run`` with a launch spec on stdin; it answers with one JSON line on stdout
(``{"ok": true, "record": ...}`` or ``{"ok": false, "error": ...}``) and then serves detached.
``--early``: started before the spec was known (see :mod:`harnex_tmux.early_sidecar`): it opens its
own log, and ends quietly when no spec comes. ``--adopt REGISTRY`` takes over a live session
whose sidecar died.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _report(payload: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()
    # Detach from the caller's pipe so it sees EOF and never blocks on us again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _log_to(path: Path) -> None:
    """Send our stderr to the session's sidecar log (a sidecar started with ``--early`` did
    not know its session when it started)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    os.dup2(fd, 2)
    os.close(fd)


def main(argv: list[str]) -> int:
    from harnex_tmux.errors import HarnexError
    from harnex_tmux.launch import LaunchSpec
    from harnex_tmux.sidecar.app import Sidecar
    from harnex_tmux.state import SessionPaths

    try:
        if argv[:1] == ["--adopt"] and len(argv) == 2:
            sidecar = Sidecar.adopt(Path(argv[1]))
        else:
            text = sys.stdin.read()
            if not text.strip() and argv == ["--early"]:
                return 0  # started early for a launch that failed before it got here
            spec = LaunchSpec.from_json(text)
            if argv == ["--early"]:
                paths = SessionPaths.for_session(spec.repo_root, spec.id)
                paths.create_dirs()
                _log_to(paths.sidecar_log)
            sidecar = Sidecar.launch(spec)
    except HarnexError as exc:
        _report({"ok": False, "error": str(exc)})
        return 1
    except Exception as exc:
        import traceback  # loaded only when something went wrong

        traceback.print_exc()
        _report({"ok": False, "error": f"sidecar failed to start: {exc}"})
        return 1
    _report({"ok": True, "record": sidecar.record.to_dict()})
    return sidecar.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
