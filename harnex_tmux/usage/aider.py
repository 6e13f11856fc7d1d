"""Aider's usage: the token and cost report it writes to its chat history file after each
model call (checked against aider-chat 0.86.2).

Aider appends every session of a repository to one file (``.aider.chat.history.md``, the
adapter's ``[reply]`` file), so a harnex session reads it from the size it had at launch. Its
own lines are Markdown quotes; after each call it writes::

    > Tokens: 2.3k sent, 150 received. Cost: $0.01 message, $0.02 session.

with ``, 1.2k cache write`` and ``, 3.4k cache hit`` after ``sent`` when the provider reports
them (then ``Cost:`` is on a line of its own, without the quote mark), and no ``Cost:`` at all
for a model Aider has no price for. Counts of 1,000 and more are rounded by Aider (``2.3k``,
``12k``): harnex counts what Aider wrote, so a total may differ from the provider's by that
rounding. ``sent`` holds the cached and cache-written input too: fresh input is what is left.

The cost is Aider's own figure: the growth of its ``session`` cost (more exact than the
``message`` cost, rounded to cents), or the message cost for the first call after Aider
started (``# aider chat started at``, where its session cost starts again). The model is the
one its start-up lines name (``> Model: openai/gpt-4o with ...``); a call's turn is the user's
message before it (its ``####`` lines). The file has no times, so a turn's start is when the
reader first saw its message (the sidecar reads at each turn's end, before the next message
can be written: each turn's ``usage`` event gets its own calls).

Aider's figures are the provider's only without streaming (``--no-stream``): while it streams
(its default) it counts the tokens itself with the model's tokenizer, and harnex counts
what Aider wrote all the same.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import UTC, datetime

from harnex_tmux.usage.model import Usage
from harnex_tmux.usage.reader import Reader

# At most this much is read per step, so a huge history is taken in steps.
CHUNK = 4 * 1024 * 1024

_COUNT = r"([0-9]+(?:\.[0-9]+)?k?)"
_COST = r"Cost: \$([0-9]+(?:\.[0-9]+)?) message, \$([0-9]+(?:\.[0-9]+)?) session\."
TOKENS = re.compile(
    rf"^> Tokens: {_COUNT} sent(?:, {_COUNT} cache write)?(?:, {_COUNT} cache hit)?, "
    rf"{_COUNT} received\.(?: {_COST})?\s*$"
)
COST = re.compile(rf"^(?:> )?{_COST}\s*$")
MODEL = re.compile(r"^> (?:Main model|Model): (\S+) with ")
STARTED = "# aider chat started at"
PROMPT = "#### "


def tokens(text: str | None) -> int:
    """A count as Aider writes it: ``950``, ``2.3k`` (2,300), ``12k``."""
    if not text:
        return 0
    if text.endswith("k"):
        return round(float(text[:-1]) * 1000)
    return int(float(text))


class AiderReader(Reader):
    """One harnex session's part of an Aider chat history file: from ``start`` on."""

    def __init__(self, path: str, start: int = 0) -> None:
        self.path = path
        self.start = start
        self._offset = start
        self._identity: tuple[int, int] | None = None
        self._calls: list[Usage] = []
        self._answer: list[Usage] = []
        self._missing = False
        self._model: str | None = None
        self._turn: str | None = None
        self._turn_at: str | None = None
        self._in_prompt = False
        self._session_cost: float | None = None
        # The call a ``Cost:`` line of its own (on the next line) belongs to.
        self._costless: int | None = None

    def read(self) -> list[Usage]:
        changed = False
        while True:
            try:
                handle = open(self.path, "rb")  # noqa: SIM115 - closed below
            except OSError:
                self._missing = True
                return self._answer
            with handle:
                self._missing = False
                stat = os.fstat(handle.fileno())
                identity = (stat.st_dev, stat.st_ino)
                if self._identity not in (None, identity) or stat.st_size < self._offset:
                    # Replaced or cut: what it holds now is all new.
                    self._forget()
                    changed = True
                self._identity = identity
                if stat.st_size <= self._offset:
                    break
                handle.seek(self._offset)
                data = handle.read(CHUNK)
            end = data.rfind(b"\n")
            if end < 0:
                if len(data) < CHUNK:
                    break  # half a line: read again when it is whole
                end = len(data) - 1  # a line longer than a step: taken in parts, matching nothing
            self._take(data[: end + 1])
            self._offset += end + 1
            changed = True
        if changed:
            self._answer = list(self._calls)
        return self._answer

    def _forget(self) -> None:
        self._offset = 0
        self._calls = []
        self._model = self._turn = self._turn_at = None
        self._in_prompt = False
        self._session_cost = None
        self._costless = None

    def _take(self, data: bytes) -> None:
        at = self._offset
        for raw in data.split(b"\n"):
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            self._line(line, at)
            at += len(raw) + 1

    def _line(self, line: str, at: int) -> None:
        costless, self._costless = self._costless, None
        prompt = line.startswith(PROMPT)
        if prompt and not self._in_prompt:
            self._turn = f"{self.start}:{at}"
            # The file has no times: the turn began before it was first seen.
            self._turn_at = datetime.now(UTC).isoformat()
        self._in_prompt = prompt
        if line.startswith(STARTED):
            self._session_cost = None
            return
        model = MODEL.match(line)
        if model is not None:
            self._model = model.group(1)
            return
        found = TOKENS.match(line)
        if found is not None:
            sent, write, hit, received, message, session = found.groups()
            self._calls.append(
                Usage(
                    input=max(0, tokens(sent) - tokens(write) - tokens(hit)),
                    cached=tokens(hit),
                    cache_write=tokens(write),
                    output=tokens(received),
                    cost_usd=self._cost(message, session),
                    model=self._model,
                    turn=self._turn,
                    turn_at=self._turn_at,
                )
            )
            if message is None:
                self._costless = len(self._calls) - 1
            return
        cost = COST.match(line)
        if cost is not None and costless is not None:
            call = self._calls[costless]
            self._calls[costless] = replace(call, cost_usd=self._cost(*cost.groups()))

    def _cost(self, message: str | None, session: str | None) -> float | None:
        """The call's cost from Aider's figures; None when it gave none."""
        if message is None or session is None:
            return None
        total, before = float(session), self._session_cost
        self._session_cost = total
        if before is None or total < before:
            return float(message)
        return round(total - before, 6)

    def problems(self) -> list[str]:
        return [f"{self.path}: not found"] if self._missing else []
