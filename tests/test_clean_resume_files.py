"""``harnex clean`` and the resume files (card, inbox journal) that ended sessions leave."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from conftest import PYTHON, Harnex, wait_for
from test_worktree import COMMIT_FEATURE, git, repo, start_in_worktree  # noqa: F401

from harnex_tmux.state import SessionPaths


def _files(harnex: Harnex, ident: str) -> list[Path]:
    """The session's resume card and inbox journal, those that exist."""
    paths = SessionPaths.for_session(str(harnex.repo), ident, harnex.state_dir)
    return [p for p in (paths.resume_card, paths.inbox) if p.exists()]


def _ended(harnex: Harnex, ident: str) -> None:
    wait_for(lambda: all(r["id"] != ident for r in harnex.registry()), timeout=30, interval=0.2)


def _demo(harnex: Harnex, ident: str, cwd: Path | None = None) -> dict[str, Any]:
    agent = [PYTHON, "-m", "harnex_tmux.demo_agent", "--busy", "0.1"]
    data: dict[str, Any] = harnex.json(
        "run", "--id", ident, "--detach", agent[0], "--", *agent[1:], cwd=cwd
    )
    harnex.run("wait", "--id", ident, "--until", "prompt", "--timeout", "30", check=True)
    return data


def test_clean_ended_forgets_stopped_and_homeless_sessions_keeps_resumable_and_live(
    harnex: Harnex,
) -> None:
    sub = harnex.repo / "sub"
    sub.mkdir()
    for ident in ("live", "stopped", "crashed", "done"):
        _demo(harnex, ident)
    _demo(harnex, "homeless", cwd=sub)
    for ident in ("live", "stopped", "crashed", "done", "homeless"):
        # A message through the inbox, so every one has a journal to forget.
        harnex.json("send", "--id", ident, "--message", "hello")
    harnex.run("stop", "--id", "stopped", check=True)
    harnex.json("send", "--id", "crashed", "--no-wait", "--message", "/exit 3")
    harnex.json("send", "--id", "done", "--no-wait", "--message", "/exit")
    harnex.json("send", "--id", "homeless", "--no-wait", "--message", "/exit 4")
    for ident in ("stopped", "crashed", "done", "homeless"):
        _ended(harnex, ident)
    shutil.rmtree(sub)
    every = ("live", "stopped", "crashed", "done", "homeless")
    before = {ident: _files(harnex, ident) for ident in every}
    assert all(len(files) == 2 for files in before.values()), before

    # Without --ended, as before: worktrees only (there are none), nothing forgotten.
    plain = harnex.run("clean", check=True)
    assert plain.stdout == f"No harnex worktrees for {harnex.repo}.\n"
    assert {ident: _files(harnex, ident) for ident in every} == before

    outcomes = {o["id"]: o for o in harnex.json("clean", "--ended", "--json")}
    assert set(outcomes) == {"stopped", "crashed", "done", "homeless"}  # never a live one
    assert [outcomes[i]["removed"] for i in ("stopped", "done", "homeless")] == [True] * 3
    assert outcomes["stopped"]["reason"] == "stopped"
    assert outcomes["done"]["reason"] == "the agent exited by itself"
    assert outcomes["homeless"]["reason"] == ("its working directory is gone: it cannot be resumed")
    assert outcomes["crashed"] == {
        "id": "crashed",
        "resume_card": str(before["crashed"][0]),
        "removed": False,
        "reason": "it ended without a stop: harnex resume --id crashed brings it back",
    }
    for ident in ("stopped", "done", "homeless"):
        assert _files(harnex, ident) == []
    assert _files(harnex, "crashed") == before["crashed"]
    assert _files(harnex, "live") == before["live"]
    (row,) = [r for r in harnex.json("status", "--json") if r["id"] == "crashed"]
    assert row["state"] == "resumable"

    kept = harnex.run("clean", "--ended", "--id", "crashed")
    assert kept.returncode == 1
    assert kept.stdout == (
        "kept crashed: it ended without a stop: harnex resume --id crashed brings it back\n"
    )
    gone = harnex.run("clean", "--ended", "--id", "stopped")
    assert (gone.returncode, gone.stderr) == (
        1,
        f"harnex: no ended session 'stopped' in {harnex.repo}\n",
    )


def test_a_removed_worktree_takes_its_sessions_resume_files_along(
    harnex: Harnex,
    repo: Path,  # noqa: F811 - the fixture
) -> None:
    start_in_worktree(harnex, "w1", COMMIT_FEATURE + " && rm notes.txt")
    harnex.json("send", "--id", "w1", "--message", "hello")
    harnex.run("stop", "--id", "w1", check=True)
    paths = SessionPaths.for_session(str(repo), "w1", harnex.state_dir)
    assert paths.resume_card.exists() and paths.inbox.exists()
    kept = harnex.run("clean", "--id", "w1")  # not merged yet: the worktree stays, so do they
    assert kept.returncode == 1 and paths.resume_card.exists() and paths.inbox.exists()
    git(repo, "merge", "-q", "--ff-only", "harnex/w1")
    (outcome,) = harnex.json("clean", "--json")
    assert outcome["removed"] is True
    assert not paths.resume_card.exists() and not paths.inbox.exists()
    assert harnex.run("resume", "--id", "w1").stderr == (
        f"harnex: no session 'w1' to resume in {repo}\n"
    )
