"""Processes as ``/proc`` shows them, for tests that check what a run or a fault left behind.

One reading for the whole suite of whether a process is still there: a zombie counts as
gone (it has ended and only waits for its parent, often tmux or the test's own shell, to reap
it), and so does a process that ends while it is being looked at.
"""

from __future__ import annotations

import os
from pathlib import Path


def gone(pid: int) -> bool:
    """Whether ``pid`` has ended (no such process, or a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process (the test ssh server's): there, so read its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (see :func:`gone`)."""
    return not gone(pid)


def process_tree() -> dict[int, list[int]]:
    """Every process's children, by parent pid, as they are now."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(root: int) -> list[int]:
    """Every process below ``root``: its children, theirs, and so on."""
    tree, found, todo = process_tree(), [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
