"""``harnex skills install`` against the pinned releases: each CLI finds the harnex skills where
harnex put them, by its own listing (Gemini CLI, OpenCode) or in what it sends the model (Qwen
Code, which lists its skills in the request)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .agents import InstalledAgents, gemini_launch, opencode_launch, qwen_launch
from .mock_gemini import MockGemini
from .mock_openai import MockOpenAI

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
SKILLS = ("harnex-dispatch", "harnex-chain", "harnex-buddy")


def _install(env: dict[str, str], cwd: Path) -> None:
    """``harnex skills install`` with the CLI's own environment (its HOME)."""
    result = subprocess.run(
        [sys.executable, "-m", "harnex_tmux", "skills", "install"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(env, PYTHONPATH=str(REPO_ROOT)),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def test_gemini_lists_the_installed_skills(
    agents: InstalledAgents, mock_gemini: MockGemini, git_repo: Path, tmp_path: Path
) -> None:
    launch = gemini_launch(agents.gemini, mock_gemini.url, tmp_path / "home", git_repo)
    _install(launch.env, git_repo)
    listed = _run([str(agents.gemini), "skills", "list"], launch.env, git_repo)
    assert listed.returncode == 0, listed.stderr
    output = listed.stdout + listed.stderr
    for name in SKILLS:
        assert f"{name} [Enabled]" in output, output
    assert str(launch.home / ".gemini" / "skills" / "harnex-dispatch" / "SKILL.md") in output


def test_opencode_loads_the_claude_copy_once(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> None:
    """OpenCode reads ~/.claude/skills itself: harnex gives it no second copy, so it lists
    each skill once, from there, and warns about no duplicate."""
    launch = opencode_launch(agents.opencode, mock_openai.base_url, tmp_path / "home", git_repo)
    _install(launch.env, git_repo)
    argv = [str(agents.opencode), "debug", "skill", "--print-logs", "--log-level", "WARN"]
    listed = _run(argv, launch.env, git_repo)
    assert listed.returncode == 0, listed.stderr
    found = {skill["name"]: skill["location"] for skill in json.loads(listed.stdout)}
    claude = launch.home / ".claude" / "skills"
    for name in SKILLS:
        assert found.get(name) == str(claude / name / "SKILL.md"), found
    assert "duplicate skill name" not in listed.stderr


def test_qwen_tells_the_model_about_the_installed_skills(
    agents: InstalledAgents, mock_openai: MockOpenAI, git_repo: Path, tmp_path: Path
) -> None:
    launch = qwen_launch(agents.qwen, mock_openai.base_url, tmp_path / "home", git_repo)
    _install(launch.env, git_repo)
    assert os.path.islink(launch.home / ".qwen" / "skills" / "harnex-dispatch")
    answered = _run([str(agents.qwen), "-p", "say hello"], launch.env, git_repo)
    assert answered.returncode == 0, answered.stderr
    turns = [r for r in mock_openai.requests if r.is_user_turn]
    assert turns, [r.path for r in mock_openai.requests]
    sent = turns[0].raw_body.decode("utf-8", errors="replace")
    for name in SKILLS:
        assert name in sent, name
