"""Entry point of the sidecar process: ``python -m harnex_tmux.sidecar``.

Started by ``harnex run`` with a launch spec on stdin; it answers with one JSON line on stdout
(``{"ok": true, "record": ...}`` or ``{"ok": false, "error": ...}``) and then serves detached.
``--adopt REGISTRY`` takes over a live session whose sidecar died.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path


def _report(payload: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()
    # Detach from the caller's pipe so it sees EOF and never blocks on us again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def main(argv: list[str]) -> int:
    from harnex_tmux.errors import HarnexError
    from harnex_tmux.launch import LaunchSpec
    from harnex_tmux.sidecar.app import Sidecar

    try:
        if argv[:1] == ["--adopt"] and len(argv) == 2:
            sidecar = Sidecar.adopt(Path(argv[1]))
        else:
            sidecar = Sidecar.launch(LaunchSpec.from_json(sys.stdin.read()))
    except HarnexError as exc:
        _report({"ok": False, "error": str(exc)})
        return 1
    except Exception as exc:
        traceback.print_exc()
        _report({"ok": False, "error": f"sidecar failed to start: {exc}"})
        return 1
    _report({"ok": True, "record": sidecar.record.to_dict()})
    return sidecar.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
