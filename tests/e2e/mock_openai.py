"""A loopback mock of the OpenAI Responses API, enough for Codex to hold a conversation.

``POST /v1/responses`` answers with SSE (the event sequence Codex reads) or, when the body does
not ask for a stream, with one JSON response object. ``GET /v1/models`` answers with a model
list. The user's turn is the request that carries ``tools``; its typed text is the last
``input_text`` of the last user message. Requests without ``tools`` are side calls (title
generation) and get a short fixed reply.

With ``tool_call_next`` set (see :class:`~._mock_http.ToolCall`; :meth:`MockOpenAI.exec_command`
builds one for the shell tool Codex 0.169.0 advertises) the next user turn is answered with a
``function_call`` output item; the request that brings its ``function_call_output`` back gets
``tool_done_reply``.

Run it by hand from the ``tests`` folder: ``python -m e2e.mock_openai --port 8124``.
"""

from __future__ import annotations

import itertools
import json
import time
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

__all__ = ["MockOpenAI", "MockOpenAIChat", "extract_tool_output", "extract_user_text"]

_TOOL_OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output")

_ids = itertools.count(1)


def extract_user_text(body: Any) -> str | None:
    """The last ``input_text`` of the last user message in a Responses API request body."""
    if not isinstance(body, dict):
        return None
    items = body.get("input")
    if isinstance(items, str):
        return items
    if not isinstance(items, list):
        return None
    for item in reversed(items):
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        if item.get("type", "message") != "message":
            continue
        return last_text(item.get("content"), ("input_text", "text"))
    return None


def extract_tool_output(body: Any) -> str | None:
    """The output of the tool call that is the newest input item (newer than any user
    message), or None: a follow-up within a turn, not a turn the user typed."""
    if not isinstance(body, dict) or not isinstance(body.get("input"), list):
        return None
    for item in reversed(body["input"]):
        if not isinstance(item, dict):
            continue
        if item.get("type") in _TOOL_OUTPUT_TYPES:
            output = item.get("output")
            if isinstance(output, list):  # content items instead of one string
                return "".join(
                    str(c.get("text", "")) for c in output if isinstance(c, dict) and "text" in c
                )
            return str(output or "")
        if item.get("role") == "user" and item.get("type", "message") == "message":
            return None
    return None


class MockOpenAI(MockModelServer):
    """Mock OpenAI server. Codex's provider ``base_url`` is ``<.url>/v1`` (see :attr:`base_url`)."""

    name = "mock-openai"
    model = "gpt-mock-1"

    @property
    def base_url(self) -> str:
        """The URL with ``/v1`` appended, as an OpenAI client's base URL."""
        return f"{self.url}/v1"

    def is_model_call(self, rec: RecordedRequest) -> bool:
        return rec.method == "POST" and rec.path in ("/v1/responses", "/v1/chat/completions")

    @staticmethod
    def exec_command(cmd: str, **extra: Any) -> ToolCall:
        """A call to Codex's ``exec_command`` shell tool (its input: ``cmd`` plus optional
        keys such as ``sandbox_permissions`` and ``justification``)."""
        return ToolCall("exec_command", {"cmd": cmd, **extra})

    def route(self, handler: _Handler, rec: RecordedRequest) -> int:
        path = rec.path.rstrip("/")
        if rec.method == "POST" and path == "/v1/responses":
            return self._responses(handler, rec)
        if rec.method == "POST" and path == "/v1/chat/completions":
            return self._chat(handler, rec)
        if rec.method == "GET" and path == "/v1/models":
            self._record(rec)
            handler.send_json(200, self._model_list())
            return 200
        if rec.method == "GET" and path in ("", "/", "/v1", "/health"):
            self._record(rec)
            handler.send_json(200, {"ok": True})
            return 200
        return self.not_found(handler, rec)

    def _model_list(self) -> dict[str, Any]:
        # The OpenAI list shape ("object"/"data"); Codex 0.169.0 also reads a "models" key
        # (its own catalogue format) and accepts an empty one, keeping its built-in defaults.
        return {
            "object": "list",
            "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "mock"}],
            "models": [],
        }

    def _responses(self, handler: _Handler, rec: RecordedRequest) -> int:
        body = rec.body if isinstance(rec.body, dict) else {}
        call, text = self.begin_answer(
            rec, body, extract_tool_output(body), extract_user_text(body)
        )
        model = str(body.get("model") or self.model)
        n = next(_ids)
        resp_id = f"resp_mock{n:06d}{uuid.uuid4().hex[:8]}"
        item_id = f"{'fc' if call else 'msg'}_mock{n:06d}{uuid.uuid4().hex[:8]}"
        created = int(time.time())
        arguments = json.dumps(call.arguments) if call else ""
        # Known, distinct figures for every kind: the cached part is inside input_tokens and
        # the reasoning inside output_tokens, as the Responses API counts them.
        input_tokens = rough_tokens(body.get("input"))
        cached, reasoning = input_tokens // 2 + 3, 5
        visible = max(1, len(arguments or text) // 4)
        output_tokens = visible + reasoning
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input_tokens + output_tokens,
        }
        rec.usage = {
            "input": input_tokens - cached,
            "cached": cached,
            "cache_write": 0,
            "output": visible,
            "reasoning": reasoning,
        }
        part_done = {"type": "output_text", "text": text, "annotations": []}
        item_done: dict[str, Any]
        if call:
            item_done = {
                "id": item_id,
                "type": "function_call",
                "status": "completed",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": arguments,
                **({"namespace": call.namespace} if call.namespace else {}),
            }
        else:
            item_done = {
                "id": item_id,
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part_done],
            }

        def response(status: str, output: list[Any], with_usage: bool) -> dict[str, Any]:
            return {
                "id": resp_id,
                "object": "response",
                "created_at": created,
                "status": status,
                "model": model,
                "output": output,
                "usage": usage if with_usage else None,
            }

        if body.get("stream") is False:
            self.hold(rec)
            handler.send_json(200, response("completed", [item_done], True))
            return 200

        seq = itertools.count(0)

        def send(event: str, data: dict[str, Any]) -> None:
            handler.send_sse_event(event, {"type": event, "sequence_number": next(seq), **data})

        handler.start_sse()
        send("response.created", {"response": response("in_progress", [], False)})
        send("response.in_progress", {"response": response("in_progress", [], False)})
        self.hold(rec)
        if call:
            added = {**item_done, "status": "in_progress", "arguments": ""}
            send("response.output_item.added", {"output_index": 0, "item": added})
            where = {"item_id": item_id, "output_index": 0}
            for piece in split_into_deltas(arguments):
                send("response.function_call_arguments.delta", {**where, "delta": piece})
            send("response.function_call_arguments.done", {**where, "arguments": arguments})
        else:
            added = {**item_done, "status": "in_progress", "content": []}
            send("response.output_item.added", {"output_index": 0, "item": added})
            where = {"item_id": item_id, "output_index": 0, "content_index": 0}
            send(
                "response.content_part.added",
                {**where, "part": {"type": "output_text", "text": "", "annotations": []}},
            )
            for piece in split_into_deltas(text):
                send("response.output_text.delta", {**where, "delta": piece, "logprobs": []})
            send("response.output_text.done", {**where, "text": text, "logprobs": []})
            send("response.content_part.done", {**where, "part": part_done})
        send("response.output_item.done", {"output_index": 0, "item": item_done})
        send("response.completed", {"response": response("completed", [item_done], True)})
        handler.end_sse()
        return 200

    def _chat(self, handler: _Handler, rec: RecordedRequest) -> int:
        """``POST /v1/chat/completions`` (what OpenCode's ``@ai-sdk/openai-compatible``
        provider calls): SSE ``data:`` chunks ending in ``[DONE]``, or one JSON object."""
        body = rec.body if isinstance(rec.body, dict) else {}
        call, text = self.begin_answer(rec, body, chat_tool_output(body), chat_user_text(body))
        model = str(body.get("model") or self.model)
        chat_id = f"chatcmpl-mock{next(_ids):06d}"
        created = int(time.time())
        prompt_tokens = rough_tokens(body.get("messages"))
        arguments = json.dumps(call.arguments) if call else ""
        # Known, distinct figures for every kind: the cached part is inside prompt_tokens and
        # the reasoning inside completion_tokens, as the chat-completions API counts them.
        cached, reasoning = prompt_tokens // 2 + 3, 5
        visible = max(1, len(arguments or text) // 4)
        completion_tokens = visible + reasoning
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }
        rec.usage = {
            "input": prompt_tokens - cached,
            "cached": cached,
            "cache_write": 0,
            "output": visible,
            "reasoning": reasoning,
        }
        finish = "tool_calls" if call else "stop"
        tool_calls = (
            [
                {
                    "index": 0,
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": arguments},
                }
            ]
            if call
            else None
        )

        def chunk(delta: dict[str, Any], reason: str | None) -> dict[str, Any]:
            return {
                "id": chat_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
            }

        if not body.get("stream"):
            self.hold(rec)
            message: dict[str, Any] = {"role": "assistant", "content": None if call else text}
            if tool_calls:
                message["tool_calls"] = [{k: v for k, v in tool_calls[0].items() if k != "index"}]
            handler.send_json(
                200,
                {
                    "id": chat_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                },
            )
            return 200
        handler.start_sse()
        handler.send_sse_data(chunk({"role": "assistant", "content": ""}, None))
        self.hold(rec)
        if tool_calls:
            handler.send_sse_data(chunk({"tool_calls": tool_calls}, None))
        else:
            for piece in split_into_deltas(text):
                handler.send_sse_data(chunk({"content": piece}, None))
        last = chunk({}, finish)
        last["usage"] = usage
        handler.send_sse_data(last)
        handler.send_sse_raw("[DONE]")
        handler.end_sse()
        return 200


class MockOpenAIChat(MockOpenAI):
    """For a chat-completions client that offers the model no tools (Aider describes its edit
    formats in the prompt instead): every chat request that carries a user message and no
    tool result is a user turn, and its text is the last user message.

    Aider adds a reminder to the end of the user's message unless its model settings say
    ``reminder: sys`` (then the reminder is a system message after it); the e2e home sets
    that, so the last user message is exactly what was typed."""

    name = "mock-openai-chat"

    def is_user_turn(
        self,
        rec: RecordedRequest,
        body: dict[str, Any],
        tool_output: str | None,
        user_text: str | None,
    ) -> bool:
        if rec.path.rstrip("/") != "/v1/chat/completions":
            return super().is_user_turn(rec, body, tool_output, user_text)
        return tool_output is None and user_text is not None


def chat_user_text(body: Any) -> str | None:
    """The text of the last user message in a chat-completions request body (the last text
    part when it has several)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        return last_text(message.get("content"))
    return None


def chat_tool_output(body: Any) -> str | None:
    """The content of the tool message that is the newest message, or None: a follow-up
    within a turn, not a turn the user typed."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    last = messages[-1]
    if last.get("role") != "tool":
        return None
    content = last.get("content")
    if isinstance(content, list):
        return "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return str(content or "")


def main() -> None:
    serve_from_command_line(MockOpenAI, __doc__, lambda mock: f"base_url={mock.base_url}")


if __name__ == "__main__":
    main()
