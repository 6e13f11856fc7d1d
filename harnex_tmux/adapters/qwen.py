"""Qwen Code (checked against 0.24.4): the screen as ``files/qwen.toml`` describes it, plus
its hooks (see docs/adapters.md).

Qwen Code reads hooks from its settings files only, and has no flag for one. Unlike Gemini
CLI, which it is built from, it takes a settings file named by an environment variable from
any owner: ``QWEN_CODE_SYSTEM_DEFAULTS_PATH``, the lowest of its settings scopes. Hook lists
are concatenated across scopes, so the user's own hooks keep running beside harnex's. The
session's file is a copy of the system defaults Qwen Code would otherwise read (usually
none) with harnex's hooks appended.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import HookReport, HookTarget
from harnex_tmux.adapters.screen import ScreenAdapter
from harnex_tmux.adapters.settings_files import read_settings, with_command_hooks, write_private

DEFAULTS_VARIABLE = "QWEN_CODE_SYSTEM_DEFAULTS_PATH"
SYSTEM_SETTINGS_VARIABLE = "QWEN_CODE_SYSTEM_SETTINGS_PATH"
SESSION_FILE = "qwen-system-defaults.json"
HOOK_EVENTS = ("UserPromptSubmit", "Stop", "Notification")
# Qwen Code waits for each command hook (in seconds); the sidecar answers in milliseconds,
# and a stopped one must not hold a turn up for long.
HOOK_TIMEOUT_S = 5


class QwenAdapter(ScreenAdapter):
    name = "qwen"
    shipped_rules = "qwen.toml"
    signals = "hooks (UserPromptSubmit, Stop, Notification), screen"
    has_hooks = True
    proves_submit = True

    def session_env(
        self,
        hooks: HookTarget | None,
        env: Mapping[str, str],
        folder: Path,
        auto_accept: bool = False,
    ) -> dict[str, str]:
        """A system-defaults file for this session with harnex's hooks added (see the module
        docstring); nothing when the defaults file in force cannot be read as JSON."""
        if hooks is None:
            return {}
        settings = read_settings(defaults_path(env))
        if settings is None:
            return {}
        settings["hooks"] = with_command_hooks(
            settings.get("hooks"), hooks, "qwen", HOOK_EVENTS, HOOK_TIMEOUT_S
        )
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / SESSION_FILE
        write_private(path, settings)
        return {DEFAULTS_VARIABLE: str(path)}

    def read_hook(self, event: str, payload: Mapping[str, Any]) -> HookReport | None:
        if event == "UserPromptSubmit":
            # "prompt" is the text the model gets: a long paste is whole there, where
            # "submitted_prompt" holds the input line's "[Pasted Content N chars]" marker.
            # After a tool dialog 0.24.4 sends one more with an empty prompt: not a turn.
            text = payload.get("prompt")
            return HookReport("prompt", text) if isinstance(text, str) and text else None
        if event == "Stop":
            reply = payload.get("last_assistant_message")
            return HookReport("turn", reply if isinstance(reply, str) else None)
        if event == "Notification" and payload.get("notification_type") == "permission_prompt":
            message = payload.get("message")
            return HookReport("dialog", message if isinstance(message, str) else None)
        return None


def defaults_path(env: Mapping[str, str]) -> Path:
    """The system-defaults file Qwen Code would read in ``env``: named by its variable, or
    ``system-defaults.json`` beside the system settings file."""
    named = env.get(DEFAULTS_VARIABLE)
    if named:
        return Path(named)
    system = env.get(SYSTEM_SETTINGS_VARIABLE)
    if not system:
        system = (
            "/Library/Application Support/QwenCode/settings.json"
            if sys.platform == "darwin"
            else "/etc/qwen-code/settings.json"
        )
    return Path(system).parent / "system-defaults.json"
