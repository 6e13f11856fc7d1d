"""Codex's usage: its rollout file (checked against 0.169.0).

Each answer adds an ``event_msg`` of ``payload.type == "token_count"`` whose
``payload.info.total_token_usage`` is the thread's running total (``input_tokens`` with the
cached part in it, ``cached_input_tokens``, ``cache_write_input_tokens``, ``output_tokens``
with the reasoning in it, ``reasoning_output_tokens``). A call's share is the growth of that
total, so an event written twice counts once; a total that went down (a new count) falls back
to the event's ``last_token_usage``. The model and the turn (``turn_id``) are those of the
latest ``turn_context``.

Codex 0.171.0 also writes a ``token_usage_record`` for each answer as soon as it arrives
(``payload.usage``: that call's counts, ``payload.response_id``, ``payload.turn_id``), while its
``token_count`` may wait until the tools the answer asked for have run. A file with such
records is counted by them (once per response id), and its ``token_count`` events are not
counted again: a budget then sees a call while its turn still runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harnex_tmux.usage.model import Usage, count
from harnex_tmux.usage.reader import Entries, JsonlFiles

_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
)
Counts = tuple[int, ...]


def counts(value: Any) -> Counts | None:
    """The five counts of a Codex token usage object, or None if it is not one."""
    if not isinstance(value, dict):
        return None
    return tuple(count(value.get(name)) for name in _FIELDS)


def as_usage(raw: Counts, model: str | None, at: str | None, turn: str | None = None) -> Usage:
    fresh, cached, written, output, reasoning = raw
    return Usage(
        input=max(0, fresh - cached - written),
        cached=cached,
        cache_write=written,
        output=max(0, output - reasoning),
        reasoning=reasoning,
        cost_usd=None,
        model=model,
        at=at,
        turn=turn,
    )


class CodexReader(JsonlFiles):
    """A Codex thread's rollout file."""

    def __init__(self, rollout: str) -> None:
        super().__init__()
        self.rollout = rollout
        self._model: str | None = None
        self._turn: str | None = None
        self._turn_at: str | None = None
        self._total: Counts | None = None
        self._calls = 0
        self._records = False

    def paths(self) -> list[str]:
        return [self.rollout]

    def restart(self, path: str) -> None:
        self._model, self._turn, self._total, self._calls = None, None, None, 0
        self._records = False

    def take(self, path: str, line: dict[str, Any], entries: Entries) -> None:
        payload = line.get("payload")
        if not isinstance(payload, dict):
            return
        if line.get("type") == "turn_context":
            model, turn = payload.get("model"), payload.get("turn_id")
            self._model = model if isinstance(model, str) else self._model
            self._turn = turn if isinstance(turn, str) else None
            at = line.get("timestamp")
            self._turn_at = at if isinstance(at, str) else None
            return
        if line.get("type") == "token_usage_record":
            self._record(line, payload, entries)
            return
        if line.get("type") != "event_msg" or payload.get("type") != "token_count":
            return
        info = payload.get("info")
        total = counts(info.get("total_token_usage")) if isinstance(info, dict) else None
        if total is None or not isinstance(info, dict):
            return
        previous = self._total
        if self._records:
            self._total = total  # counted by the records already
            return
        if previous is None:
            share = total
        elif all(now >= before for now, before in zip(total, previous, strict=True)):
            share = tuple(now - before for now, before in zip(total, previous, strict=True))
        else:
            share = counts(info.get("last_token_usage")) or total
        self._total = total
        if not any(share):
            return
        self._calls += 1
        at = line.get("timestamp")
        when = at if isinstance(at, str) else None
        usage = as_usage(share, self._model, when, self._turn)
        entries[str(self._calls)] = replace(usage, turn_at=self._turn_at)

    def _record(self, line: dict[str, Any], payload: dict[str, Any], entries: Entries) -> None:
        """One answer's own counts, written as it arrived (Codex 0.171.0)."""
        raw = counts(payload.get("usage"))
        if raw is None:
            return
        if not self._records:
            # From here on the records count: the running totals before them were counted
            # by their token_count events already, the ones after would count twice.
            self._records = True
        response = payload.get("response_id")
        if isinstance(response, str) and response:
            key = f"response:{response}"
        else:
            self._calls += 1
            key = str(self._calls)
        turn = payload.get("turn_id")
        at = line.get("timestamp")
        usage = as_usage(
            raw,
            self._model,
            at if isinstance(at, str) else None,
            turn if isinstance(turn, str) else self._turn,
        )
        entries[key] = replace(usage, turn_at=self._turn_at)
