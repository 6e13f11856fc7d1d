"""Forgetting ended sessions: their resume card and inbox journal, once nothing needs them.

A session's resume card and inbox journal outlive it so ``harnex resume`` can bring it back
(:mod:`harnex_tmux.resume`). ``harnex clean`` removes them when the session can no longer be
resumed: its worktree was removed (by that clean, or before), or its working directory is
gone. With ``--ended`` it also forgets sessions stopped on purpose (which ``resume --id``
could still start again: the user asked to give that up). A session that runs, or that
ended without a stop (``resume --all`` would bring it back, with the messages still queued
for it), is never forgotten.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harnex_tmux.resume import Ended, cards_of, running
from harnex_tmux.state import SessionPaths, id_key, repo_root_for


@dataclass(frozen=True)
class Forgotten:
    """What ``clean`` did with one ended session's resume card and inbox journal."""

    id: str
    resume_card: str
    removed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        if self.removed:
            return f"forgot {self.id}: its resume card and inbox journal ({self.reason})"
        return f"kept {self.id}: {self.reason}"


def remove_resume_files(paths: SessionPaths) -> bool:
    """Remove a session's resume card, its lock, inbox journal and the journal's reserve;
    whether there was a card."""
    had_card = paths.resume_card.exists()
    inbox = paths.inbox
    for path in (
        paths.resume_card,
        paths.resume_lock,
        inbox,
        inbox.with_name(f".{inbox.name}.reserve"),
    ):
        path.unlink(missing_ok=True)
    return had_card


def judge(ended: Ended, stopped_too: bool) -> Forgotten | None:
    """Whether ``ended`` may be forgotten, and why; None for a session that runs (its
    files are in use: not a question for clean)."""
    if running(ended):
        return None
    card = ended.card
    cwd = str(card.spec.get("cwd") or "")
    where = str(ended.paths.resume_card)
    if cwd and not Path(cwd).is_dir():
        what = "worktree" if card.spec.get("worktree") else "working directory"
        return Forgotten(ended.id, where, True, f"its {what} is gone: it cannot be resumed")
    if not card.ended_on_purpose:
        return Forgotten(
            ended.id,
            where,
            False,
            f"it ended without a stop: harnex resume --id {ended.id} brings it back",
        )
    how = "stopped" if card.stopped else "the agent exited by itself"
    if stopped_too:
        return Forgotten(ended.id, where, True, how)
    return Forgotten(
        ended.id,
        where,
        False,
        f"{how}; harnex resume --id {ended.id} can still start it again (--ended forgets it)",
    )


def forget_ended(
    repo: str | None, ident: str | None = None, stopped_too: bool = False
) -> list[Forgotten]:
    """Judge, and remove where allowed, the resume files of the repo's ended sessions (or
    only ``ident``'s) that have no worktree record: those go with their worktree."""
    repo_root = repo_root_for(repo)
    outcomes = []
    for ended in cards_of(repo_root):
        if ident is not None and id_key(ended.id) != id_key(ident):
            continue
        if ended.paths.worktree.exists():
            continue  # its card goes with its worktree (see the worktree's own clean)
        verdict = judge(ended, stopped_too)
        if verdict is None:
            continue
        if verdict.removed:
            remove_resume_files(ended.paths)
        outcomes.append(verdict)
    return outcomes
