"""Watch presets: named stall limits kept as TOML data files, not code.

The shipped presets live in the repository's top-level ``presets/`` directory, which the wheel
carries as ``harnex_tmux/presets/`` (a symlink in the source tree, so a checkout and an editable
install read the very same files). A user adds or overrides presets with files of the same
shape in ``$XDG_CONFIG_HOME/harnex/presets/`` (default ``~/.config/harnex/presets/``): one
``<name>.toml`` per preset, with keys

    description = "free text"        # optional
    stall_after = "8m"               # a duration ("90s", "8m", "1h") or seconds
    max_resumes = 1                  # how many resume nudges before giving up (0: observe)

A user file named like a shipped preset overrides only the keys it sets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harnex_tmux.durations import parse_duration
from harnex_tmux.errors import DurationError, PresetError, UsageError
from harnex_tmux.toml_files import read_toml

DEFAULT_PRESET = "impl"
KEYS = ("description", "stall_after", "max_resumes")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class Preset:
    name: str
    stall_after_s: float
    max_resumes: int
    description: str = ""
    source: str = ""


def builtin_dir() -> Path | None:
    """Where the shipped presets are: inside the package (wheel, or the checkout's symlink),
    else the checkout's top-level ``presets/`` (a tree where the symlink was not kept)."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "presets", package.parent / "presets"):
        if candidate.is_dir():
            return candidate
    return None


def user_dir() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config).expanduser() / "harnex" / "presets"


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob("*.toml") if p.is_file())
    except OSError:
        return []


def load_presets(dirs: Iterable[Path] | None = None) -> dict[str, Preset]:
    """Every preset by name: shipped ones first, then the user's on top of them."""
    if dirs is None:
        builtin = builtin_dir()
        dirs = [builtin, user_dir()] if builtin is not None else [user_dir()]
    folders = list(dirs)
    presets: dict[str, Preset] = {}
    for folder in folders:
        for path in _files(folder):
            preset = parse_preset_file(path, presets.get(path.stem))
            presets[preset.name] = preset
    return presets


def parse_preset_file(path: Path, base: Preset | None = None) -> Preset:
    """Read one preset file; keys it leaves out come from ``base`` (the preset it overrides)."""
    name = path.stem
    if not _NAME.fullmatch(name):
        raise PresetError(
            f"preset file {path}: name {name!r} must be lowercase letters, digits, - or _"
        )
    data = read_toml(path, lambda problem: PresetError(f"preset file {path}: {problem}"))
    return _preset_from(name, data, path, base)


def _preset_from(name: str, data: dict[str, Any], path: Path, base: Preset | None) -> Preset:
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise PresetError(
            f"preset file {path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(KEYS)}"
        )
    missing = [k for k in ("stall_after", "max_resumes") if k not in data]
    if missing and base is None:
        raise PresetError(f"preset file {path}: missing {' and '.join(missing)}")
    preset = base or Preset(name=name, stall_after_s=0.0, max_resumes=0)
    preset = replace(preset, source=str(path))
    if "stall_after" in data:
        raw = data["stall_after"]
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise PresetError(f'preset file {path}: stall_after must be a duration like "8m"')
        try:
            seconds = parse_duration(raw)
        except DurationError as exc:
            raise PresetError(f"preset file {path}: stall_after: {exc}") from None
        if seconds <= 0:
            raise PresetError(f"preset file {path}: stall_after must be more than zero")
        preset = replace(preset, stall_after_s=seconds)
    if "max_resumes" in data:
        count = data["max_resumes"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise PresetError(f"preset file {path}: max_resumes must be a whole number >= 0")
        preset = replace(preset, max_resumes=count)
    if "description" in data:
        if not isinstance(data["description"], str):
            raise PresetError(f"preset file {path}: description must be a string")
        preset = replace(preset, description=data["description"])
    return preset


def get_preset(name: str, presets: dict[str, Preset] | None = None) -> Preset:
    """The preset called ``name``; a usage error that lists the valid names otherwise."""
    known = presets if presets is not None else load_presets()
    try:
        return known[name]
    except KeyError:
        valid = ", ".join(sorted(known)) or "(none found)"
        raise UsageError(f"unknown preset {name!r}; valid presets: {valid}") from None
