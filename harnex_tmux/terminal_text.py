"""Turning raw terminal output into readable text."""

from __future__ import annotations

import re

# CSI, OSC (ended by BEL or ST), other two-byte escapes, and C0/C1 controls except \t \n.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x1b[ -/]*[0-~]"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]"
)


def strip_ansi(text: str) -> str:
    """Remove escape sequences and controls; carriage returns become line breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ESCAPES.sub("", text)
