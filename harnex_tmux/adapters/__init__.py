"""Adapters, one per agent CLI, chosen by the command's basename unless ``--cli`` forces one."""

from __future__ import annotations

import os

from harnex_tmux.adapters.base import (
    Adapter,
    HookReport,
    HookTarget,
    Observation,
    State,
    StopStep,
)
from harnex_tmux.adapters.claude import ClaudeAdapter
from harnex_tmux.adapters.codex import CodexAdapter
from harnex_tmux.adapters.gemini import GeminiAdapter
from harnex_tmux.adapters.generic import GenericAdapter
from harnex_tmux.adapters.opencode import OpenCodeAdapter
from harnex_tmux.errors import UsageError

__all__ = [
    "Adapter",
    "GenericAdapter",
    "HookReport",
    "HookTarget",
    "Observation",
    "State",
    "StopStep",
    "adapter_for",
]

_ADAPTERS: dict[str, type[Adapter]] = {
    "claude": ClaudeAdapter,
    "codex": CodexAdapter,
    "gemini": GeminiAdapter,
    "opencode": OpenCodeAdapter,
    "generic": GenericAdapter,
}


def known_adapters() -> list[str]:
    return sorted(_ADAPTERS)


def adapter_name_for(command: str, forced: str | None = None) -> str:
    if forced:
        if forced not in _ADAPTERS:
            raise UsageError(f"unknown --cli {forced!r}; known: {', '.join(known_adapters())}")
        return forced
    base = os.path.basename(command)
    return base if base in _ADAPTERS else "generic"


def adapter_for(name: str) -> Adapter:
    try:
        return _ADAPTERS[name]()
    except KeyError:
        raise UsageError(
            f"unknown adapter {name!r}; known: {', '.join(known_adapters())}"
        ) from None
