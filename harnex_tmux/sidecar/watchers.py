"""Wake-ups for the sidecar: the pane printed something, or the agent's process ended.

On Linux this blocks on inotify (instant, no idle wake-ups). Elsewhere it falls back to
watchfiles, whose polling step trades a little latency for portability.
"""

from __future__ import annotations

import ctypes
import os
import select
import sys
import threading
from collections.abc import Callable
from pathlib import Path

_IN_MODIFY = 0x00000002
_IN_CLOEXEC = 0o2000000


class OutputWatcher:
    """Calls ``on_output`` (from a background thread) each time ``path`` grows."""

    def __init__(self, path: Path, on_output: Callable[[], None]) -> None:
        self.path = path
        self.on_output = on_output
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="output-watch", daemon=True)

    def start(self) -> None:
        self.path.touch(mode=0o600, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        if sys.platform.startswith("linux") and self._run_inotify():
            return
        self._run_watchfiles()

    def _run_inotify(self) -> bool:
        try:
            # The running program's own symbols include libc's; find_library("c") would
            # run ``ldconfig -p`` in a subprocess to find its file name.
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(_IN_CLOEXEC)
        except (OSError, AttributeError):
            return False
        if fd < 0:
            return False
        try:
            if libc.inotify_add_watch(fd, os.fsencode(self.path), _IN_MODIFY) < 0:
                return False
            while not self._stop.is_set():
                ready, _, _ = select.select([fd], [], [], 1.0)
                if ready:
                    os.read(fd, 65536)
                    self.on_output()
            return True
        finally:
            os.close(fd)

    def _run_watchfiles(self) -> None:
        import watchfiles

        for _ in watchfiles.watch(
            self.path, debounce=100, step=20, stop_event=self._stop, raise_interrupt=False
        ):
            self.on_output()


class ProcessExitWatcher:
    """Calls ``on_exit`` once when process ``pid`` (not necessarily our child) has ended."""

    def __init__(self, pid: int, on_exit: Callable[[], None]) -> None:
        self.pid = pid
        self.on_exit = on_exit
        self._thread = threading.Thread(target=self._run, name="exit-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            fd = os.pidfd_open(self.pid)
        except (OSError, AttributeError):
            self._poll()
            return
        try:
            select.select([fd], [], [])
        finally:
            os.close(fd)
        self.on_exit()

    def _poll(self) -> None:
        from harnex_tmux.state import process_alive

        while process_alive(self.pid):
            threading.Event().wait(0.2)
        self.on_exit()
