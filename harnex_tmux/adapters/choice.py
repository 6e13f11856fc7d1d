"""Picking a dialog's option by its text, wherever the CLI put it and its cursor.

A CLI's dialog is a list of options with a cursor glyph on one of them, and Enter takes
the one under the cursor. Which option comes first, and where the cursor starts, changes
between releases (Claude Code 2.1.197 lists "Yes, I trust this folder" first with the
cursor on it; 2.1.332 lists "No, exit" first, with the cursor there), so a fixed key is a
guess that can decline. An adapter file names the option by its text instead; the keys
come from the screen: Up or Down as many times as there are options between the cursor's
line and the wanted one, then the key that confirms.
"""

from __future__ import annotations

import re

# An option's number, as in "❯ 1. Yes": when both lines have one, it counts the steps
# (an option whose text wraps onto a second line is still one step).
_NUMBER = re.compile(r"(\d+)[.)]\s")
# Box-drawing edges some CLIs draw a dialog in ("│ › 1. Trust folder").
_EDGES = "│┃║|"


def _strip(line: str) -> str:
    return line.strip().strip(_EDGES).strip()


def moves_to(screen: str, wanted: str, cursor: str) -> tuple[str, ...] | None:
    """The keys (Up or Down, repeated; none when it is there) that move the dialog's
    ``cursor`` glyph onto the option reading ``wanted``.

    None when the screen does not show both (a dialog still being drawn, or a release that
    words the option otherwise): pressing anything then would be a guess.
    """
    lines = [_strip(line) for line in screen.splitlines()]
    wanted_folded = wanted.casefold()
    targets = [i for i, line in enumerate(lines) if wanted_folded in line.casefold()]
    cursors = [i for i, line in enumerate(lines) if line.startswith(cursor)]
    if not targets or not cursors:
        return None
    # The option list is where the cursor is: the wanted line nearest to a cursor line.
    target, at = min(((t, c) for t in targets for c in cursors), key=lambda p: abs(p[0] - p[1]))
    steps = _steps(lines, at, target, cursor)
    key = "Down" if steps > 0 else "Up"
    return (key,) * abs(steps)


def _steps(lines: list[str], at: int, target: int, cursor: str) -> int:
    """Options from the cursor's line to the target's, signed (down is positive)."""
    if at == target:
        return 0
    here = _NUMBER.match(lines[at][len(cursor) :].strip())
    there = _NUMBER.match(lines[target])
    if here and there:
        return int(there.group(1)) - int(here.group(1))
    low, high = sorted((at, target))
    # Each non-blank line from the one after the upper to the lower one is one option.
    count = sum(1 for line in lines[low + 1 : high + 1] if line)
    return count if target > at else -count
