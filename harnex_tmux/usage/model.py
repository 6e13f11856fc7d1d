"""What a model call cost, in the same terms for every CLI.

Each CLI counts its tokens its own way (Codex's input includes the cached part, Claude's does
not; Codex's output includes reasoning, Gemini's does not). The readers turn them into these
five disjoint kinds, so a sum across CLIs means one thing and a price applies to each kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

KINDS = ("input", "cached", "cache_write", "output", "reasoning")


@dataclass(frozen=True)
class Usage:
    """Tokens of one model call (or a sum of calls), by kind, with what they cost.

    ``input`` is input read fresh, ``cached`` input read from the provider's cache,
    ``cache_write`` input written to it, ``output`` the visible output, ``reasoning`` the
    model's thinking. ``cost_usd`` is None when any part of it has no known price: a cost is
    the CLI's own figure or tokens times the price table, never a guess. ``model`` is the one
    model of every call summed, else None; ``at`` the call's time (ISO-8601) when known;
    ``turn`` the CLI's own name for the turn the call was made in (the prompt it answers),
    which groups a session's calls into turns exactly, however late the CLI writes them;
    ``turn_at`` when that turn began (its prompt's time), which a CLI that writes a call
    after it reported the turn's end (Qwen Code) may stamp later than that end.
    """

    input: int = 0
    cached: int = 0
    cache_write: int = 0
    output: int = 0
    reasoning: int = 0
    cost_usd: float | None = 0.0
    model: str | None = None
    at: str | None = None
    turn: str | None = None
    turn_at: str | None = None

    @property
    def tokens(self) -> int:
        return self.input + self.cached + self.cache_write + self.output + self.reasoning

    def __add__(self, other: Usage) -> Usage:
        cost = (
            None
            if self.cost_usd is None or other.cost_usd is None
            else self.cost_usd + other.cost_usd
        )
        return Usage(
            input=self.input + other.input,
            cached=self.cached + other.cached,
            cache_write=self.cache_write + other.cache_write,
            output=self.output + other.output,
            reasoning=self.reasoning + other.reasoning,
            cost_usd=cost,
            model=self.model if self.model == other.model else None,
            at=max(self.at or "", other.at or "") or None,
            turn=self.turn if self.turn == other.turn else None,
            turn_at=_earliest(self.turn_at, other.turn_at),
        )

    def minus(self, other: Usage) -> Usage:
        """The tokens of ``self`` that ``other`` (an earlier total of the same session) did
        not have: one turn's share. The cost is the difference when both are known."""
        cost = (
            None
            if self.cost_usd is None or other.cost_usd is None
            else self.cost_usd - other.cost_usd
        )
        return replace(
            self,
            input=self.input - other.input,
            cached=self.cached - other.cached,
            cache_write=self.cache_write - other.cache_write,
            output=self.output - other.output,
            reasoning=self.reasoning - other.reasoning,
            cost_usd=None if cost is None else max(0.0, cost),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``harnex usage --json``, ``GET /usage`` and ``status --json``."""
        data: dict[str, Any] = {kind: getattr(self, kind) for kind in KINDS}
        data["tokens"] = self.tokens
        data["cost_usd"] = None if self.cost_usd is None else round(self.cost_usd, 6)
        data["model"] = self.model
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Usage | None:
        """The inverse of :meth:`to_dict`, or None for anything that is not one."""
        if not isinstance(data, dict):
            return None
        counts = {kind: data.get(kind, 0) for kind in KINDS}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
            return None
        cost = data.get("cost_usd")
        model = data.get("model")
        return cls(
            **counts,
            cost_usd=float(cost)
            if isinstance(cost, int | float) and not isinstance(cost, bool)
            else None,
            model=model if isinstance(model, str) else None,
        )


def _earliest(a: str | None, b: str | None) -> str | None:
    return min(a, b) if a and b else a or b


NOTHING = Usage()


def total(parts: list[Usage]) -> Usage:
    """The sum of ``parts`` (nothing at all costs 0 and has no model)."""
    result = NOTHING
    for part in parts:
        result = part if result is NOTHING else result + part
    return result


def count(value: Any) -> int:
    """A token count out of an agent's file: a non-negative whole number, else 0 (a file
    written by a newer or broken CLI must never make a total go wrong or raise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if value != value or value < 0 or value > 10**15:
        return 0
    return int(value)
