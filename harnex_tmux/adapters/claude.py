"""Claude Code (checked against 2.1.197; see docs/adapters.md for the screens)."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping

from harnex_tmux.adapters.base import State, StopStep
from harnex_tmux.adapters.screen import Dialog, ScreenAdapter
from harnex_tmux.errors import HarnexError

SKIP_PERMISSIONS_FLAG = "--dangerously-skip-permissions"
HOOK_EVENTS = ("SessionStart", "UserPromptSubmit", "Stop", "Notification")


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
    empty_box_is_idle = True
    # The spinner line above the input box while it works ("✢ Catapulting…"); the line left
    # when it is done has no ellipsis ("✻ Brewed for 5s").
    busy_patterns = (r"^\s*[·✢✳✶✻✽*]\s+\S+…",)
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

    has_hooks = True
    proves_submit = True

    def launch_argv(
        self, command: list[str], hook: list[str] | None = None, env: Mapping[str, str] = {}
    ) -> list[str]:
        """Add per-session hooks through ``--settings`` (never the user's settings files).

        A user who passes their own ``--settings`` keeps it untouched; the session then
        falls back to reading the screen.
        """
        argv = list(command)
        if hook is None or "--settings" in argv[1:]:
            return argv
        prefix = " ".join(shlex.quote(part) for part in [*hook, "claude"])
        # async: Claude Code does not wait for them, so reporting never slows a turn down or
        # holds back its idle screen.
        hooks = {
            event: [{"hooks": [{"type": "command", "command": f"{prefix} {event}", "async": True}]}]
            for event in HOOK_EVENTS
        }
        return [argv[0], "--settings", json.dumps({"hooks": hooks}), *argv[1:]]

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
