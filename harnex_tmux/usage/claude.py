"""Claude Code's usage: its session transcript (checked against 2.1.197 and 2.1.332, the pin).

Each assistant line carries ``message.usage`` (``input_tokens`` fresh,
``cache_read_input_tokens``, ``cache_creation_input_tokens``, ``output_tokens`` with any
thinking in it) and ``message.model``. One API answer is written as one line per content
block, each repeating the usage: counted once per message id and request id, the last line
winning (its output count is final). A user line's ``promptId`` (which its tool results
repeat) names the turn of the calls after it. Lines marked ``isSidechain`` in the main
transcript are copies of a subagent's work, which the subagent's own file (under
``<session id>/`` next to the transcript) counts; the ``<synthetic>`` model marks lines
Claude Code wrote itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from harnex_tmux.usage.model import Usage, count
from harnex_tmux.usage.reader import Entries, JsonlFiles

SYNTHETIC = "<synthetic>"


def entry(line: dict[str, Any], main: bool, turn: str | None = None) -> tuple[str, Usage] | None:
    """The key and usage of one transcript line, or None when it does not count; ``turn`` is
    the prompt it answers (the ``promptId`` of the user line before it)."""
    if line.get("type") != "assistant" or (main and line.get("isSidechain") is True):
        return None
    message = line.get("message")
    if not isinstance(message, dict):
        return None
    usage, model = message.get("usage"), message.get("model")
    if not isinstance(usage, dict) or model == SYNTHETIC:
        return None
    message_id, request_id = message.get("id"), line.get("requestId")
    if isinstance(message_id, str):
        key = f"{message_id}/{request_id if isinstance(request_id, str) else ''}"
    elif isinstance(line.get("uuid"), str):
        key = str(line["uuid"])
    else:
        return None
    at = line.get("timestamp")
    return key, Usage(
        input=count(usage.get("input_tokens")),
        cached=count(usage.get("cache_read_input_tokens")),
        cache_write=count(usage.get("cache_creation_input_tokens")),
        output=count(usage.get("output_tokens")),
        cost_usd=None,
        model=model if isinstance(model, str) else None,
        at=at if isinstance(at, str) else None,
        turn=turn,
    )


class ClaudeReader(JsonlFiles):
    """A Claude Code session: its transcript and its subagents' files."""

    def __init__(self, transcript: str) -> None:
        super().__init__()
        self.transcript = transcript
        self._prompt: dict[str, str] = {}
        self._prompt_at: dict[str, str] = {}

    def restart(self, path: str) -> None:
        self._prompt.pop(path, None)
        self._prompt_at.pop(path, None)

    def paths(self) -> list[str]:
        folder = Path(self.transcript).with_suffix("")
        subagents = sorted(str(p) for p in folder.glob("**/*.jsonl")) if folder.is_dir() else []
        return [self.transcript, *subagents]

    def take(self, path: str, line: dict[str, Any], entries: Entries) -> None:
        prompt = line.get("promptId")
        # A turn's tool results carry its prompt's id too: the turn began at the first.
        if (
            line.get("type") == "user"
            and isinstance(prompt, str)
            and self._prompt.get(path) != prompt
        ):
            self._prompt[path] = prompt
            at = line.get("timestamp")
            self._prompt_at[path] = at if isinstance(at, str) else ""
        found = entry(line, path == self.transcript, self._prompt.get(path))
        if found is not None:
            entries[found[0]] = replace(found[1], turn_at=self._prompt_at.get(path) or None)
