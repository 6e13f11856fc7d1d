"""The pane's output seen on its screen while its transcript cannot be written.

The sidecar learns that the agent printed something from its transcript growing (tmux pipes
the pane's output into it, :class:`~harnex_tmux.sidecar.watchers.OutputWatcher`). On a full
state directory that pipe's writer fails and tmux ends it: no output is seen any more, so a
submit that took shows no sign (every message would end ``unconfirmed``) and an agent busy
in an event loop would look quiet, hence ready. While the file system has no room, this
watcher looks at the screen instead, a few times a second, and reports each change as
output. When there is room again it asks for the transcript pipe to be attached again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

# Below this much free space the transcript is taken as stopped: tmux's writer fails on the
# first burst that does not fit, and the pipe ends without a word.
LOW_ROOM_BYTES = 64 * 1024
# How often the free space is asked (a statvfs call: cheap) and, while it is low, how often
# the screen is captured and compared.
ROOM_POLL_S = 0.5
SCREEN_POLL_S = 0.05


def room_left(folder: Path) -> int | None:
    """Free bytes on the file system of ``folder`` for this user; None when unknown."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize


class ScreenWatch:
    """Calls ``on_output`` when the screen (``capture``) changed while the file system of
    ``transcript`` is (nearly) full, and ``on_room`` once it has room again."""

    def __init__(
        self,
        transcript: Path,
        capture: Callable[[], str | None],
        on_output: Callable[[], None],
        on_room: Callable[[], None],
    ) -> None:
        self.transcript = transcript
        self.capture = capture
        self.on_output = on_output
        self.on_room = on_room
        self.active = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="screen-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def full(self) -> bool:
        room = room_left(self.transcript.parent)
        return room is not None and room < LOW_ROOM_BYTES

    def _run(self) -> None:
        last: str | None = None
        while not self._stop.is_set():
            if not self.full():
                if self.active:
                    self.active = False
                    last = None
                    self.on_room()
                self._stop.wait(ROOM_POLL_S)
                continue
            self.active = True
            for _ in range(round(ROOM_POLL_S / SCREEN_POLL_S)):
                screen = self.capture()
                if screen is not None and last is not None and screen != last:
                    self.on_output()
                if screen is not None:
                    last = screen
                if self._stop.wait(SCREEN_POLL_S):
                    return
