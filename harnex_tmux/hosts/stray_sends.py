"""The far half of cancelling a send from another host: end the ``harnex send`` processes
of this host that still carry the message.

Without a terminal, sshd does not signal a command whose client went away, so the host's
send whose ssh client was killed (Ctrl-C, SIGTERM, a timeout) goes on: still starting, it
could queue the message after it was withdrawn; queued, it waits for the delivery nobody
will report. Ended first, nothing can bring the message back once it is withdrawn.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

from harnex_tmux.state import process_alive

# How long the ended processes get to be gone before the withdrawal goes ahead anyway.
GONE_WITHIN_S = 5.0


def end_sends_of(message_id: str) -> list[int]:
    """SIGKILL this user's ``harnex send ... --message-id MESSAGE_ID`` processes (not this
    one) and wait until they are gone; their pids. A killed send leaves the sidecar nothing
    half done: the message is queued by one request, or not."""
    pids = [pid for pid in _sends_of(message_id) if pid != os.getpid()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + GONE_WITHIN_S
    while time.monotonic() < deadline and any(process_alive(pid) for pid in pids):
        time.sleep(0.05)
    return pids


def _sends_of(message_id: str) -> list[int]:
    try:
        listing = subprocess.run(
            ["ps", "-U", str(os.getuid()), "-o", "pid=", "-o", "args="],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in listing.splitlines():
        pid, _, args = line.strip().partition(" ")
        words = args.split()
        if pid.isdigit() and "send" in words and carries(words, message_id):
            found.append(int(pid))
    return found


def carries(words: list[str], message_id: str) -> bool:
    """Whether the command line ``words`` is one that sends ``message_id``."""
    return (
        any(
            word == "--message-id" and words[i + 1 : i + 2] == [message_id]
            for i, word in enumerate(words)
        )
        or f"--message-id={message_id}" in words
    )
