"""Budgets: how much a session may spend, and what to do as it spends it.

One parser serves ``harnex run --budget``, ``harnex budget --add`` and the budget file a
sidecar reads back after a restart, so ``5usd`` means the same thing everywhere. The
decision (:func:`decide`) is a pure function of the limit, what was spent and what was done
already, so the sidecar only carries it out and a restarted sidecar never does a step twice.

What counts against a token budget is every token kind the session's usage counts (input,
cached, cache_write, output, reasoning: the TOKENS column), because each one is billed; a
USD budget counts the usage's cost, and a cost that is unknown is never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from harnex_tmux.errors import BudgetError

Kind = Literal["usd", "tokens"]

# Above these a budget is a typo, not a limit (a trillion tokens, a million dollars).
MAX_TOKENS = 10**12
MAX_USD = Decimal(1_000_000)
# The sidecar's answer to a send while the budget is spent (HTTP 402 Payment Required).
BUDGET_REACHED = 402
# The share of the limit at which the warning is given.
WARN_AT = Decimal("0.8")

_TOKENS = re.compile(r"([0-9]+(?:\.[0-9]+)?)([km]?)")
_USD = re.compile(r"\$?([0-9]+(?:\.[0-9]{1,6})?)\s*(?:usd|\$)?")
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}
HINT = "use e.g. 5usd, $2.50, 2M, 150k or 2000000 (tokens)"


@dataclass(frozen=True)
class Budget:
    """A limit on one session's spending: ``limit`` US dollars (a Decimal, exact) or
    ``limit`` tokens (an int)."""

    kind: Kind
    limit: Decimal | int

    def __str__(self) -> str:
        return format_amount(self.kind, self.limit)

    def to_text(self) -> str:
        """The form :func:`parse_budget` reads back (``5usd``, ``150000``)."""
        return f"{self.limit}usd" if self.kind == "usd" else str(self.limit)

    def plus(self, extra: Budget) -> Budget:
        """This budget raised by ``extra`` (of the same kind)."""
        if extra.kind != self.kind:
            raise BudgetError(
                f"the budget is in {_unit(self.kind)}; add {_unit(self.kind)}, not {extra}"
            )
        limit = self.limit + extra.limit
        _check_size(self.kind, limit, str(limit))
        return Budget(self.kind, limit)


def parse_budget(text: str) -> Budget:
    """The budget ``text`` names: ``5usd``, ``$5``, ``2.5 USD`` (dollars); ``2M``, ``150k``,
    ``2000000`` (tokens). BudgetError, one line, for anything else (a currency other than
    USD, a sign, nan, inf, zero, an absurd size)."""
    if not isinstance(text, str):
        raise BudgetError(f"invalid budget {text!r} ({HINT})")
    raw = text.strip().lower().replace("_", "")
    if len(raw) > 40:
        raise BudgetError(f"budget {text[:40]!r}... is too large")
    match = _TOKENS.fullmatch(raw)
    if match is not None:
        number, suffix = match.groups()
        value = Decimal(number) * _SCALE[suffix]
        if value != value.to_integral_value():
            raise BudgetError(f"invalid budget {text!r}: tokens are whole ({HINT})")
        tokens = int(value)
        _check_size("tokens", tokens, text)
        return Budget("tokens", tokens)
    match = _USD.fullmatch(raw)
    if match is not None and ("usd" in raw or "$" in raw):
        usd = Decimal(match.group(1))
        _check_size("usd", usd, text)
        return Budget("usd", usd)
    raise BudgetError(f"invalid budget {text!r} ({HINT})")


def _check_size(kind: Kind, limit: Decimal | int, text: str) -> None:
    if limit <= 0:
        raise BudgetError(f"budget {text!r} must be more than zero")
    if limit > (MAX_USD if kind == "usd" else MAX_TOKENS):
        raise BudgetError(f"budget {text!r} is too large")


def _unit(kind: Kind) -> str:
    return "USD" if kind == "usd" else "tokens"


def format_amount(kind: Kind, amount: Decimal | int | float) -> str:
    """An amount as messages show it: ``5.02 USD``, ``1,500,000 tokens``."""
    if kind == "usd":
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
        shown = f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"
        return f"{shown} USD"
    return f"{int(amount):,} tokens"


# --- what to do ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What was done for a budget so far, kept with it (so a restart does nothing twice):
    the limit each step was taken at (None: not yet), and whether an unknown cost was said."""

    warned_at: str | None = None
    exceeded_at: str | None = None
    unknown_said: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "warned_at": self.warned_at,
            "exceeded_at": self.exceeded_at,
            "unknown_said": self.unknown_said,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Progress:
        if not isinstance(data, dict):
            return cls()
        warned, exceeded = data.get("warned_at"), data.get("exceeded_at")
        return cls(
            warned_at=warned if isinstance(warned, str) else None,
            exceeded_at=exceeded if isinstance(exceeded, str) else None,
            unknown_said=data.get("unknown_said") is True,
        )


@dataclass(frozen=True)
class Decision:
    """The steps to take now: ``warn`` (the 80 % event and escalation), ``exceed`` (interrupt
    the turn, hold the inbox), ``say_unknown`` (the cost cannot be known: not enforced);
    ``held`` whether the inbox stays held, and ``progress`` what to keep."""

    warn: bool
    exceed: bool
    say_unknown: bool
    held: bool
    progress: Progress


def spent_of(kind: Kind, tokens: int, cost_usd: float | None) -> Decimal | int | None:
    """What counts against a budget of ``kind``: the tokens, or the cost (None: unknown)."""
    if kind == "tokens":
        return tokens
    return None if cost_usd is None else Decimal(str(cost_usd))


def decide(budget: Budget, spent: Decimal | int | None, progress: Progress) -> Decision:
    """What to do with ``spent`` against ``budget``: each step once per limit (a raised
    limit can warn and stop again), nothing at all for an unknown spending but saying so
    once. The hold lasts while the spending is at or over the limit."""
    limit_key = budget.to_text()
    if spent is None:
        say = not progress.unknown_said
        kept = Progress(progress.warned_at, progress.exceeded_at, True)
        return Decision(False, False, say, False, kept)
    over = spent >= budget.limit
    near = spent >= budget.limit * WARN_AT
    warn = near and progress.warned_at != limit_key
    exceed = over and progress.exceeded_at != limit_key
    kept = Progress(
        warned_at=limit_key if near else progress.warned_at,
        exceeded_at=limit_key if over else progress.exceeded_at,
        unknown_said=progress.unknown_said,
    )
    return Decision(warn, exceed, False, over, kept)


def reached_message(ident: str, budget: Budget, spent: Decimal | int | float) -> str:
    """The one line a refused send gives: what was spent of what, and how to go on."""
    more = "2usd" if budget.kind == "usd" else "1M"
    return (
        f"budget reached: spent {format_amount(budget.kind, spent)} of {budget} "
        f"(harnex budget --id {ident} --add {more})"
    )
