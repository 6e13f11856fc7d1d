"""Token counts for people."""

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
