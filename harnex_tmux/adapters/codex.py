"""Codex CLI (checked against 0.169.0; see docs/adapters.md for the screens)."""

from __future__ import annotations

from harnex_tmux.adapters.base import State, StopStep
from harnex_tmux.adapters.screen import Dialog, ScreenAdapter

NO_ALT_SCREEN_FLAG = "--no-alt-screen"


class CodexAdapter(ScreenAdapter):
    name = "codex"
    prompt_glyph = "›"
    idle_markers = ("? for shortcuts", "context left")
    busy_markers = ("esc to interrupt",)
    dialogs = (
        Dialog(State.TRUST, (r"Trust this folder\?|Do you trust the files in this folder",)),
        Dialog(State.CONFIRMATION, (r"Would you like to (run|make|apply)[^\n]*\?",)),
        Dialog(State.CONFIRMATION, (r"Allow (Codex|command)[^\n]*\?",)),
    )
    stop_steps = (
        StopStep(text="/quit", wait_s=0.0),
        StopStep(keys=("Enter",), wait_s=3.0),
        StopStep(keys=("C-c",), wait_s=0.5),
        StopStep(keys=("C-c",), wait_s=1.5),
    )

    def launch_argv(self, command: list[str]) -> list[str]:
        """Keep the transcript in the normal screen so pipe-pane and scrollback can read it."""
        argv = list(command)
        if NO_ALT_SCREEN_FLAG not in argv[1:]:
            argv.insert(1, NO_ALT_SCREEN_FLAG)
        return argv
