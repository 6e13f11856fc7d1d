"""Qwen Code's usage: its session's chat file (checked against 0.24.4).

The chat file (``~/.qwen/projects/<project>/chats/<session id>.jsonl``, the hooks'
``transcript_path``) is JSON lines, one record each (``uuid``, ``type`` user, assistant,
tool_result or system, ``timestamp``). An assistant record carries ``model`` and
``usageMetadata`` in the Gemini API's names but not quite its terms: ``promptTokenCount``
with the cached part (``cachedContentTokenCount``) in it, and ``candidatesTokenCount`` with
the reasoning (``thoughtsTokenCount``) in it: 0.24.4 copies an OpenAI-style answer's
``completion_tokens`` there (its ``totalTokenCount`` is prompt plus candidates). A call's
turn is the user record before it (tool results are records of their own, in the same turn).
"""

from __future__ import annotations

from typing import Any

from harnex_tmux.usage.model import Usage, count
from harnex_tmux.usage.reader import ChatFile


def record_usage(line: dict[str, Any], turn: str | None) -> Usage | None:
    meta = line.get("usageMetadata")
    if line.get("type") != "assistant" or not isinstance(meta, dict):
        return None
    cached = count(meta.get("cachedContentTokenCount"))
    thoughts = count(meta.get("thoughtsTokenCount"))
    model, at = line.get("model"), line.get("timestamp")
    return Usage(
        input=max(0, count(meta.get("promptTokenCount")) - cached)
        + count(meta.get("toolUsePromptTokenCount")),
        cached=cached,
        output=max(0, count(meta.get("candidatesTokenCount")) - thoughts),
        reasoning=thoughts,
        cost_usd=None,
        model=model if isinstance(model, str) else None,
        at=at if isinstance(at, str) else None,
        turn=turn,
    )


class QwenReader(ChatFile):
    """A Qwen Code session's chat file."""

    id_key = "uuid"

    def usage_of(self, line: dict[str, Any], turn: str | None) -> Usage | None:
        return record_usage(line, turn)
