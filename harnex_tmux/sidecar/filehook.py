"""The file hook: tell the agent when a watched file changes (``--watch-file PATH``).

The folder holding the file is watched (not the file itself), so the hook keeps working when
an editor or a script replaces the file instead of writing it in place, and when the file does
not exist yet. A burst of writes is one change: ``on_change`` runs once the file has been left
alone for the debounce time (a trailing debounce, restarted by every write).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEBOUNCE_S = 1.0


class FileHook:
    """Calls ``on_change(path)`` from a background thread after ``path`` changed and settled."""

    def __init__(
        self,
        path: Path,
        on_change: Callable[[Path], None],
        debounce_s: float = DEBOUNCE_S,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(os.path.abspath(path))
        self.on_change = on_change
        self.debounce_s = debounce_s
        self._log = log
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name="file-hook", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _matches(self, change: Any, changed_path: str) -> bool:
        return os.path.abspath(changed_path) == str(self.path)

    def _run(self) -> None:
        import watchfiles

        try:
            for _ in watchfiles.watch(
                self.path.parent,
                watch_filter=self._matches,
                recursive=False,
                debounce=200,
                step=50,
                stop_event=self._stop,
                raise_interrupt=False,
            ):
                self._changed()
        except Exception as exc:  # the folder vanished, or the OS refused a watch
            if self._log is not None and not self._stop.is_set():
                self._log(f"file hook on {self.path} stopped: {exc}")

    def _changed(self) -> None:
        """Restart the quiet timer; only the last write of a burst gets through."""
        with self._lock:
            if self._stop.is_set():
                return
            if self._timer is not None:
                self._timer.cancel()
            self._generation += 1
            self._timer = threading.Timer(self.debounce_s, self._fire, args=(self._generation,))
            self._timer.daemon = True
            self._timer.start()

    def _fire(self, generation: int) -> None:
        with self._lock:
            # A write that came in while this timer was already firing started a newer one.
            if self._stop.is_set() or generation != self._generation:
                return
            self._timer = None
        self.on_change(self.path)
