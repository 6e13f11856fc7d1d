"""A loopback mock of the Anthropic Messages API, enough for Claude Code to hold a conversation.

``POST /v1/messages`` answers with SSE when the body says ``"stream": true`` and with one JSON
message otherwise. The user's turn is the request that carries ``tools``; its typed text is the
last text block of the last user message (earlier blocks are system reminders). Requests without
``tools`` are side calls (titles and the like) and get a short fixed reply.

With ``tool_call_next`` set (see :class:`~._mock_http.ToolCall`; :meth:`MockAnthropic.bash`
builds one for Claude Code's ``Bash`` tool) the next user turn is answered with a ``tool_use``
block and stop reason ``tool_use``; the request that brings the ``tool_result`` back gets
``tool_done_reply``.

Run it by hand from the ``tests`` folder: ``python -m e2e.mock_anthropic --port 8123``.
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

from ._mock_http import (
    MockModelServer,
    RecordedRequest,
    ToolCall,
    _Handler,
    last_text,
    rough_tokens,
    serve_from_command_line,
    split_into_deltas,
)

__all__ = ["MockAnthropic", "extract_tool_result", "extract_user_text"]

_ids = itertools.count(1)


def extract_user_text(body: Any) -> str | None:
    """The last text block of the last user message in a Messages API request body."""
    if not isinstance(body, dict):
        return None
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        return last_text(message.get("content"), ("text",))
    return None


def _block_text(content: Any) -> str:
    """The text of a ``tool_result`` block's content (a string or a list of text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        ]
        return "".join(str(t) for t in texts)
    return ""


def extract_tool_result(body: Any) -> str | None:
    """The tool result the last user message carries (its ``tool_result`` blocks' text joined),
    or None when that message has none, as in every turn the user typed."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None
    for message in reversed(body["messages"]):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if not isinstance(content, list):
            return None
        results = [
            _block_text(b.get("content"))
            for b in content
            if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
        return "\n".join(results) if results else None
    return None


class MockAnthropic(MockModelServer):
    """Mock Anthropic server. Point Claude Code at it with ``ANTHROPIC_BASE_URL=<.url>``."""

    name = "mock-anthropic"
    model = "claude-mock-1"

    def is_model_call(self, rec: RecordedRequest) -> bool:
        return rec.method == "POST" and rec.path == "/v1/messages"

    @staticmethod
    def bash(command: str, description: str = "Run a command for the harnex test") -> ToolCall:
        """A call to Claude Code's ``Bash`` tool (its input: ``command``, ``description``)."""
        return ToolCall("Bash", {"command": command, "description": description})

    def route(self, handler: _Handler, rec: RecordedRequest) -> int:
        path = rec.path.rstrip("/")
        if rec.method == "POST" and path == "/v1/messages":
            return self._messages(handler, rec)
        if rec.method == "POST" and path == "/v1/messages/count_tokens":
            self._record(rec)
            handler.send_json(200, {"input_tokens": rough_tokens(rec.body)})
            return 200
        if rec.method == "GET" and path in ("", "/", "/v1", "/health", "/api/hello"):
            self._record(rec)
            handler.send_json(200, {"ok": True})
            return 200
        if rec.method == "GET" and path == "/v1/models":
            self._record(rec)
            handler.send_json(
                200,
                {
                    "data": [
                        {
                            "type": "model",
                            "id": self.model,
                            "display_name": "Claude Mock",
                            "created_at": "2025-01-01T00:00:00Z",
                        }
                    ],
                    "has_more": False,
                    "first_id": self.model,
                    "last_id": self.model,
                },
            )
            return 200
        return self.not_found(handler, rec)

    def _messages(self, handler: _Handler, rec: RecordedRequest) -> int:
        body = rec.body if isinstance(rec.body, dict) else {}
        call, text = self.begin_answer(
            rec, body, extract_tool_result(body), extract_user_text(body)
        )
        model = str(body.get("model") or self.model)
        msg_id = f"msg_mock{next(_ids):06d}{uuid.uuid4().hex[:8]}"
        input_tokens = rough_tokens(body.get("messages"))
        output_tokens = max(1, len(json.dumps(call.arguments) if call else text) // 4)
        # Known, distinct figures for every kind, so a reader that mixes two up is caught.
        cache_read, cache_write = input_tokens // 2 + 3, 11
        rec.usage = {
            "input": input_tokens,
            "cached": cache_read,
            "cache_write": cache_write,
            "output": output_tokens,
            "reasoning": 0,
        }
        headers = {"request-id": f"req_mock{uuid.uuid4().hex[:16]}"}
        stop_reason = "tool_use" if call else "end_turn"
        block: dict[str, Any]
        if call:
            block = {"type": "tool_use", "id": call.call_id, "name": call.name, "input": {}}
        else:
            block = {"type": "text", "text": ""}
        if not body.get("stream"):
            self.hold(rec)
            whole = {**block, "input": call.arguments} if call else {**block, "text": text}
            handler.send_json(
                200,
                {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [whole],
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        "cache_creation_input_tokens": cache_write,
                        "cache_read_input_tokens": cache_read,
                        "output_tokens": output_tokens,
                    },
                },
                headers,
            )
            return 200

        handler.start_sse(headers)
        handler.send_sse_event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        "cache_creation_input_tokens": cache_write,
                        "cache_read_input_tokens": cache_read,
                        "output_tokens": 1,
                    },
                },
            },
        )
        handler.send_sse_event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        )
        handler.send_sse_event("ping", {"type": "ping"})
        self.hold(rec)
        if call:
            deltas = [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in split_into_deltas(json.dumps(call.arguments))
            ]
        else:
            deltas = [{"type": "text_delta", "text": piece} for piece in split_into_deltas(text)]
        for delta in deltas:
            handler.send_sse_event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        handler.send_sse_event("content_block_stop", {"type": "content_block_stop", "index": 0})
        handler.send_sse_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
        handler.send_sse_event("message_stop", {"type": "message_stop"})
        handler.end_sse()
        return 200


def main() -> None:
    serve_from_command_line(MockAnthropic, __doc__, lambda mock: f"ANTHROPIC_BASE_URL={mock.url}")


if __name__ == "__main__":
    main()
