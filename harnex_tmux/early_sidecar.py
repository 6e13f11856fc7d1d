"""A sidecar process started before its launch spec is known, as early as the CLI knows it
will need one.

Starting the interpreter and importing the sidecar's modules takes about as long as the CLI's
own start; started first, it runs alongside the CLI's remaining imports and checks instead of
after them. It waits for its spec on stdin (``start_session`` hands it over), opens its own
log once it knows the session, and exits quietly when stdin closes without a spec (the launch
failed first). This module imports nothing of harnex, so starting one costs only the fork.
"""

from __future__ import annotations

import subprocess
import sys

# The one started by start_for_run for this process's `harnex run`, until taken.
_waiting: subprocess.Popen[bytes] | None = None


def prestart() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "harnex_tmux.sidecar", "--early"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def discard(proc: subprocess.Popen[bytes]) -> None:
    """A prestarted sidecar that will get no spec: closing its stdin ends it."""
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()


def start_for_run() -> None:
    """Called as soon as the CLI sees it runs ``harnex run``, before loading the command."""
    global _waiting
    if _waiting is None:
        _waiting = prestart()


def take() -> subprocess.Popen[bytes]:
    """The sidecar :func:`start_for_run` started, or a new one."""
    global _waiting
    proc, _waiting = _waiting, None
    return proc if proc is not None else prestart()
