"""The price table: what a model's tokens cost when the CLI does not say (see
``harnex_tmux/data/prices.toml`` for the format). Never a guess: a model that is in no
table, or has tokens of a kind its entry has no price for, costs None ("unknown")."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from harnex_tmux.errors import PriceFileError
from harnex_tmux.usage.model import KINDS, Usage

PER = 1_000_000
USER_FILE_VARIABLE = "HARNEX_PRICES"


@dataclass(frozen=True)
class PriceTable:
    """Prices in USD per million tokens, by model (or pattern) and kind."""

    models: dict[str, dict[str, float]]
    date: str | None = None
    problems: list[str] = field(default_factory=list)
    # The entry each model name matched, found once (a long session prices the same model
    # thousands of times).
    _found: dict[str, dict[str, float] | None] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def entry(self, model: str | None) -> dict[str, float] | None:
        if not model:
            return None
        if model in self.models:
            return self.models[model]
        if model not in self._found:
            patterns = [p for p in self.models if "*" in p and fnmatch.fnmatchcase(model, p)]
            self._found[model] = self.models[max(patterns, key=len)] if patterns else None
        return self._found[model]

    def price(self, usage: Usage) -> Usage:
        """``usage`` with its cost: the CLI's own figure if it has one, else from the table."""
        if usage.cost_usd is not None:
            return usage
        prices = self.entry(usage.model)
        if prices is None:
            return usage
        cost = 0.0
        for kind in KINDS:
            tokens = getattr(usage, kind)
            rate = prices.get(kind)
            if rate is None and kind == "reasoning":
                rate = prices.get("output")
            if tokens and rate is None:
                return replace(usage, cost_usd=None)
            cost += tokens * (rate or 0.0) / PER
        return replace(usage, cost_usd=cost)

    def merged(self, other: PriceTable) -> PriceTable:
        """This table with ``other``'s models over it (a user's file over the shipped one)."""
        return PriceTable(
            {**self.models, **other.models},
            other.date or self.date,
            [*self.problems, *other.problems],
        )


def parse(text: str, where: str) -> PriceTable:
    """A price table from TOML text; :class:`PriceFileError` names the first thing wrong."""
    import tomllib  # not at import: a sidecar loads prices only once it has usage to price

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriceFileError(f"{where}: not TOML ({exc})") from exc
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise PriceFileError(f"{where}: [models] must be a table of models")
    table: dict[str, dict[str, float]] = {}
    for name, prices in models.items():
        if not isinstance(prices, dict):
            raise PriceFileError(f"{where}: model {name!r} must be a table of prices")
        entry: dict[str, float] = {}
        for kind, value in prices.items():
            if kind not in KINDS:
                raise PriceFileError(f"{where}: model {name!r}: unknown kind {kind!r}")
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value < 1e6
            ):
                raise PriceFileError(f"{where}: model {name!r}: {kind} must be a price >= 0")
            entry[kind] = float(value)
        table[name] = entry
    date = data.get("date")
    return PriceTable(table, str(date) if date is not None else None)


def shipped() -> PriceTable:
    text = resources.files("harnex_tmux").joinpath("data", "prices.toml").read_text("utf-8")
    return parse(text, "shipped prices.toml")


def user_file() -> Path:
    named = os.environ.get(USER_FILE_VARIABLE)
    if named:
        return Path(named).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "harnex" / "prices.toml"


def load() -> PriceTable:
    """The shipped table with the user's over it; a bad user file is one line in
    ``problems`` and the shipped table alone is used."""
    table = shipped()
    path = user_file()
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return table
    except (OSError, UnicodeDecodeError) as exc:
        return replace(table, problems=[f"{path}: unreadable ({exc}); using the shipped prices"])
    try:
        return table.merged(parse(text, str(path)))
    except PriceFileError as exc:
        return replace(table, problems=[f"{exc}; using the shipped prices"])


def describe(table: PriceTable) -> dict[str, Any]:
    return {"date": table.date, "models": len(table.models)}
