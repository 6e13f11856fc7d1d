"""What the operations on a session answer, as typed values.

Each ``to_dict`` is the JSON object the CLI prints with ``--json`` and the MCP tool of the
same name returns, field for field and in the same order, so both keep 0.4.0's shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harnex_tmux.state import SessionRecord

EXITED = "exited"
TASK_COMPLETE = "task_complete"


def exit_status(code: int | None) -> int:
    """The agent's exit code as ours; 1 when it is unknown."""
    return code if code is not None and 0 <= code <= 255 else 1


def public_record(record: SessionRecord) -> dict[str, Any]:
    """The registry record without its API token."""
    data = record.to_dict()
    data.pop("token", None)
    return data


@dataclass(frozen=True)
class SessionStatus:
    """A session's record with its live state. ``agent_alive`` is set only when the sidecar
    did not answer (state ``sidecar-down`` or ``unresponsive``); ``inbox`` only when it did."""

    record: SessionRecord
    state: str
    log_mtime: str | None
    log_idle_s: int | None
    inbox: int | None = None
    agent_alive: bool | None = None
    worktree: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    """The session's usage as its sidecar counts it (``Report.to_dict``), when it answered."""
    state_dir_problem: str | None = None
    """Why the sidecar refuses new messages (its state directory is full), when it does."""
    budget: dict[str, Any] | None = None
    """The session's budget and what was spent of it, when it has one and its sidecar
    answered."""

    @property
    def id(self) -> str:
        return self.record.id

    def to_dict(self) -> dict[str, Any]:
        data = public_record(self.record)
        data["log_mtime"] = self.log_mtime
        data["log_idle_s"] = self.log_idle_s
        data["state"] = self.state
        if self.agent_alive is not None:
            data["agent_alive"] = self.agent_alive
        else:
            data["inbox"] = self.inbox
        if self.worktree is not None:
            data["worktree"] = self.worktree
        if self.usage is not None:
            data["usage"] = self.usage
        if self.state_dir_problem is not None:
            data["state_dir_problem"] = self.state_dir_problem
        if self.budget is not None:
            data["budget"] = self.budget
        return data


@dataclass(frozen=True)
class WaitResult:
    """The state a wait reached. ``code`` is the agent's exit code once it ``exited``; a
    ``task_complete`` wait carries the finished turn's message, reply and time."""

    id: str
    state: str
    code: int | None = None
    message_id: str | None = None
    reply: str | None = None
    completed_at: str | None = None

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: the agent's own when the answer is that it exited, as 0.4.0
        did, so ``harnex wait --id X && next-step`` does not go on after a failure."""
        return exit_status(self.code) if self.state == EXITED else 0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": True, "id": self.id, "state": self.state}
        if self.state == EXITED:
            data["code"] = self.code
        elif self.state == TASK_COMPLETE:
            data["message_id"] = self.message_id
            data["reply"] = self.reply
            data["completed_at"] = self.completed_at
        return data


@dataclass(frozen=True)
class KeptWorktree:
    """The worktree and branch a stopped session leaves behind (``harnex clean`` removes
    them later)."""

    path: str | None
    branch: str | None


@dataclass(frozen=True)
class StopResult:
    """How a stopped session ended; ``already_exited`` when it had ended before the stop."""

    id: str
    code: int | None
    signal: int | None
    already_exited: bool = False
    worktree: KeptWorktree | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": True, "id": self.id}
        if self.already_exited:
            data["already_exited"] = True
        data["code"] = self.code
        data["signal"] = self.signal
        if self.worktree is not None:
            data["worktree"] = self.worktree.path
            data["branch"] = self.worktree.branch
        return data
