"""What every usage reader is: something that says, each time it is asked, every model call
of its session so far, reading only what was added since it was last asked."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any

from harnex_tmux.usage.model import Usage
from harnex_tmux.usage.tail import JsonlTail

Entries = dict[str, Usage]
"""A file's model calls by a key that names each call once (a repeated line replaces)."""


class Reader(ABC):
    """One session's usage as its CLI writes it down."""

    @abstractmethod
    def read(self) -> list[Usage]:
        """Every model call so far, oldest first, without their costs (see prices)."""

    @abstractmethod
    def problems(self) -> list[str]:
        """What could not be read, for people (a missing file, bad lines)."""


class JsonlFiles(Reader):
    """A session written to one or more JSONL files, each read from where it was left.

    A key seen in an earlier file is not counted again from a later one (a call copied from
    one file into another)."""

    def __init__(self) -> None:
        self._tails: dict[str, JsonlTail] = {}
        self._entries: dict[str, Entries] = {}
        # The answer of the last read, given again (the same list) while no file changed.
        self._answer: list[Usage] | None = None

    @abstractmethod
    def paths(self) -> list[str]:
        """The session's files, the main one first."""

    @abstractmethod
    def take(self, path: str, line: dict[str, Any], entries: Entries) -> None:
        """Note what one line of ``path`` says in that file's ``entries``."""

    def restart(self, path: str) -> None:
        """``path`` was replaced or cut: forget what was kept about it (besides its entries)."""

    def read(self) -> list[Usage]:
        paths = self.paths()
        changed = self._answer is None or len(paths) != len(self._tails)
        for path in paths:
            tail = self._tails.setdefault(path, JsonlTail(path))
            entries = self._entries.setdefault(path, {})
            while True:
                before = tail.offset
                restarted, lines = tail.read()
                if restarted:
                    entries.clear()
                    self.restart(path)
                for line in lines:
                    self.take(path, line, entries)
                changed = changed or restarted or bool(lines)
                if tail.offset == before:
                    break
        if changed or self._answer is None:
            merged: Entries = {}
            for path in paths:
                for key, usage in self._entries[path].items():
                    merged.setdefault(key, usage)
            self._answer = list(merged.values())
        return self._answer

    def problems(self) -> list[str]:
        found = []
        for path, tail in self._tails.items():
            if tail.missing:
                found.append(f"{path}: not found")
            elif tail.bad_lines:
                found.append(f"{path}: {tail.bad_lines} unreadable line(s) skipped")
        return found


class ChatFile(JsonlFiles):
    """One chat file of JSON lines, a record each under its own id: a user record starts a
    turn, and the model calls after it belong to that turn. A record written again (the same
    id, as Gemini CLI rewrites a message when it changes) keeps the turn it was first seen in.

    Gemini CLI's and Qwen Code's files differ only in the id's key and where a call's figures
    are, so each is this class with :attr:`id_key` and :meth:`usage_of`."""

    id_key = "id"

    def __init__(self, chat: str) -> None:
        super().__init__()
        self.chat = chat
        self._turn: str | None = None
        self._turn_at: str | None = None

    @abstractmethod
    def usage_of(self, line: dict[str, Any], turn: str | None) -> Usage | None:
        """The model call a record says, or None when it is not one."""

    def paths(self) -> list[str]:
        return [self.chat]

    def restart(self, path: str) -> None:
        self._turn = self._turn_at = None

    def take(self, path: str, line: dict[str, Any], entries: Entries) -> None:
        ident = line.get(self.id_key)
        if not isinstance(ident, str):
            return
        if line.get("type") == "user":
            at = line.get("timestamp")
            self._turn, self._turn_at = ident, at if isinstance(at, str) else None
            return
        kept = entries.get(ident)
        turn, turn_at = (kept.turn, kept.turn_at) if kept else (self._turn, self._turn_at)
        usage = self.usage_of(line, turn)
        if usage is not None:
            entries[ident] = replace(usage, turn_at=turn_at)
