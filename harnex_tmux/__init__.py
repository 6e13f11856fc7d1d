"""harnex-tmux: run AI coding agents in visible tmux panes, each owned by a small sidecar.

The library API is importable without the CLI::

    from harnex_tmux import LaunchSpec, Session, start_session, list_sessions

Names are resolved lazily so that ``harnex --version`` and other quick commands do not pay
for importing libtmux.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "LaunchSpec": "harnex_tmux.launch",
    "StartedSession": "harnex_tmux.launch",
    "start_session": "harnex_tmux.launch",
    "SessionRecord": "harnex_tmux.state",
    "list_sessions": "harnex_tmux.state",
    "find_session": "harnex_tmux.session.find",
    "Session": "harnex_tmux.session.handle",
    "SidecarClient": "harnex_tmux.session.client",
    "HarnexError": "harnex_tmux.errors",
    "WorktreeRequest": "harnex_tmux.worktree",
}

if TYPE_CHECKING:
    from harnex_tmux.errors import HarnexError
    from harnex_tmux.launch import LaunchSpec, StartedSession, start_session
    from harnex_tmux.session.client import SidecarClient
    from harnex_tmux.session.find import find_session
    from harnex_tmux.session.handle import Session
    from harnex_tmux.state import SessionRecord, list_sessions
    from harnex_tmux.worktree import WorktreeRequest

__all__ = [
    "HarnexError",
    "LaunchSpec",
    "Session",
    "SessionRecord",
    "SidecarClient",
    "StartedSession",
    "WorktreeRequest",
    "__version__",
    "find_session",
    "list_sessions",
    "start_session",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harnex_tmux' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
