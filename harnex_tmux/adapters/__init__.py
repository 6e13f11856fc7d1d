"""Adapters, one per agent CLI, chosen by the command's basename unless ``--cli`` forces one.

Screen rules live in adapter files (see :mod:`harnex_tmux.adapters.rules`), found by
:mod:`harnex_tmux.adapters.catalog`; code is kept for what data cannot say (hooks).
"""

from __future__ import annotations

from harnex_tmux.adapters.base import (
    Adapter,
    HookReport,
    HookTarget,
    Observation,
    State,
    StopStep,
)
from harnex_tmux.adapters.catalog import Catalog, load_catalog
from harnex_tmux.adapters.generic import GenericAdapter

__all__ = [
    "Adapter",
    "Catalog",
    "GenericAdapter",
    "HookReport",
    "HookTarget",
    "Observation",
    "State",
    "StopStep",
    "adapter_for",
    "adapter_name_for",
    "known_adapters",
    "load_catalog",
]


def known_adapters(repo_root: str | None = None) -> list[str]:
    return load_catalog(repo_root).names()


def adapter_name_for(command: str, forced: str | None = None, repo_root: str | None = None) -> str:
    return load_catalog(repo_root).name_for(command, forced)


def adapter_for(
    name: str, prompt_regex: str | None = None, repo_root: str | None = None
) -> Adapter:
    """A fresh adapter; ``prompt_regex`` (what a generic program's prompt looks like) is for
    the generic adapter only, the others know their CLI's screen. The generic adapter reads
    no file, so a generic session does not load the adapter files."""
    if name == "generic":
        return GenericAdapter(prompt_regex=prompt_regex)
    return load_catalog(repo_root).build(name, prompt_regex)
