"""The agent's pane as the sidecar's parts use it: typing, keys, a look at the screen, and
what the kernel says the pane's programs do with the terminal.

Passed to the deliverer and the main loop instead of the tmux client and the session record,
so each part sees one pane and nothing else, and a test can hand it a pane of its own.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from harnex_tmux.foreground import TerminalUse, terminal_use
from harnex_tmux.tmux import CursorLine, Tmux

# Screen-reading adapters capture the pane on output; bursts of output are coalesced so a
# streaming reply costs a capture per this many seconds, not one per write.
MIN_CAPTURE_GAP_S = 0.03


class Pane(Protocol):
    """What typing into a pane needs. ``typing`` is held while keys go in, so two writers
    (the deliverer, an auto-accepted dialog) never interleave their keys."""

    typing: threading.Lock

    def type_text(self, text: str) -> None: ...
    def paste(self, text: str) -> None: ...
    def send_keys(self, *keys: str) -> None: ...
    def cursor_line(self) -> CursorLine | None: ...
    def capture_screen(self) -> str | None: ...
    def terminal_use(self) -> TerminalUse: ...


class TmuxPane:
    """One tmux pane, and the process its wrapper shell runs (``pane_pid``)."""

    def __init__(self, tmux: Tmux, pane_id: str | None, pane_pid: int | None) -> None:
        self.tmux = tmux
        self.pane_id = pane_id or ""
        self.pane_pid = pane_pid
        self.typing = threading.Lock()
        self._last_capture = 0.0

    def type_text(self, text: str) -> None:
        self.tmux.type_text(self.pane_id, text)

    def paste(self, text: str) -> None:
        self.tmux.paste(self.pane_id, text)

    def send_keys(self, *keys: str) -> None:
        self.tmux.send_keys(self.pane_id, *keys)

    def cursor_line(self) -> CursorLine | None:
        return self.tmux.cursor_line(self.pane_id)

    def capture_screen(self) -> str | None:
        """The visible screen, at most once per :data:`MIN_CAPTURE_GAP_S` (a caller that
        comes sooner waits); None without a pane, or when tmux cannot capture it."""
        if not self.pane_id:
            return None
        gap = MIN_CAPTURE_GAP_S - (time.monotonic() - self._last_capture)
        if gap > 0:
            time.sleep(gap)
        self._last_capture = time.monotonic()
        try:
            return self.tmux.capture(self.pane_id)
        except Exception:
            return None

    def read(self, scrollback: int = 0) -> str:
        """The screen and ``scrollback`` lines above it, unthrottled (for ``GET /pane``);
        tmux's errors are the caller's."""
        return self.tmux.capture(self.pane_id, scrollback=scrollback)

    def terminal_use(self) -> TerminalUse:
        return terminal_use(self.pane_pid)
