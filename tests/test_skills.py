"""``harnex skills install|uninstall``: targets, aliases, --local, idempotence, ownership.

Everything runs against a temporary HOME (and a temporary repo for ``--local``), through the
real CLI in a subprocess so exit codes and messages are the ones users see.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harnex_tmux import skills

REPO_ROOT = Path(__file__).resolve().parents[1]
ALL = ["harnex-dispatch", "harnex-chain", "harnex-buddy", "harnex"]
# The variables that move the CLIs' folders; a test's HOME decides them all.
MOVERS = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "QWEN_HOME")
# The CLIs that get a link to the Claude copy, by the folder they read skills from.
LINKED = (".codex", ".gemini", ".qwen")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    for key in MOVERS:
        monkeypatch.delenv(key, raising=False)
    return path


def harnex(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in MOVERS}
    env.update(HOME=str(home), PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "harnex_tmux", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=cwd or home,
        stdin=subprocess.DEVNULL,
    )


def installed(base: Path) -> list[str]:
    folder = base / ".claude" / "skills"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def assert_installed(base: Path, name: str) -> None:
    folder = base / ".claude" / "skills" / name
    source = skills.skills_source() / name / "SKILL.md"
    assert (folder / "SKILL.md").read_text() == source.read_text()
    assert (folder / skills.MARKER).is_file()
    for cli in LINKED:
        link = base / cli / "skills" / name
        assert link.is_symlink(), link
        # Relative, so a repo's links keep working wherever the repo is cloned or moved.
        assert not os.path.isabs(os.readlink(link))
        assert link.resolve() == folder.resolve()
        assert (link / "SKILL.md").read_text() == source.read_text()


def test_shipped_skills_have_front_matter_and_match_the_top_level_folder() -> None:
    source = skills.skills_source()
    for name in ALL:
        text = (source / name / "SKILL.md").read_text()
        assert text == (REPO_ROOT / "skills" / name / "SKILL.md").read_text()
        head, sep, _ = text.removeprefix("---\n").partition("\n---\n")
        assert text.startswith("---\n") and sep, name
        fields = dict(line.split(": ", 1) for line in head.splitlines())
        assert fields["name"] == name
        assert 40 < len(fields["description"]) <= 1024
    deprecated = (source / "harnex" / "SKILL.md").read_text()
    assert "harnex-dispatch" in deprecated and "eprecated" in deprecated


def test_install_everything_globally(home: Path) -> None:
    result = harnex("skills", "install", home=home)
    assert result.returncode == 0, result.stderr
    assert installed(home) == sorted(ALL)
    for name in ALL:
        assert_installed(home, name)
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        ["installed", f"{name}:"] for name in ALL
    ]


def test_install_is_idempotent_and_refreshes_its_own_copy(home: Path) -> None:
    assert harnex("skills", "install", home=home).returncode == 0
    again = harnex("skills", "install", home=home)
    assert again.returncode == 0, again.stderr
    assert [line.split()[0] for line in again.stdout.splitlines()] == ["unchanged"] * 4

    copy = home / ".claude" / "skills" / "harnex-chain"
    (copy / "SKILL.md").write_text("edited by hand\n")
    (copy / "stale.txt").write_text("left over\n")
    (home / ".codex" / "skills" / "harnex-chain").unlink()
    (home / ".qwen" / "skills" / "harnex-chain").unlink()
    refreshed = harnex("skills", "install", "harnex-chain", home=home)
    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.stdout.startswith("updated harnex-chain:")
    assert not (copy / "stale.txt").exists()
    assert_installed(home, "harnex-chain")


def test_aliases(home: Path) -> None:
    result = harnex("skills", "install", "harnex", "dispatch", "chain-implement", home=home)
    assert result.returncode == 0, result.stderr
    # ``harnex`` names harnex-dispatch (as in harnex 0.4.0); each skill is installed once.
    assert installed(home) == ["harnex-chain", "harnex-dispatch"]
    assert len(result.stdout.splitlines()) == 2
    assert harnex("skills", "install", "harnex-buddy", home=home).returncode == 0
    assert installed(home) == ["harnex-buddy", "harnex-chain", "harnex-dispatch"]

    unknown = harnex("skills", "install", "nope", home=home)
    assert unknown.returncode == 2
    assert "unknown skill 'nope'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_local_installs_into_the_repository(home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src" / "deep").mkdir(parents=True)
    result = harnex(
        "skills", "install", "--local", "dispatch", home=home, cwd=repo / "src" / "deep"
    )
    assert result.returncode == 0, result.stderr
    assert installed(repo) == ["harnex-dispatch"]
    assert_installed(repo, "harnex-dispatch")
    assert installed(home) == []

    gone = harnex("skills", "uninstall", "--local", home=home, cwd=repo)
    assert gone.returncode == 0, gone.stderr
    assert installed(repo) == []
    for cli in LINKED:
        assert not os.path.lexists(repo / cli / "skills" / "harnex-dispatch")


def test_refuses_folders_it_did_not_create_unless_forced(home: Path) -> None:
    theirs = home / ".claude" / "skills" / "harnex-buddy"
    theirs.mkdir(parents=True)
    (theirs / "SKILL.md").write_text("someone else's skill\n")

    refused = harnex("skills", "install", home=home)
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "harnex-buddy" in refused.stderr and "--force" in refused.stderr
    # Checked before anything was written: no partial install.
    assert installed(home) == ["harnex-buddy"]
    assert (theirs / "SKILL.md").read_text() == "someone else's skill\n"

    also_uninstall = harnex("skills", "uninstall", "harnex-buddy", home=home)
    assert also_uninstall.returncode == 1
    assert theirs.is_dir()

    forced = harnex("skills", "install", "--force", home=home)
    assert forced.returncode == 0, forced.stderr
    for name in ALL:
        assert_installed(home, name)


@pytest.mark.parametrize("cli", LINKED)
def test_refuses_a_linked_entry_it_did_not_create(home: Path, cli: str) -> None:
    theirs = home / cli / "skills" / "harnex-dispatch"
    theirs.mkdir(parents=True)
    refused = harnex("skills", "install", "dispatch", home=home)
    assert refused.returncode == 1
    assert str(theirs) in refused.stderr
    forced = harnex("skills", "install", "dispatch", "--force", home=home)
    assert forced.returncode == 0, forced.stderr
    assert_installed(home, "harnex-dispatch")


def test_uninstall(home: Path) -> None:
    assert harnex("skills", "install", home=home).returncode == 0
    one = harnex("skills", "uninstall", "chain-implement", home=home)
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("removed harnex-chain:")
    assert installed(home) == ["harnex", "harnex-buddy", "harnex-dispatch"]
    for cli in LINKED:
        assert not os.path.lexists(home / cli / "skills" / "harnex-chain")

    rest = harnex("skills", "uninstall", home=home)
    assert rest.returncode == 0, rest.stderr
    assert installed(home) == []
    for cli in LINKED:
        assert sorted(os.listdir(home / cli / "skills")) == []

    again = harnex("skills", "uninstall", home=home)
    assert again.returncode == 0, again.stderr
    assert [line.split()[0] for line in again.stdout.splitlines()] == ["absent"] * 4


def test_config_dir_variables_move_the_global_targets(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path / "home"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-config"),
        "CODEX_HOME": str(tmp_path / "codex-home"),
        # Gemini CLI's variable stands in for the home folder; Qwen's for ~/.qwen itself.
        "GEMINI_CLI_HOME": str(tmp_path / "gemini-home"),
        "QWEN_HOME": str(tmp_path / "qwen-home"),
    }
    targets = skills.global_targets(env)
    assert targets.claude == tmp_path / "claude-config" / "skills"
    assert targets.codex == tmp_path / "codex-home" / "skills"
    assert targets.gemini == tmp_path / "gemini-home" / ".gemini" / "skills"
    assert targets.qwen == tmp_path / "qwen-home" / "skills"
    changes = skills.install(["dispatch"], targets)
    assert [c.action for c in changes] == ["installed"]
    for folder in targets.links.values():
        link = folder / "harnex-dispatch"
        assert link.resolve() == (targets.claude / "harnex-dispatch").resolve()


def test_bare_skills_shows_its_usage(home: Path) -> None:
    result = harnex("skills", home=home)
    assert result.returncode == 0 and "install" in result.stdout and "uninstall" in result.stdout
