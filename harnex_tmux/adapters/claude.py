"""Claude Code (checked against 2.1.332, the pin, and 2.1.197; docs/adapters.md has screens)."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from typing import Any

from harnex_tmux.adapters.base import HookReport, HookTarget
from harnex_tmux.adapters.claude_pastes import unwrap_pastes
from harnex_tmux.adapters.screen import ScreenAdapter
from harnex_tmux.errors import HarnexError

SKIP_PERMISSIONS_FLAG = "--dangerously-skip-permissions"
HOOK_MODE_VARIABLE = "HARNEX_CLAUDE_HOOKS"
# SessionStart takes command hooks only; the others report to the sidecar's URL directly.
COMMAND_HOOK_EVENTS = ("SessionStart", "UserPromptSubmit", "Stop", "Notification")
HTTP_HOOK_EVENTS = ("UserPromptSubmit", "Stop", "Notification")
# Claude waits this long at most for the sidecar's answer (it answers in about a
# millisecond; a stopped sidecar must not hold a turn up for long).
HTTP_HOOK_TIMEOUT_S = 2


class ClaudeAdapter(ScreenAdapter):
    """Claude Code: the screen as ``files/claude.toml`` describes it, plus its hooks."""

    name = "claude"
    shipped_rules = "claude.toml"
    signals = "hooks (http: prompt, stop, notification), screen"
    has_hooks = True
    proves_submit = True

    def launch_argv(
        self, command: list[str], hooks: HookTarget | None = None, env: Mapping[str, str] = {}
    ) -> list[str]:
        """Add per-session hooks through ``--settings`` (never the user's settings files).

        By default Claude Code posts its events to the sidecar itself (``http`` hooks): no
        process starts per event, so a finished turn is reported some 40 ms sooner. While the
        sidecar is down it then shows a one-line hook error per turn and carries on.
        ``HARNEX_CLAUDE_HOOKS=command`` runs harnex's hook script instead (``async``, so
        Claude never waits for it, and silent when the sidecar is gone). A user who passes
        their own ``--settings`` keeps it untouched; the session then reads the screen only.
        """
        argv = super().launch_argv(command, hooks, env)
        if hooks is None or "--settings" in argv[1:]:
            return argv
        if env.get(HOOK_MODE_VARIABLE) == "command":
            settings = _command_hooks(hooks)
        else:
            settings = _http_hooks(hooks)
        return [argv[0], "--settings", json.dumps({"hooks": settings}), *argv[1:]]

    def read_hook(self, event: str, payload: Mapping[str, Any]) -> HookReport | None:
        """Claude Code's hooks. Its reports count as they come, not held against the screen:
        its prompt report is the first sign of a turn, and its permission notification lags
        the dialog it is about (see ``notification`` in :class:`HookReport`)."""
        if event == "UserPromptSubmit":
            # A long paste is reported (and sent to the model) wrapped in tags: the text
            # inside is what was typed (see claude_pastes).
            prompt = unwrap_pastes(str(payload.get("prompt") or ""))
            return HookReport("prompt", prompt, hold=False)
        if event == "Stop":
            return HookReport("turn", _text_or_none(payload.get("last_assistant_message")))
        if event == "Notification":
            text = str(payload.get("message") or "")
            kind = "dialog" if "permission" in text.lower() else "note"
            notification = str(payload.get("notification_type"))
            return HookReport(kind, text, hold=False, notification=notification)
        return None

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


HookSettings = dict[str, list[dict[str, list[dict[str, object]]]]]


def _command_hooks(hooks: HookTarget) -> HookSettings:
    prefix = " ".join(shlex.quote(part) for part in [*hooks.command, "claude"])
    # async: Claude Code does not wait for them, so reporting never slows a turn down.
    return {
        event: [{"hooks": [{"type": "command", "command": f"{prefix} {event}", "async": True}]}]
        for event in COMMAND_HOOK_EVENTS
    }


def _http_hooks(hooks: HookTarget) -> HookSettings:
    hook: dict[str, object] = {
        "type": "http",
        "url": f"{hooks.url}/claude",
        "headers": {"Authorization": f"Bearer ${hooks.token_env}"},
        "allowedEnvVars": [hooks.token_env],
        "timeout": HTTP_HOOK_TIMEOUT_S,
    }
    return {event: [{"hooks": [hook]}] for event in HTTP_HOOK_EVENTS}


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
