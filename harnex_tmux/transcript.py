"""Reading a session's transcript (the raw pane output that pipe-pane appends)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from harnex_tmux.state import SessionPaths
from harnex_tmux.terminal_text import strip_ansi

_TAIL_WINDOW = 4 * 1024 * 1024


def log_activity(path: os.PathLike[str]) -> tuple[str | None, int | None]:
    """When the transcript last grew and for how long it has been quiet, as 0.4.0 reported
    them: ``log_mtime`` an ISO-8601 time with seconds and the local UTC offset,
    ``log_idle_s`` whole seconds; both None while there is no output yet."""
    import time
    from datetime import datetime

    try:
        info = os.stat(path)
    except OSError:
        return None, None
    if info.st_size == 0:
        return None, None
    stamp = datetime.fromtimestamp(info.st_mtime).astimezone().isoformat(timespec="seconds")
    return stamp, max(0, int(time.time() - info.st_mtime))


def tail_lines(path: os.PathLike[str], lines: int) -> tuple[str, int]:
    """The last ``lines`` display lines (none when 0, as in 0.4.0, so ``--lines 0 --follow``
    shows only new output), and the byte offset read up to."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if lines <= 0:
            return "", size
        start = max(0, size - _TAIL_WINDOW)
        handle.seek(start)
        raw = handle.read(size - start)
    kept = strip_ansi(raw.decode("utf-8", errors="replace")).splitlines()[-lines:]
    return "\n".join(kept) + ("\n" if kept else ""), size


def follow_transcript(paths: SessionPaths, offset: int) -> Iterator[str]:
    """New transcript text as it arrives, until the session has ended and all is read."""
    import watchfiles

    def read_more() -> str:
        nonlocal offset
        with open(paths.output_log, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
        offset += len(data)
        return strip_ansi(data.decode("utf-8", errors="replace")) if data else ""

    def ended() -> bool:
        return not paths.registry.exists()

    while True:
        chunk = read_more()
        if chunk:
            yield chunk
        if ended():
            tail = read_more()
            if tail:
                yield tail
            return
        for _ in watchfiles.watch(
            paths.output_log,
            paths.registry.parent,
            debounce=200,
            step=50,
            rust_timeout=1000,
            yield_on_timeout=True,
        ):
            break
