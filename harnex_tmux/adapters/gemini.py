"""Gemini CLI (checked against 0.61.0; see docs/adapters.md for the screens and the wiring).

Per-session hooks: Gemini CLI reads hooks only from settings files, and the only settings
file a session can point it at (``GEMINI_CLI_SYSTEM_SETTINGS_PATH``) is ignored unless root
owns it and every folder above it. So the session gets its own Gemini home instead
(``GEMINI_CLI_HOME``): a private folder whose ``.gemini`` links every entry of the user's
own ``~/.gemini`` (credentials, chats, history, extensions, trusted folders) except
``settings.json``, which is a copy of the user's settings with harnex's hooks added.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import HookReport, HookTarget
from harnex_tmux.adapters.screen import ScreenAdapter
from harnex_tmux.adapters.settings_files import read_settings, with_command_hooks, write_private

HOME_VARIABLE = "GEMINI_CLI_HOME"
TRUSTED_FOLDERS_VARIABLE = "GEMINI_CLI_TRUSTED_FOLDERS_PATH"
TRUST_VARIABLE = "GEMINI_CLI_TRUST_WORKSPACE"
SETTINGS = "settings.json"
HOOK_EVENTS = ("SessionStart", "BeforeAgent", "AfterAgent", "Notification")
# Gemini CLI waits for each hook (they may block a turn); the sidecar answers in
# milliseconds, and a stopped one must not hold a turn up for long.
HOOK_TIMEOUT_MS = 5000
# How much of the end of the chat file is read for the reply of the turn that just ended.
TRANSCRIPT_TAIL_BYTES = 1 << 20


class GeminiAdapter(ScreenAdapter):
    """Gemini CLI: the screen as ``files/gemini.toml`` describes it, plus its hooks."""

    name = "gemini"
    shipped_rules = "gemini.toml"
    signals = "hooks (BeforeAgent, AfterAgent, Notification), screen"
    has_hooks = True
    proves_submit = True

    def session_env(
        self,
        hooks: HookTarget | None,
        env: Mapping[str, str],
        folder: Path,
        auto_accept: bool = False,
    ) -> dict[str, str]:
        """A Gemini home for this session whose settings add harnex's hooks (see the module
        docstring). Nothing is wired when the user's settings cannot be read as JSON (their
        file must stay in force as it is), or when they already start Gemini CLI with a
        settings file of their own choosing.

        ``--auto-accept`` uses Gemini CLI's own switch for trusting the folder for the
        session (no dialog): answered by key in the first moments, the dialog saves the
        trust but 0.61.0 then skips its restart, and hooks stay off in a folder it did not
        trust at start."""
        added = {TRUST_VARIABLE: "true"} if auto_accept else {}
        if hooks is None or "GEMINI_CLI_SYSTEM_SETTINGS_PATH" in env:
            return added
        user_dir = user_gemini_dir(env)
        settings = read_settings(user_dir / SETTINGS)
        if settings is None:
            return added
        settings["hooks"] = with_command_hooks(
            settings.get("hooks"), hooks, "gemini", HOOK_EVENTS, HOOK_TIMEOUT_MS
        )
        overlay = folder / ".gemini"
        if overlay.exists():
            keep_new_entries(overlay, user_dir)
            shutil.rmtree(overlay)
        overlay.mkdir(parents=True, mode=0o700)
        if user_dir.is_dir():
            for entry in user_dir.iterdir():
                if entry.name != SETTINGS:
                    (overlay / entry.name).symlink_to(entry)
        write_private(overlay / SETTINGS, settings)
        added[HOME_VARIABLE] = str(folder)
        if TRUSTED_FOLDERS_VARIABLE not in env:
            # Trust given in a session lands in the user's own file, even one not there yet.
            added[TRUSTED_FOLDERS_VARIABLE] = str(user_dir / "trustedFolders.json")
        return added

    def read_hook(self, event: str, payload: Mapping[str, Any]) -> HookReport | None:
        if event == "BeforeAgent":
            return HookReport("prompt", str(payload.get("prompt") or ""))
        if event == "AfterAgent":
            reply = last_reply(payload.get("transcript_path"))
            if reply is None:
                # 0.61.0 builds this from every streamed chunk as well as the whole text, so
                # it repeats pieces of a reply that came in more than one chunk.
                reply = _text(payload.get("prompt_response"))
            return HookReport("turn", reply)
        if event == "Notification" and payload.get("notification_type") == "ToolPermission":
            return HookReport("dialog", _text(payload.get("message")))
        return None


def keep_new_entries(overlay: Path, user_dir: Path) -> None:
    """What Gemini CLI created in a session's home that the user's own ``.gemini`` lacked
    (its first chats folder, its project list) moves there, as it would have gone without
    harnex: a later session, or ``harnex resume`` continuing a chat, finds it."""
    try:
        entries = [e for e in overlay.iterdir() if e.name != SETTINGS and not e.is_symlink()]
    except OSError:
        return
    for entry in entries:
        target = user_dir / entry.name
        if target.exists() or target.is_symlink():
            continue
        try:
            user_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.move(str(entry), str(target))
        except OSError:
            continue


def user_gemini_dir(env: Mapping[str, str]) -> Path:
    """The user's own ``.gemini`` folder, as Gemini CLI would find it in ``env``."""
    home = env.get(HOME_VARIABLE) or env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".gemini"


def last_reply(transcript: object) -> str | None:
    """The text of the last model message in Gemini CLI's chat file (JSON lines)."""
    if not isinstance(transcript, str) or not transcript:
        return None
    try:
        with open(transcript, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - TRANSCRIPT_TAIL_BYTES))
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("type") == "user":
            return None  # the turn gave no text reply
        if isinstance(record, dict) and record.get("type") == "gemini":
            content = record.get("content")
            if isinstance(content, str) and content:
                return content
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
