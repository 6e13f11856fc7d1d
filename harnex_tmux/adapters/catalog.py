"""Which adapters exist: the shipped ones, and adapter files added by the user or the repo.

Adapter files are read from, in order (a later file of the same name wins):

1. ``adapters/files/`` inside the package (Claude Code, Codex, Gemini CLI, OpenCode, Qwen Code);
2. ``$XDG_CONFIG_HOME/harnex/adapters/`` (default ``~/.config/harnex/adapters/``);
3. ``<repo>/.harnex/adapters/`` of the repository a session runs in.

A file for a CLI that also has code (hooks) replaces only its screen rules; the code stays.
A file that cannot be used is reported and skipped: it never breaks other CLIs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harnex_tmux.adapters.base import Adapter
from harnex_tmux.adapters.claude import ClaudeAdapter
from harnex_tmux.adapters.codex import CodexAdapter
from harnex_tmux.adapters.gemini import GeminiAdapter
from harnex_tmux.adapters.generic import GenericAdapter
from harnex_tmux.adapters.opencode import OpenCodeAdapter
from harnex_tmux.adapters.qwen import QwenAdapter
from harnex_tmux.adapters.rules import ScreenRules, load_rules
from harnex_tmux.adapters.screen import SHIPPED_DIR, ScreenAdapter
from harnex_tmux.errors import AdapterFileError, UsageError

# CLIs whose adapters have code beside their screen rules, for what a file cannot say:
# hooks, event streams, launch wiring. Their screen rules are shipped files like any other.
WITH_CODE: dict[str, type[ScreenAdapter]] = {
    "claude": ClaudeAdapter,
    "codex": CodexAdapter,
    "gemini": GeminiAdapter,
    "opencode": OpenCodeAdapter,
    "qwen": QwenAdapter,
}
GENERIC = "generic"


def user_dir() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config).expanduser() / "harnex" / "adapters"


def repo_dir(repo_root: str) -> Path:
    return Path(repo_root) / ".harnex" / "adapters"


def search_dirs(repo_root: str | None = None) -> list[Path]:
    dirs = [SHIPPED_DIR, user_dir()]
    if repo_root:
        dirs.append(repo_dir(repo_root))
    return dirs


@dataclass
class Catalog:
    """Every adapter by name, with the rules of its winning file, and the files skipped."""

    rules: dict[str, ScreenRules] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        return sorted({*self.rules, *WITH_CODE, GENERIC})

    def name_for(self, command: str, forced: str | None = None) -> str:
        """The adapter for ``command`` (by its basename), or the one ``--cli`` forces."""
        if forced:
            if forced not in self.names():
                known = ", ".join(self.names())
                raise UsageError(f"unknown --cli {forced!r}; known: {known}")
            return forced
        base = os.path.basename(command)
        # The most recently read file (repo over user over shipped) decides.
        for name, rules in reversed(self.rules.items()):
            if base in rules.commands:
                return name
        return base if base in WITH_CODE else GENERIC

    def build(self, name: str, prompt_regex: str | None = None) -> Adapter:
        if name == GENERIC:
            return GenericAdapter(prompt_regex=prompt_regex)
        rules = self.rules.get(name)
        if name in WITH_CODE:
            return WITH_CODE[name](rules)
        if rules is None:
            known = ", ".join(self.names())
            raise UsageError(f"unknown adapter {name!r}; known: {known}")
        adapter = ScreenAdapter(rules)
        adapter.name = name
        return adapter


def adapter_files(dirs: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in dirs:
        try:
            found += sorted(p for p in folder.glob("*.toml") if p.is_file())
        except OSError:
            continue
    return found


def load_catalog(repo_root: str | None = None, dirs: Iterable[Path] | None = None) -> Catalog:
    catalog = Catalog()
    for path in adapter_files(search_dirs(repo_root) if dirs is None else dirs):
        try:
            rules = load_rules(path)
        except AdapterFileError as exc:
            catalog.problems.append(str(exc))
            continue
        if rules.name == GENERIC:
            catalog.problems.append(f"{path}: name: 'generic' is reserved (it has no screen)")
            continue
        # Re-inserting moves a replaced name to the end: later sources win in name_for.
        catalog.rules.pop(rules.name, None)
        catalog.rules[rules.name] = rules
    return catalog
