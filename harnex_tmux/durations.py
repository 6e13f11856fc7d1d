"""Human durations for watch limits: ``90s``, ``8m``, ``1h``, ``1h30m``, or plain seconds.

One parser serves the command line and the preset files, so ``--stall-after 8m`` and
``stall_after = "8m"`` in a preset always mean the same thing.
"""

from __future__ import annotations

import math
import re

from harnex_tmux.errors import DurationError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smh])")
_PLAIN = re.compile(r"\d+(?:\.\d+)?")


def parse_duration(value: str | int | float) -> float:
    """Seconds for ``value``; raises DurationError when it is negative or malformed.

    Zero is allowed here (callers that need a positive window check it themselves).
    """
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower()
        if text.startswith("-"):
            raise DurationError(f"duration must not be negative: {value!r}")
        if _PLAIN.fullmatch(text):
            seconds = float(text)
        else:
            parts = _PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise DurationError(
                    f"invalid duration {value!r} (use e.g. 90s, 8m, 1h, 1h30m or seconds)"
                )
            seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if not math.isfinite(seconds):
        raise DurationError(f"invalid duration {value!r}")
    if seconds < 0:
        raise DurationError(f"duration must not be negative: {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The short form used in messages: ``8m``, ``90s``, ``1h``, ``1.5s``."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"
