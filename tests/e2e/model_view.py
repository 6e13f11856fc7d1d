"""What the model gets for a message typed into an agent CLI, checked exactly.

Claude Code composes combining marks itself (NFC) before sending, and from 2.1.332 on sends
a paste it collapses (more than two lines, or long) inside its pasted-content tags
(harnex_tmux/adapters/claude_pastes.py). A test that pastes text asserts the turn is that
text exactly, or, in those tags, exactly that text inside them: never "contains".
"""

from __future__ import annotations

import re
import unicodedata

_OPENER = re.compile(r'\n\n<pasted_content id="([0-9a-f]{4})">\n')


def assert_model_got(cli: str, text: str, turn: str) -> None:
    """The model got exactly ``text`` as ``turn`` (for Claude Code: NFC, maybe in the tags)."""
    if cli == "claude":
        text = unicodedata.normalize("NFC", text)
        tag = _OPENER.match(turn)
        if tag is not None:
            wrapped = f'<pasted_content id="{tag[1]}">\n{text}\n</pasted_content id="{tag[1]}">'
            assert turn == f"\n\n{wrapped}\n", "the model must get the text exactly, in the tags"
            return
    assert turn == text, "the model must get the exact text as one turn"
