"""The screen watch: pane output seen on the screen while the transcript's disk is full."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import wait_for

from harnex_tmux.sidecar import screen_watch
from harnex_tmux.sidecar.screen_watch import ScreenWatch, room_left


def test_changes_count_as_output_only_while_full_and_room_reattaches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    free = room_left(tmp_path)
    assert free is not None
    # "Full": more room wanted than this file system has.
    monkeypatch.setattr(screen_watch, "LOW_ROOM_BYTES", free * 2 + 1)
    screens = iter(["a", "a", "b", "b", "c"] + ["c"] * 10_000)
    outputs: list[int] = []
    rooms = threading.Event()
    watch = ScreenWatch(
        tmp_path / "out.log", lambda: next(screens), lambda: outputs.append(1), rooms.set
    )
    watch.start()
    try:
        wait_for(lambda: len(outputs) == 2, timeout=20)  # a -> b, b -> c; no repeats
        assert watch.active and not rooms.is_set()
        monkeypatch.setattr(screen_watch, "LOW_ROOM_BYTES", 0)
        wait_for(rooms.is_set, timeout=20)
        assert not watch.active and len(outputs) == 2
    finally:
        watch.stop()
