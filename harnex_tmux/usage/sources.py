"""Where a session's usage is written, learned from what its agent reports about itself.

The hooks of Claude Code, Gemini CLI and Qwen Code carry ``transcript_path``; Codex's
``notify`` carries the thread id, which names its rollout file
(``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl``); OpenCode's event
stream names its session, whose messages are in OpenCode's database; Aider's chat history
file is known from the launch (:func:`at_launch`). A session can have
several (``/clear`` or ``/new`` starts another transcript): all count. The sources are kept
in the session's record, so ``harnex usage`` reads them after it ended.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harnex_tmux.usage.reader import Reader

RECORD_KEY = "usage_sources"


@dataclass(frozen=True)
class Source:
    """One file (or database session) with part of a session's usage."""

    cli: str
    path: str
    session: str | None = None
    # Where this session's part of a file shared with others begins (Aider's chat history).
    offset: int = 0

    def reader(self) -> Reader:
        if self.cli == "aider":
            from harnex_tmux.usage.aider import AiderReader

            return AiderReader(self.path, self.offset)
        if self.cli == "claude":
            from harnex_tmux.usage.claude import ClaudeReader

            return ClaudeReader(self.path)
        if self.cli == "codex":
            from harnex_tmux.usage.codex import CodexReader

            return CodexReader(self.path)
        if self.cli == "gemini":
            from harnex_tmux.usage.gemini import GeminiReader

            return GeminiReader(self.path)
        if self.cli == "qwen":
            from harnex_tmux.usage.qwen import QwenReader

            return QwenReader(self.path)
        from harnex_tmux.usage.opencode import OpenCodeReader

        return OpenCodeReader(self.path, self.session or "")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cli": self.cli, "path": self.path}
        if self.session:
            data["session"] = self.session
        if self.offset:
            data["offset"] = self.offset
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Source | None:
        if not isinstance(data, dict):
            return None
        cli, path, session = data.get("cli"), data.get("path"), data.get("session")
        if cli not in READABLE or not isinstance(path, str) or not path:
            return None
        offset = data.get("offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            offset = 0
        return cls(cli, path, session if isinstance(session, str) else None, offset)


READABLE = ("aider", "claude", "codex", "gemini", "opencode", "qwen")


def at_launch(adapter: str, facts: Mapping[str, Any]) -> Source | None:
    """The source a session has from its start, before its agent reports anything: Aider's
    chat history file (its adapter's ``[reply]`` file), from the size it had at launch."""
    path, offset = facts.get("reply_file"), facts.get("reply_offset")
    if adapter != "aider" or not isinstance(path, str) or not isinstance(offset, int):
        return None
    return Source("aider", path, offset=offset)


def from_record(extra: Mapping[str, Any]) -> list[Source]:
    """The sources a session's record (or exit record) keeps."""
    kept = extra.get(RECORD_KEY)
    found = [Source.from_dict(item) for item in kept] if isinstance(kept, list) else []
    return [source for source in found if source is not None]


def from_hook(
    source: str, event: str, payload: Mapping[str, Any], env: Mapping[str, str]
) -> Source | None:
    """The usage source one hook event (or OpenCode stream event) names, if any."""
    if source in ("claude", "gemini", "qwen"):
        path = payload.get("transcript_path")
        usable = isinstance(path, str) and path.endswith(".jsonl")
        return Source(source, str(path)) if usable else None
    if source == "codex" and event == "agent-turn-complete":
        thread = payload.get("thread-id")
        found = codex_rollout(str(thread), env) if isinstance(thread, str) and thread else None
        return Source("codex", found) if found else None
    if source == "opencode" and event == "message.updated":
        info = payload.get("info")
        if isinstance(info, dict) and info.get("role") == "assistant":
            session = info.get("sessionID")
            if isinstance(session, str) and session:
                from harnex_tmux.usage.opencode import database

                return Source("opencode", database(env), session)
    return None


def codex_home(env: Mapping[str, str]) -> str:
    home = env.get("HOME") or str(Path.home())
    return env.get("CODEX_HOME") or os.path.join(home, ".codex")


def codex_rollout(thread: str, env: Mapping[str, str]) -> str | None:
    """The rollout file of Codex thread ``thread``, or None (a side call's thread has none)."""
    if not all(c.isalnum() or c == "-" for c in thread):
        return None
    pattern = os.path.join(codex_home(env), "sessions", "*", "*", "*", f"rollout-*-{thread}.jsonl")
    found = sorted(glob.glob(pattern))
    return found[-1] if found else None
