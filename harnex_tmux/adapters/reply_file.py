"""A turn's reply read from a file the CLI appends its conversation to (an adapter file's
``[reply]`` table), for a CLI whose turn-end report carries no text (Aider's notification
command says only that it waits for input).

The file is read from where the last turn's read stopped: what was appended since then is
this turn. In it, the lines of the user's message (``prompt_lines``) come first and the reply
after them; the reply is what follows the last such lines, without the lines the CLI adds of
its own (``skip_lines``: token counts, applied edits, warnings). A file that got shorter or
was replaced is read from its start.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# At most this much of what was appended is read per turn (its end: the reply comes last).
MAX_TURN_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ReplyRule:
    """An adapter file's ``[reply]`` table: the file (relative to the git root of the
    session's folder, or the folder outside git), the option and variable that name another
    one, and the regexes of the user's lines and of the CLI's own."""

    file: str
    prompt_lines: str
    option: str | None = None
    env: str | None = None
    skip_lines: str | None = None

    def path_for(self, argv: Sequence[str], env: Mapping[str, str], cwd: str) -> Path:
        """Where the CLI started with ``argv`` in ``cwd`` writes: the option's value on the
        command line, else the variable's, else the default file in the git root."""
        named = _option_value(argv, self.option) if self.option else None
        if named is None and self.env:
            named = env.get(self.env) or None
        if named is not None:
            return Path(cwd, os.path.expanduser(named))
        return git_root(Path(cwd)) / self.file


def _option_value(argv: Sequence[str], option: str) -> str | None:
    value = None
    for index, arg in enumerate(argv):
        if arg == option and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(option + "="):
            value = arg[len(option) + 1 :]
    return value


def git_root(folder: Path) -> Path:
    """The folder holding ``.git`` at or above ``folder`` (``folder`` itself without one)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class ReplyFile:
    """The read position in one conversation file, advanced at each turn's end."""

    def __init__(self, rule: ReplyRule, path: Path, offset: int) -> None:
        self.rule = rule
        self.path = path
        self.offset = offset
        self._identity: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def turn_reply(self) -> str | None:
        """The reply of the turn that just ended; None when there is none to read."""
        with self._lock:
            text = self._appended()
        return None if text is None else reply_in(text, self.rule)

    def _appended(self) -> str | None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below, one stat only
        except OSError:
            return None
        with handle:
            stat = os.fstat(handle.fileno())
            identity = (stat.st_dev, stat.st_ino)
            if (self._identity not in (None, identity)) or stat.st_size < self.offset:
                self.offset = 0
            self._identity = identity
            start = max(self.offset, stat.st_size - MAX_TURN_BYTES)
            handle.seek(start)
            data = handle.read(stat.st_size - start)
        self.offset = start + len(data)
        return data.decode("utf-8", errors="replace")


def reply_in(text: str, rule: ReplyRule) -> str | None:
    """The reply in one turn's text: the lines after the last of the user's, less the CLI's
    own; None when nothing is left."""
    lines = text.splitlines()
    prompt = re.compile(rule.prompt_lines)
    last = max((i for i, line in enumerate(lines) if prompt.match(line)), default=-1)
    skip = re.compile(rule.skip_lines) if rule.skip_lines else None
    kept = [line for line in lines[last + 1 :] if not (skip and skip.match(line))]
    reply = "\n".join(kept).strip()
    return reply or None
