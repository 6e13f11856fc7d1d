"""The resume card: what it takes to continue a session after its tmux server, the machine
or the agent went away (``resume/<key>.json``, kept after the session ends).

The sidecar writes it when the session starts (the launch as given: command line, working
directory or worktree, description, watch settings, spawner), adds the CLI's own
conversation id as soon as the agent's hooks or event stream name it, and marks it stopped
when the session was stopped on purpose. ``harnex resume`` reads it.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.state import read_json, utc_now, write_private

# Payload fields that name the CLI's conversation: Claude Code, Gemini CLI and Qwen Code
# (session_id), OpenCode (sessionID). Codex's thread comes through the hook desk, which
# tells the user's thread from its side calls' (see HookDesk.on_conversation).
CONVERSATION_FIELDS = ("session_id", "sessionID", "sessionId")


def conversation_in(payload: dict[str, Any]) -> str | None:
    """The conversation id a hook or stream event carries, if any."""
    for name in CONVERSATION_FIELDS:
        value = payload.get(name)
        if isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable():
            return value
    return None


@dataclass
class ResumeCard:
    """``spec`` is the LaunchSpec as JSON (without the first prompt, delivered already)."""

    spec: dict[str, Any]
    conversation: str | None = None
    started_at: str = field(default_factory=utc_now)
    ended_at: str | None = None
    stopped: bool = False
    # The agent's exit code: 0 is an end it chose (asked to exit), not one to resume.
    exit_code: int | None = None

    @property
    def id(self) -> str:
        return str(self.spec.get("id") or "")

    @classmethod
    def load(cls, path: Path) -> ResumeCard | None:
        data = read_json(path)
        if data is None or not isinstance(data.get("spec"), dict):
            return None
        return cls(
            spec=data["spec"],
            conversation=data.get("conversation")
            if isinstance(data.get("conversation"), str)
            else None,
            started_at=str(data.get("started_at") or ""),
            ended_at=data.get("ended_at") if isinstance(data.get("ended_at"), str) else None,
            stopped=data.get("stopped") is True,
            exit_code=data.get("exit_code") if isinstance(data.get("exit_code"), int) else None,
        )

    @property
    def ended_on_purpose(self) -> bool:
        """Stopped with ``harnex stop``, or the agent exited cleanly by itself."""
        return self.stopped or self.exit_code == 0

    def save(self, path: Path) -> None:
        """Written whole through a new file; on a full disk the previous card stays."""
        with contextlib.suppress(OSError):
            write_private(path, json.dumps(asdict(self), indent=2) + "\n")
