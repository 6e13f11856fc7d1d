"""Installing the agent skills shipped with harnex into the agent CLIs' skill folders.

The canonical skill files live in the repository's top-level ``skills/`` folder; the package
reaches them as ``harnex_tmux/data/skills`` (a link in a source checkout, real files in a built
wheel), so an installed ``harnex`` always installs the skills of its own version.

Each skill is copied to ``<claude>/skills/<name>/``, and ``<name>`` in Codex's, Gemini CLI's and
Qwen Code's own skill folders is made a relative symlink to that copy, so every agent CLI loads
the same files and an update or removal is done once. All four read the same ``SKILL.md``
format (a folder per skill, YAML front matter with ``name`` and ``description``), as checked
against the pinned releases. OpenCode gets no link: it loads ``~/.claude/skills`` (and a
repository's ``.claude/skills``) itself, and a second copy under its own folder only makes it
warn about a duplicate name. Every directory harnex creates carries a ``.harnex-skill`` marker:
harnex replaces or removes only what it marked, never a skill someone else put there, unless
told ``--force``.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harnex_tmux import __version__
from harnex_tmux.errors import HarnexError, UsageError

MARKER = ".harnex-skill"
SKILL_FILE = "SKILL.md"
# Installed when no name is given, in this order. ``harnex`` is the deprecated alias skill: it
# is installed too so an agent that still knows the old name finds the pointer to the new one.
SKILL_NAMES = ("harnex-dispatch", "harnex-chain", "harnex-buddy", "harnex")
# Names accepted on the command line for a skill. ``harnex`` means harnex-dispatch here, as in
# harnex 0.4.0, whose users type ``harnex skills install harnex`` to get the current playbook.
ALIASES = {
    "harnex": "harnex-dispatch",
    "dispatch": "harnex-dispatch",
    "chain-implement": "harnex-chain",
}


@dataclass(frozen=True)
class Targets:
    """Where skills go: Claude's skills folder (the copies) and the folders of the CLIs that
    get a link to each copy (Codex, Gemini CLI, Qwen Code)."""

    claude: Path
    codex: Path
    gemini: Path
    qwen: Path

    @property
    def links(self) -> dict[str, Path]:
        """The linking CLIs' skill folders by adapter name, in the order reports list them."""
        return {"codex": self.codex, "gemini": self.gemini, "qwen": self.qwen}


@dataclass(frozen=True)
class SkillChange:
    """What one install or uninstall did to one skill, for the command's report."""

    name: str
    action: str  # installed, updated, unchanged, removed, absent
    path: Path
    links: dict[str, Path]

    def describe(self) -> str:
        linked = ", ".join(f"{cli} {link}" for cli, link in self.links.items())
        return f"{self.action} {self.name}: {self.path} (links: {linked})"


# --- finding things ---------------------------------------------------------------------------


def skills_source() -> Path:
    """The folder holding the shipped skills, one sub-folder per skill."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "data" / "skills", package_dir.parent / "skills"):
        if (candidate / SKILL_NAMES[0] / SKILL_FILE).is_file():
            return candidate
    raise HarnexError(f"the skill files are missing from this installation ({package_dir})")


def global_targets(env: Mapping[str, str] | None = None) -> Targets:
    """The user's skill folders: ``~/.claude/skills``, ``~/.codex/skills``,
    ``~/.gemini/skills`` and ``~/.qwen/skills``.

    ``CLAUDE_CONFIG_DIR``, ``CODEX_HOME``, ``GEMINI_CLI_HOME`` (Gemini's stand-in for the home
    folder) and ``QWEN_HOME`` move them, as they move everything else those CLIs read, so the
    skills land where the agents will look for them.
    """
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    claude = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home / ".claude"
    codex = Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else home / ".codex"
    gemini = Path(env.get("GEMINI_CLI_HOME") or home) / ".gemini"
    qwen = Path(env["QWEN_HOME"]) if env.get("QWEN_HOME") else home / ".qwen"
    return Targets(
        claude=claude / "skills",
        codex=codex / "skills",
        gemini=gemini / "skills",
        qwen=qwen / "skills",
    )


def local_targets(repo_root: str | os.PathLike[str]) -> Targets:
    """A repository's own skill folders, which agents started in that repository also load."""
    root = Path(repo_root)
    return Targets(
        claude=root / ".claude" / "skills",
        codex=root / ".codex" / "skills",
        gemini=root / ".gemini" / "skills",
        qwen=root / ".qwen" / "skills",
    )


def resolve_names(names: Iterable[str]) -> list[str]:
    """Skill names to act on: aliases mapped, duplicates dropped; none given means all."""
    wanted = [name.strip() for name in names]
    if not wanted:
        return list(SKILL_NAMES)
    resolved: list[str] = []
    for name in wanted:
        canonical = ALIASES.get(name, name)
        if canonical not in SKILL_NAMES:
            known = ", ".join([*SKILL_NAMES[:-1], *ALIASES])
            raise UsageError(f"unknown skill {name!r}; known: {known}")
        if canonical not in resolved:
            resolved.append(canonical)
    return resolved


# --- ownership --------------------------------------------------------------------------------


def _is_ours(folder: Path) -> bool:
    """A real directory (not a link) carrying harnex's marker."""
    return folder.is_dir() and not folder.is_symlink() and (folder / MARKER).is_file()


def _link_is_ours(link: Path, folder: Path) -> bool:
    """A symlink that points at ``folder`` (dangling is fine: the copy may be gone)."""
    if not link.is_symlink():
        return False
    pointed = Path(os.path.normpath(link.parent / os.readlink(link)))
    return pointed == Path(os.path.normpath(folder))


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _conflicts(names: Sequence[str], targets: Targets) -> list[Path]:
    """Paths in the way that harnex did not create."""
    found: list[Path] = []
    for name in names:
        folder = targets.claude / name
        if _exists(folder) and not _is_ours(folder):
            found.append(folder)
        for links in targets.links.values():
            link = links / name
            if _exists(link) and not _link_is_ours(link, folder):
                found.append(link)
    return found


def _refuse(conflicts: list[Path], verb: str) -> None:
    more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
    raise HarnexError(
        f"{conflicts[0]} was not created by harnex{more}; use --force to {verb} it anyway"
    )


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


# --- install and uninstall --------------------------------------------------------------------


def install(
    names: Iterable[str], targets: Targets, *, force: bool = False, source: Path | None = None
) -> list[SkillChange]:
    """Copy the named skills into ``targets`` and link them for the other CLIs.

    Checks every target before changing any, so a refusal leaves nothing half installed.
    Installing again refreshes the copy and reports ``unchanged`` when nothing differed.
    """
    chosen = resolve_names(names)
    source = source or skills_source()
    conflicts = _conflicts(chosen, targets)
    if conflicts and not force:
        _refuse(conflicts, "replace")
    for folder in (targets.claude, *targets.links.values()):
        folder.mkdir(parents=True, exist_ok=True)
    return [_install_one(name, source / name, targets) for name in chosen]


def _install_one(name: str, src: Path, targets: Targets) -> SkillChange:
    if not (src / SKILL_FILE).is_file():
        raise HarnexError(f"skill {name!r} is missing its {SKILL_FILE} in {src}")
    folder = targets.claude / name
    # Build the new copy beside the old one and swap it in, so an agent reading the folder
    # never sees it half written.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=targets.claude))
    try:
        fresh = staging / name
        shutil.copytree(src, fresh, ignore=shutil.ignore_patterns("__pycache__", MARKER))
        marker = {"installed_by": "harnex-tmux", "skill": name, "version": __version__}
        (fresh / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        existed = _exists(folder)
        same = existed and _is_ours(folder) and _same_tree(fresh, folder)
        if not same:
            if existed:
                _remove(folder)
            fresh.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    links = {cli: links / name for cli, links in targets.links.items()}
    linked = all(_link_is_ours(link, folder) for link in links.values())
    for link in links.values():
        if not _link_is_ours(link, folder):
            if _exists(link):
                _remove(link)
            link.symlink_to(os.path.relpath(folder, link.parent), target_is_directory=True)
    action = "unchanged" if same and linked else ("updated" if existed else "installed")
    return SkillChange(name, action, folder, links)


def _same_tree(left: Path, right: Path) -> bool:
    """Same file names and contents, recursively (what makes a reinstall a no-op)."""
    compared = filecmp.dircmp(left, right)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(left / sub, right / sub) for sub in compared.common_dirs)


def uninstall(names: Iterable[str], targets: Targets, *, force: bool = False) -> list[SkillChange]:
    """Remove the named skills and their links; only what harnex created, unless forced.

    A skill that is not there is reported ``absent``, so running it twice is harmless.
    """
    chosen = resolve_names(names)
    conflicts = _conflicts(chosen, targets)
    if conflicts and not force:
        _refuse(conflicts, "remove")
    changes = []
    for name in chosen:
        folder = targets.claude / name
        links = {cli: links / name for cli, links in targets.links.items()}
        paths = [*links.values(), folder]
        present = any(_exists(path) for path in paths)
        for path in paths:
            if _exists(path):
                _remove(path)
        changes.append(SkillChange(name, "removed" if present else "absent", folder, links))
    return changes
