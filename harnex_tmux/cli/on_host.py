"""Commands that follow a session on another host: ``pane``, ``logs`` and ``events`` with a
``NAME:id`` run by that host's harnex, their output streamed here as it comes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable


def is_remote(ident: str | None) -> bool:
    return ident is not None and ":" in ident


def follow_on_host(ident: str, args: list[str], lines_of_json: bool = False) -> None:
    """Run ``harnex ARGS --id ID`` on the host of ``ident`` with its output ours; exit with
    its exit code. ``lines_of_json``: the output is one JSON object per line, whose ``id``
    is given back as ``NAME:id`` (as a one-shot remote ``pane --json`` does)."""
    from harnex_tmux.hosts.remote import follow

    write: Callable[[bytes], None] = _out
    if lines_of_json:
        write = _Relabel(ident, _out)
    try:
        code = follow(ident, args, write)
    except BrokenPipeError:
        # The reader went away (``| head``): not an error; nothing more goes to stdout.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        code = 0
    if code:
        raise SystemExit(code)


def _out(chunk: bytes) -> None:
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


class _Relabel:
    """Whole lines through, each JSON object's ``id`` set to the ``NAME:id`` asked for."""

    def __init__(self, target: str, out: Callable[[bytes], None]) -> None:
        self.target = target
        self.out = out
        self.rest = b""

    def __call__(self, chunk: bytes) -> None:
        *whole, self.rest = (self.rest + chunk).split(b"\n")
        for line in whole:
            try:
                data = json.loads(line)
            except ValueError:
                self.out(line + b"\n")
                continue
            if isinstance(data, dict) and "id" in data:
                data["id"] = self.target
            self.out(json.dumps(data, ensure_ascii=False).encode() + b"\n")
