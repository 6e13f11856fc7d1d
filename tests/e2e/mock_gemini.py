"""A loopback mock of the Gemini API (``generativelanguage`` v1beta), enough for Gemini CLI.

Gemini CLI 0.61.0 takes its base URL from ``GOOGLE_GEMINI_BASE_URL`` and calls
``POST /v1beta/models/<model>:streamGenerateContent?alt=sse`` for the conversation, answered
here with data-only SSE events that each carry a ``GenerateContentResponse``;
``:generateContent`` (one JSON response) and ``:countTokens`` are answered too. The user's turn
is the request that offers ``tools`` and whose newest content is typed text: Gemini CLI sends
the turn as several text parts (session context first), and the typed text is the last one.

With ``tool_call_next`` set (see :class:`~._mock_http.ToolCall`; :meth:`MockGemini.shell`
builds one for the ``run_shell_command`` tool) the next user turn is answered with a
``functionCall`` part; the request that brings its ``functionResponse`` back gets
``tool_done_reply``.

Run it by hand from the ``tests`` folder: ``python -m e2e.mock_gemini --port 8125``.
"""

from __future__ import annotations

import json
from typing import Any

from ._mock_http import (
    MockModelServer,
    RecordedRequest,
    ToolCall,
    _Handler,
    rough_tokens,
    serve_from_command_line,
    split_into_deltas,
)

__all__ = ["MockGemini", "extract_tool_output", "extract_user_text"]


def _newest_user_parts(body: Any) -> list[Any] | None:
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        return None
    for content in reversed(body["contents"]):
        if isinstance(content, dict) and content.get("role", "user") == "user":
            parts = content.get("parts")
            return parts if isinstance(parts, list) else None
    return None


def extract_user_text(body: Any) -> str | None:
    """The last text part of the newest user content (the typed text of a turn)."""
    parts = _newest_user_parts(body) or []
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return texts[-1] if texts else None


def extract_tool_output(body: Any) -> str | None:
    """The tool result the newest user content brings back (a ``functionResponse``), or None
    when that content is text the user typed."""
    for part in _newest_user_parts(body) or []:
        if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
            response = part["functionResponse"].get("response")
            if isinstance(response, dict) and "output" in response:
                return str(response["output"])
            return json.dumps(response)
    return None


def sample_for_schema(schema: Any) -> Any:
    """A value that fits a response schema (Gemini CLI's side calls, such as its model router,
    ask for JSON and retry until they get it)."""
    if not isinstance(schema, dict):
        return "mock"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: sample_for_schema(sub) for name, sub in props.items()}
    if kind == "array":
        return [sample_for_schema(schema.get("items"))]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    return "mock"


def json_schema_of(body: Any) -> Any:
    """The response schema a side call asks for, or None when it wants plain text."""
    config = body.get("generationConfig") if isinstance(body, dict) else None
    if not isinstance(config, dict) or config.get("responseMimeType") != "application/json":
        return None
    return config.get("responseJsonSchema") or config.get("responseSchema") or {}


class MockGemini(MockModelServer):
    """Mock Gemini API server: ``GOOGLE_GEMINI_BASE_URL`` is :attr:`url`."""

    name = "mock-gemini"
    model = "gemini-2.5-flash"

    def is_model_call(self, rec: RecordedRequest) -> bool:
        return rec.method == "POST" and rec.path.endswith(
            (":streamGenerateContent", ":generateContent")
        )

    @staticmethod
    def shell(command: str, description: str = "Run a command for the harnex test") -> ToolCall:
        """A call to Gemini CLI's ``run_shell_command`` tool."""
        return ToolCall("run_shell_command", {"command": command, "description": description})

    def route(self, handler: _Handler, rec: RecordedRequest) -> int:
        if rec.method == "POST" and rec.path.endswith(":streamGenerateContent"):
            return self._generate(handler, rec, stream=True)
        if rec.method == "POST" and rec.path.endswith(":generateContent"):
            return self._generate(handler, rec, stream=False)
        if rec.method == "POST" and rec.path.endswith(":countTokens"):
            self._record(rec)
            handler.send_json(200, {"totalTokens": rough_tokens(rec.body)})
            return 200
        if rec.method == "GET" and rec.path.rstrip("/").endswith("/models"):
            self._record(rec)
            handler.send_json(200, {"models": [{"name": f"models/{self.model}"}]})
            return 200
        return self.not_found(handler, rec)

    def _generate(self, handler: _Handler, rec: RecordedRequest, stream: bool) -> int:
        body = rec.body if isinstance(rec.body, dict) else {}
        call, text = self.begin_answer(
            rec, body, extract_tool_output(body), extract_user_text(body)
        )
        schema = json_schema_of(body)
        if schema is not None and not rec.is_user_turn:
            text = json.dumps(sample_for_schema(schema))
            rec.reply_text = text
        model = rec.path.rsplit("/", 1)[-1].split(":", 1)[0] or self.model
        prompt_tokens = rough_tokens(body.get("contents"))
        out_tokens = max(1, len(json.dumps(call.arguments) if call else text) // 4)
        # Known, distinct figures for every kind: the cached part is inside the prompt count,
        # the thoughts are counted apart from the candidates, as the Gemini API counts them.
        cached, thoughts = prompt_tokens // 2 + 3, 5
        usage = {
            "promptTokenCount": prompt_tokens,
            "cachedContentTokenCount": cached,
            "candidatesTokenCount": out_tokens,
            "thoughtsTokenCount": thoughts,
            "totalTokenCount": prompt_tokens + out_tokens + thoughts,
        }
        rec.usage = {
            "input": prompt_tokens - cached,
            "cached": cached,
            "cache_write": 0,
            "output": out_tokens,
            "reasoning": thoughts,
        }

        def chunk(parts: list[dict[str, Any]], last: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
            data: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
            if last:
                candidate["finishReason"] = "STOP"
                data["usageMetadata"] = usage
            return data

        if call:
            pieces = [[{"functionCall": {"name": call.name, "args": call.arguments}}]]
        else:
            pieces = [[{"text": piece}] for piece in split_into_deltas(text)] or [[{"text": ""}]]
        if not stream:
            self.hold(rec)
            merged = [{"text": text}] if not call else pieces[0]
            handler.send_json(200, chunk(merged, last=True))
            return 200
        handler.start_sse()
        self.hold(rec)
        for i, parts in enumerate(pieces):
            handler.send_sse_data(chunk(parts, last=i == len(pieces) - 1))
        handler.end_sse()
        return 200


def main() -> None:
    serve_from_command_line(MockGemini, __doc__, lambda mock: f"GOOGLE_GEMINI_BASE_URL={mock.url}")


if __name__ == "__main__":
    main()
