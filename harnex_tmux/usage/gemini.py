"""Gemini CLI's usage: its session's chat file (checked against 0.61.0).

The chat file (``<GEMINI_CLI_HOME>/.gemini/tmp/<project>/chats/session-*.jsonl``, the hooks'
``transcript_path``) is JSON lines: a message each (``id``, ``type`` user or gemini,
``timestamp``), written again whole when it changes (the same id: the last line wins), and
``{"$set": ...}`` lines for the session's metadata. A ``gemini`` message carries ``model`` and
``tokens {input, output, cached, thoughts, tool, total}``, where ``input`` includes ``cached``
and ``tool`` (the tool-use prompt) counts apart. A call's turn is the user message before it.
"""

from __future__ import annotations

from typing import Any

from harnex_tmux.usage.model import Usage, count
from harnex_tmux.usage.reader import ChatFile


def message_usage(line: dict[str, Any], turn: str | None) -> Usage | None:
    tokens = line.get("tokens")
    if line.get("type") != "gemini" or not isinstance(tokens, dict):
        return None
    cached = count(tokens.get("cached"))
    model, at = line.get("model"), line.get("timestamp")
    return Usage(
        input=max(0, count(tokens.get("input")) - cached) + count(tokens.get("tool")),
        cached=cached,
        output=count(tokens.get("output")),
        reasoning=count(tokens.get("thoughts")),
        cost_usd=None,
        model=model if isinstance(model, str) else None,
        at=at if isinstance(at, str) else None,
        turn=turn,
    )


class GeminiReader(ChatFile):
    """A Gemini CLI session's chat file."""

    def usage_of(self, line: dict[str, Any], turn: str | None) -> Usage | None:
        return message_usage(line, turn)
