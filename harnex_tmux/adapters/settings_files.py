"""Settings files of CLIs that take their hooks only from settings (Gemini CLI, Qwen Code).

Both read JSON with comments, both keep hook lists per event in the same shape, and a session
gets its own private copy of the settings with harnex's hooks added; the user's own files are
never edited.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import HookTarget


def read_settings(path: Path) -> dict[str, Any] | None:
    """The settings in ``path`` (an empty object when there is no file), or None when the
    file is there but not a JSON object: it must then stay in force as it is. Comments,
    which both CLIs allow, are removed first."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError:
        return None
    try:
        value = json.loads(_without_comments(text))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _without_comments(text: str) -> str:
    """JSON with ``//`` and ``/* */`` comments outside strings removed."""
    pattern = r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/'
    return re.sub(pattern, lambda m: m.group(1) or "", text, flags=re.DOTALL)


def with_command_hooks(
    existing: object, hooks: HookTarget, source: str, events: Sequence[str], timeout: int
) -> dict[str, Any]:
    """A ``hooks`` setting with one harnex command hook (``hook.py <source> <Event>``) added
    after the user's own for each of ``events``; ``timeout`` is in the CLI's own unit."""
    merged: dict[str, Any] = dict(existing) if isinstance(existing, dict) else {}
    prefix = " ".join(shlex.quote(part) for part in [*hooks.command, source])
    for event in events:
        ours = {
            "hooks": [
                {
                    "type": "command",
                    "name": f"harnex-{event}",
                    "command": f"{prefix} {event}",
                    "timeout": timeout,
                }
            ]
        }
        theirs = merged.get(event)
        merged[event] = [*(theirs if isinstance(theirs, list) else []), ours]
    return merged


def write_private(path: Path, settings: dict[str, Any]) -> None:
    """Write ``settings`` to a new file only its owner can read (it names the hook command)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(settings, handle, indent=2)
