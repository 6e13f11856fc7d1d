"""One session's usage: its sources read (incrementally), priced, and summed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harnex_tmux.usage.model import Usage, total
from harnex_tmux.usage.prices import PriceTable
from harnex_tmux.usage.reader import Reader
from harnex_tmux.usage.sources import Source


@dataclass(frozen=True)
class Report:
    """What a session used: every model call (priced), their sum, and what could not be read."""

    calls: list[Usage]
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> Usage:
        return total(self.calls)

    def by_model(self) -> dict[str, Usage]:
        groups: dict[str, list[Usage]] = {}
        for call in self.calls:
            groups.setdefault(call.model or "unknown", []).append(call)
        return {model: total(calls) for model, calls in groups.items()}

    def to_dict(self) -> dict[str, Any]:
        """The ``usage`` object of ``status --json`` and ``GET /usage``."""
        data = self.total.to_dict()
        data["calls"] = len(self.calls)
        data["models"] = {model: u.to_dict() for model, u in self.by_model().items()}
        if self.problems:
            data["problems"] = list(self.problems)
        return data


class SessionUsage:
    """Keeps a reader per source, so each read takes only what was added since the last."""

    def __init__(self, prices: PriceTable, sources: list[Source] | None = None) -> None:
        self.prices = prices
        self._readers: dict[Source, Reader] = {}
        for source in sources or []:
            self.add(source)

    @property
    def sources(self) -> list[Source]:
        return list(self._readers)

    def add(self, source: Source) -> bool:
        """Read ``source`` from now on; False if it was already read."""
        if source in self._readers:
            return False
        self._readers[source] = source.reader()
        return True

    def read(self) -> Report:
        calls: list[Usage] = []
        problems = list(self.prices.problems)
        for reader in self._readers.values():
            try:
                calls += [self.prices.price(call) for call in reader.read()]
            except Exception as exc:
                problems.append(f"{type(exc).__name__}: {exc}")
            problems += reader.problems()
        if not self._readers:
            problems.append("no usage source known yet (the agent has not reported one)")
        return Report(calls, problems)
