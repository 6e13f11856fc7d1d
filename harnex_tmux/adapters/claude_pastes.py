"""Claude Code's wrapper around pasted text, and the text inside it.

From 2.1.332 on (where its ``tengu_virtual_pancake`` feature is on: by default whenever its
telemetry is off, as with ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``, or with another API
provider; otherwise as its server decides), a paste that Claude Code collapses in its input
box (``[Pasted text #1 +29 lines]``: more than two lines, or long) reaches the model, and
its ``UserPromptSubmit`` hook, wrapped::

    \\n\\n<pasted_content id="5491">\\n<the text>\\n</pasted_content id="5491">\\n

with a note in the system prompt saying such blocks are pasted material. No setting or
variable turns it off (docs/adapters.md). The text inside is the pasted text exactly, so
harnex reads the reported prompt through :func:`unwrap_pastes` before comparing it with
what it typed: the message is proven delivered, and the model gets it inside the tags.
"""

from __future__ import annotations

import re

# The opener and closer carry the same four-hex-digit id; the body ends with one newline.
_BLOCK = re.compile(
    r'<pasted_content id="(?P<id>[0-9a-f]{4})">\n(?P<body>.*?)\n?</pasted_content id="(?P=id)">\n?',
    re.DOTALL,
)
# Inside a block, Claude Code escapes a tag of its own as "<\": undone here.
_ESCAPED = re.compile(r"<\\(?=/?pasted_content)")


def wrapped(prompt: str) -> bool:
    """Whether ``prompt`` holds a pasted-content block."""
    return _BLOCK.search(prompt) is not None


def unwrap_pastes(prompt: str) -> str:
    """``prompt`` with each pasted-content block replaced by the text inside it (and the
    blank line Claude Code puts before a block dropped), so it reads as what was typed."""
    if not wrapped(prompt):
        return prompt
    parts: list[str] = []
    end = 0
    for block in _BLOCK.finditer(prompt):
        before = prompt[end : block.start()]
        parts.append(before.removesuffix("\n\n") if before.endswith("\n\n") else before)
        parts.append(_ESCAPED.sub("<", block.group("body")))
        end = block.end()
    parts.append(prompt[end:])
    return "".join(parts)
