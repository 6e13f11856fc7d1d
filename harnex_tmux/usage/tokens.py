"""Token counts and costs for people."""

from __future__ import annotations

from typing import Any


def short_count(value: Any) -> str:
    """``950``, ``12.3k``, ``4.5M``: a count to read at a glance (``-`` for no count)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "-"
    if value < 1000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}k"
    return f"{value / 1_000_000:.1f}M"


def money(cost: float | None) -> str:
    """A cost for people: ``$0.0123``, or ``unknown`` when part of it has no price."""
    if cost is None:
        return "unknown"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"
