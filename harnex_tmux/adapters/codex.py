"""Codex CLI (checked against 0.169.0; see docs/adapters.md for the screens)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from harnex_tmux.adapters.base import HookTarget, State, StopStep
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

    has_hooks = True

    def launch_argv(
        self, command: list[str], hooks: HookTarget | None = None, env: Mapping[str, str] = {}
    ) -> list[str]:
        """Keep the transcript in the normal screen (so pipe-pane and scrollback can read it)
        and have Codex report each finished turn through ``notify``, chaining the user's own
        notify program when their config has one."""
        argv = list(command)
        if NO_ALT_SCREEN_FLAG not in argv[1:]:
            argv.insert(1, NO_ALT_SCREEN_FLAG)
        if hooks is not None and not any("notify" in a for a in argv[1:]):
            notify = [*hooks.command, "codex"]
            users = user_notify(env)
            if users:
                notify += ["--chain", json.dumps(users)]
            argv[2:2] = ["-c", f"notify={json.dumps(notify)}"]
        return argv


def user_notify(env: Mapping[str, str]) -> list[str] | None:
    """The ``notify`` program of the user's own Codex config, if any."""
    import tomllib  # only for a Codex launch: not in every sidecar and CLI

    home = env.get("CODEX_HOME") or os.path.join(env.get("HOME", os.path.expanduser("~")), ".codex")
    try:
        with open(os.path.join(home, "config.toml"), "rb") as handle:
            value = tomllib.load(handle).get("notify")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None
