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

import json
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import HookReport, HookTarget
from harnex_tmux.adapters.gemini import user_settings
from harnex_tmux.adapters.screen import ScreenAdapter

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
        settings = user_settings(defaults_path(env))
        if settings is None:
            return {}
        settings["hooks"] = with_hooks(settings.get("hooks"), hooks)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / SESSION_FILE
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2)
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


def with_hooks(existing: object, hooks: HookTarget) -> dict[str, Any]:
    """The ``hooks`` setting with one harnex command hook added to each event it reports."""
    merged: dict[str, Any] = dict(existing) if isinstance(existing, dict) else {}
    prefix = " ".join(shlex.quote(part) for part in [*hooks.command, "qwen"])
    for event in HOOK_EVENTS:
        ours = {
            "hooks": [
                {
                    "type": "command",
                    "name": f"harnex-{event}",
                    "command": f"{prefix} {event}",
                    "timeout": HOOK_TIMEOUT_S,
                }
            ]
        }
        theirs = merged.get(event)
        merged[event] = [*(theirs if isinstance(theirs, list) else []), ours]
    return merged
