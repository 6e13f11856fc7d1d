"""Codex CLI (checked against 0.169.0 and 0.171.0; see docs/adapters.md for the screens)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from harnex_tmux.adapters.base import HookReport, HookTarget
from harnex_tmux.adapters.screen import ScreenAdapter

NO_ALT_SCREEN_FLAG = "--no-alt-screen"


class CodexAdapter(ScreenAdapter):
    """Codex: the screen as ``files/codex.toml`` describes it, plus its notify hook."""

    name = "codex"
    shipped_rules = "codex.toml"
    signals = "notify hook (turn complete), screen"
    has_hooks = True

    def launch_argv(
        self, command: list[str], hooks: HookTarget | None = None, env: Mapping[str, str] = {}
    ) -> list[str]:
        """Keep the transcript in the normal screen (so pipe-pane and scrollback can read it)
        and have Codex report each finished turn through ``notify``, chaining the user's own
        notify program when their config has one."""
        argv = super().launch_argv(command, hooks, env)
        if NO_ALT_SCREEN_FLAG not in argv[1:]:
            argv.insert(1, NO_ALT_SCREEN_FLAG)
        if hooks is not None and not any("notify" in a for a in argv[1:]):
            notify = [*hooks.command, "codex"]
            users = user_notify(env)
            if users:
                notify += ["--chain", json.dumps(users)]
            argv[2:2] = ["-c", f"notify={json.dumps(notify)}"]
        return argv

    def read_hook(self, event: str, payload: Mapping[str, Any]) -> HookReport | None:
        """Codex's ``notify`` program reports each finished turn with its input and its
        thread: Codex reports its own side calls (titles) too, on threads of their own."""
        if event != "agent-turn-complete":
            return None
        inputs = payload.get("input-messages") or []
        received = str(inputs[-1]) if isinstance(inputs, list) and inputs else ""
        reply = payload.get("last-assistant-message")
        return HookReport(
            "turn",
            reply if isinstance(reply, str) else None,
            received=received,
            thread=str(payload.get("thread-id") or ""),
        )


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
