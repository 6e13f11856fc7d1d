"""One session's usage: its sources read (incrementally), priced, and summed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
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

    @cached_property
    def total(self) -> Usage:
        return total(self.calls)

    def by_model(self) -> dict[str, Usage]:
        groups: dict[str, list[Usage]] = {}
        for call in self.calls:
            groups.setdefault(call.model or "unknown", []).append(call)
        return {model: total(calls) for model, calls in groups.items()}

    def to_dict(self) -> dict[str, Any]:
        """The ``usage`` object of ``status --json`` and ``GET /usage`` (a fresh copy)."""
        return {**self._dict, "models": dict(self._dict["models"])}

    @cached_property
    def _dict(self) -> dict[str, Any]:
        data = self.total.to_dict()
        data["calls"] = len(self.calls)
        data["models"] = {model: u.to_dict() for model, u in self.by_model().items()}
        if self.problems:
            data["problems"] = list(self.problems)
        return data


class SessionUsage:
    """Keeps a reader per source, so each read takes only what was added since the last."""

    def __init__(
        self, prices: PriceTable | Callable[[], PriceTable], sources: list[Source] | None = None
    ) -> None:
        # A loader is called at the first read with a source: a sidecar whose agent never
        # names one never reads a price file.
        self._prices = prices
        self._readers: dict[Source, Reader] = {}
        # Per reader, its last answer and that answer priced; and the last report, given
        # again while no reader has anything new (a refresh of a long session costs nothing).
        self._priced: dict[Source, tuple[list[Usage], list[Usage]]] = {}
        self._report: Report | None = None
        for source in sources or []:
            self.add(source)

    @property
    def prices(self) -> PriceTable:
        if not isinstance(self._prices, PriceTable):
            self._prices = self._prices()
        return self._prices

    @property
    def sources(self) -> list[Source]:
        return list(self._readers)

    def add(self, source: Source) -> bool:
        """Read ``source`` from now on; False if it was already read."""
        if source in self._readers:
            return False
        self._readers[source] = source.reader()
        self._report = None
        return True

    def read(self) -> Report:
        calls: list[Usage] = []
        problems = list(self.prices.problems) if self._readers else []
        same = self._report is not None
        for source, reader in self._readers.items():
            try:
                found = reader.read()
            except Exception as exc:  # a reader's bug must never take a session down
                problems.append(f"{type(exc).__name__}: {exc}")
                found = []
            kept = self._priced.get(source)
            if kept is None or kept[0] is not found:
                same = False
                kept = (found, [self.prices.price(call) for call in found])
                self._priced[source] = kept
            calls += kept[1]
            problems += reader.problems()
        if not self._readers:
            problems.append("no usage source known yet (the agent has not reported one)")
        if same and self._report is not None and self._report.problems == problems:
            return self._report
        self._report = Report(calls, problems)
        return self._report
