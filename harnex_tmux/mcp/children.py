"""Reaping the sidecars a long-running process started.

``harnex run`` exits soon after starting a sidecar, so the system reaps it; ``harnex mcp``
lives on, and every sidecar it started would stay a ``<defunct>`` child once its session
ends. The server hands each one here; a single thread collects their exit statuses.
"""

from __future__ import annotations

import subprocess
import threading

# How often the reaper looks; an ended sidecar is a zombie for at most this long.
REAP_EVERY_S = 0.5


class Children:
    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def adopt(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.append(proc)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="reaper", daemon=True)
                self._thread.start()

    def _watch(self) -> None:
        pause = threading.Event()
        while True:
            with self._lock:
                self._procs = [proc for proc in self._procs if proc.poll() is None]
                if not self._procs:
                    self._thread = None  # the next adopt starts a new watcher
                    return
            pause.wait(REAP_EVERY_S)
