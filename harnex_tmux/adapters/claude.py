"""Claude Code (checked against 2.1.197; see docs/adapters.md for the screens)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from harnex_tmux.adapters.base import State, StopStep
from harnex_tmux.adapters.screen import Dialog, ScreenAdapter
from harnex_tmux.errors import HarnexError

SKIP_PERMISSIONS_FLAG = "--dangerously-skip-permissions"


class ClaudeAdapter(ScreenAdapter):
    name = "claude"
    prompt_glyph = "❯"
    idle_markers = (
        "? for shortcuts",
        "bypass permissions on",
        "accept edits on",
        "plan mode on",
    )
    busy_markers = ("esc to interrupt",)
    dialogs = (
        Dialog(State.TRUST, (r"trust this folder|project you created or one you trust",)),
        Dialog(State.CONFIRMATION, (r"custom API key", r"use this API key")),
        Dialog(State.CONFIRMATION, (r"Bypass Permissions mode", r"Yes, I accept")),
        Dialog(State.CONFIRMATION, (r"Do you want to [^\n]*\?", r"1\. Yes")),
    )
    stop_steps = (
        StopStep(text="/exit", wait_s=0.0),
        StopStep(keys=("Enter",), wait_s=3.0),
        StopStep(keys=("C-c",), wait_s=0.5),
        StopStep(keys=("C-c",), wait_s=1.5),
    )

    def preflight(self, command: list[str], env: Mapping[str, str]) -> None:
        """As root, Claude Code refuses its skip-permissions flag unless told it is sandboxed:
        say so now instead of leaving a dead pane behind."""
        if SKIP_PERMISSIONS_FLAG not in command[1:]:
            return
        if os.geteuid() == 0 and env.get("IS_SANDBOX") not in ("1", "true", "yes"):
            raise HarnexError(
                f"claude refuses {SKIP_PERMISSIONS_FLAG} when run as root unless IS_SANDBOX=1 "
                "is set (do that only inside a sandbox)"
            )
