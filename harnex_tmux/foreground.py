"""What the kernel says the agent's foreground processes are doing with their terminal.

A program that stopped printing may be waiting for input, or sleeping, computing, or waiting
for a child. Quiet output cannot tell these apart; ``/proc`` can. A thread blocked in
``read()`` on the pane's terminal is reading input; one blocked in ``poll``/``select``/
``epoll`` may be (event loops wait there for keys and for everything else alike); anything
else (running, sleeping, waiting for a child) is working.

Linux only, and only for processes we may inspect: elsewhere the answer is ``UNKNOWN`` and
callers fall back to what the output shows.
"""

from __future__ import annotations

import os
from enum import StrEnum


class TerminalUse(StrEnum):
    READING = "reading"  # blocked reading the terminal: at its prompt
    POLLING = "polling"  # waiting in an event loop: maybe for keys, maybe not
    WORKING = "working"  # running, sleeping or waiting on something else
    UNKNOWN = "unknown"  # no /proc, or not ours to read


# System call numbers by architecture: (reads, waits on several descriptors).
_SYSCALLS: dict[str, tuple[frozenset[int], frozenset[int]]] = {
    # read, readv, pread64 / poll, select, pselect6, ppoll, epoll_wait, epoll_pwait, _pwait2
    "x86_64": (frozenset({0, 19, 17}), frozenset({7, 23, 270, 271, 232, 281, 441})),
    # read, readv, pread64 / pselect6, ppoll, epoll_pwait, epoll_pwait2
    "aarch64": (frozenset({63, 65, 67}), frozenset({72, 73, 22, 441})),
}
_TABLE = _SYSCALLS.get(os.uname().machine)  # what platform.machine() reads


def terminal_use(pane_pid: int | None) -> TerminalUse:
    """How the foreground processes of the pane whose shell is ``pane_pid`` use the terminal.

    The pane's own wrapper shell (waiting for the agent) is not counted: only its
    descendants in the terminal's foreground process group are.
    """
    if _TABLE is None or not pane_pid:
        return TerminalUse.UNKNOWN
    try:
        tty = os.readlink(f"/proc/{pane_pid}/fd/0")
        foreground = _stat_fields(pane_pid)[5]  # tpgid
    except (OSError, IndexError):
        return TerminalUse.UNKNOWN
    reads, waits = _TABLE
    seen_any = polling = False
    for pid in descendants(pane_pid):
        try:
            if _stat_fields(pid)[2] != foreground:
                continue
            tasks = os.listdir(f"/proc/{pid}/task")
        except (OSError, IndexError):
            continue
        for tid in tasks:
            call = _syscall(pid, tid)
            if call is None:
                continue
            seen_any = True
            number, first_arg = call
            if number in reads and _is_tty(pid, first_arg, tty):
                return TerminalUse.READING
            if number in waits:
                polling = True
    if not seen_any:
        return TerminalUse.UNKNOWN
    return TerminalUse.POLLING if polling else TerminalUse.WORKING


def _stat_fields(pid: int | str) -> list[str]:
    """``/proc/PID/stat`` after the command name: state, ppid, pgrp, session, tty, tpgid…"""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return handle.read().rsplit(b")", 1)[1].decode().split()


def _syscall(pid: int, tid: str) -> tuple[int, int] | None:
    """The system call a thread is blocked in, with its first argument; None when running
    (or unreadable), which callers count as working."""
    try:
        with open(f"/proc/{pid}/task/{tid}/syscall") as handle:
            fields = handle.read().split()
    except OSError:
        return None
    if len(fields) < 2 or not fields[0].lstrip("-").isdigit():
        return (-1, -1)  # "running": neither reading nor waiting
    try:
        return int(fields[0]), int(fields[1], 16)
    except ValueError:
        return (-1, -1)


def _is_tty(pid: int, fd: int, tty: str) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}") == tty
    except OSError:
        return False


# Whether this kernel lists a thread's children in /proc (CONFIG_PROC_CHILDREN).
_CHILDREN_FILES = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started, from any of its threads; where the kernel keeps no
    children lists, found by their parent in ``/proc/*/stat``."""
    if not _CHILDREN_FILES:
        return _children_by_parent(pid)
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found += [int(c) for c in handle.read().split()]
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
    return found


def descendants(root: int) -> list[int]:
    """Every live process below ``root``, children before grandchildren."""
    found: list[int] = []
    level = children(root)
    while level:
        found += level
        level = [grandchild for child in level for grandchild in children(child)]
    return found


def _children_by_parent(ppid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if int(_stat_fields(entry)[1]) == ppid:
                found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found
