"""Fast checks of the mock model servers themselves (no agent CLI, no npm, loopback only)."""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from ._mock_http import TOOL_DONE_REPLY
from .mock_anthropic import MockAnthropic
from .mock_gemini import MockGemini
from .mock_openai import MockOpenAI


def _request(
    url: str, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def _claude_body(text: str, *, tools: bool = True, stream: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-test",
        "stream": stream,
        "messages": [
            {"role": "user", "content": "an older turn"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>ignore</system-reminder>"},
                    {"type": "text", "text": text},
                ],
            },
        ],
    }
    if tools:
        body["tools"] = [{"name": "Bash", "input_schema": {"type": "object"}}]
    return body


def _codex_body(text: str, *, tools: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "gpt-test",
        "stream": True,
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "be nice"}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "<environment_context/>"}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        ],
    }
    if tools:
        body["tools"] = [{"type": "function", "name": "shell"}]
    return body


TEXT = "first line ünï 日本 🚀\nsecond line ; $(id)"


def test_anthropic_stream_records_the_turn_and_streams_the_reply() -> None:
    with MockAnthropic() as mock:
        status, headers, raw = _request(
            mock.url, "POST", "/v1/messages?beta=true", _claude_body(TEXT)
        )
        assert status == 200
        assert headers["content-type"] == "text/event-stream"
        events = _sse(raw)
        names = [name for name, _ in events]
        assert names[:2] == ["message_start", "content_block_start"]
        assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
        deltas = [d["delta"]["text"] for n, d in events if n == "content_block_delta"]
        assert len(deltas) > 1
        assert "".join(deltas) == f"MOCK REPLY: {TEXT[:60]}"
        message_delta = dict(events)["message_delta"]
        assert message_delta["delta"]["stop_reason"] == "end_turn"
        assert message_delta["usage"]["output_tokens"] > 0
        assert mock.user_turns == [TEXT]
        mock.wait_for_replies(1, timeout=30)
        assert len(mock.reply_finished_at) == 1


def test_anthropic_side_call_and_plain_json() -> None:
    with MockAnthropic() as mock:
        status, _, raw = _request(
            mock.url, "POST", "/v1/messages", _claude_body("title?", tools=False, stream=False)
        )
        assert status == 200
        reply = json.loads(raw)
        assert reply["type"] == "message" and reply["stop_reason"] == "end_turn"
        assert reply["content"][0]["type"] == "text"
        assert mock.user_turns == []
        assert [r.user_text for r in mock.side_calls] == ["title?"]
        assert mock.reply_finished_at == []


def test_anthropic_probes_and_unknown_paths() -> None:
    with MockAnthropic() as mock:
        assert _request(mock.url, "HEAD", "/")[0] == 200
        status, _, raw = _request(mock.url, "POST", "/v1/messages/count_tokens", _claude_body("x"))
        assert status == 200 and json.loads(raw)["input_tokens"] > 0
        assert _request(mock.url, "GET", "/no/such/thing")[0] == 404
        # The server records a request's status just after answering it.
        deadline = time.monotonic() + 5
        while not mock.unknown_requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [r.path for r in mock.unknown_requests] == ["/no/such/thing"]
        assert [r.method for r in mock.requests] == ["HEAD", "POST", "GET"]


def test_custom_reply_delay_and_release() -> None:
    with MockAnthropic(reply=lambda t: f"echo<{t}>") as mock:
        mock.delay_s = 30.0
        result: dict[str, bytes] = {}

        def call() -> None:
            result["raw"] = _request(mock.url, "POST", "/v1/messages", _claude_body("hi"))[2]

        thread = threading.Thread(target=call)
        thread.start()
        assert mock.wait_for_user_turns(1, timeout=10) == ["hi"]
        time.sleep(0.3)
        assert mock.reply_finished_at == [], "the reply must be held"
        released = time.monotonic()
        mock.release()
        thread.join(timeout=10)
        assert not thread.is_alive()
        mock.wait_for_replies(1, timeout=30)
        deltas = [d["delta"]["text"] for n, d in _sse(result["raw"]) if n == "content_block_delta"]
        assert "".join(deltas) == "echo<hi>"
        finished_mono, finished_wall = mock.reply_finished_at[0]
        assert finished_mono >= released
        assert abs(finished_wall - time.time()) < 60


def test_openai_stream_records_the_turn_and_streams_the_reply() -> None:
    with MockOpenAI() as mock:
        assert mock.base_url == f"{mock.url}/v1"
        status, headers, raw = _request(mock.url, "POST", "/v1/responses", _codex_body(TEXT))
        assert status == 200
        assert headers["content-type"] == "text/event-stream"
        events = _sse(raw)
        names = [name for name, _ in events]
        assert names[:4] == [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
        ]
        assert names[-4:] == [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
        assert all(data["type"] == name for name, data in events)
        deltas = [d["delta"] for n, d in events if n == "response.output_text.delta"]
        assert len(deltas) > 1
        expected = f"MOCK REPLY: {TEXT[:60]}"
        assert "".join(deltas) == expected
        completed = dict(events)["response.completed"]["response"]
        assert completed["status"] == "completed"
        assert completed["output"][0]["content"][0]["text"] == expected
        assert completed["usage"]["total_tokens"] > 0
        assert mock.user_turns == [TEXT]
        mock.wait_for_replies(1, timeout=30)
        assert len(mock.reply_finished_at) == 1


def test_chunked_and_gzipped_request_bodies() -> None:
    body = gzip.compress(json.dumps(_claude_body("squeezed")).encode())
    with MockAnthropic() as mock:
        parts = urlsplit(mock.url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        try:
            conn.request(
                "POST",
                "/v1/messages",
                body=iter([body[:10], body[10:]]),
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                encode_chunked=True,
            )
            assert conn.getresponse().status == 200
        finally:
            conn.close()
        assert mock.user_turns == ["squeezed"]


def test_openai_side_call_and_models() -> None:
    with MockOpenAI() as mock:
        _request(mock.url, "POST", "/v1/responses", _codex_body("make a title", tools=False))
        assert mock.user_turns == []
        assert len(mock.side_calls) == 1
        status, _, raw = _request(mock.url, "GET", "/v1/models?client_version=0.169.0")
        assert status == 200
        models = json.loads(raw)
        assert models["data"][0]["id"] == mock.model
        assert models["models"] == []


def test_anthropic_tool_call_then_tool_result() -> None:
    with MockAnthropic() as mock:
        call = mock.bash("touch x", "Create x")
        mock.tool_call_next = call
        _, _, raw = _request(mock.url, "POST", "/v1/messages", _claude_body("run it"))
        events = _sse(raw)
        start = dict(events)["content_block_start"]["content_block"]
        assert start == {"type": "tool_use", "id": call.call_id, "name": "Bash", "input": {}}
        parts = [d["delta"] for n, d in events if n == "content_block_delta"]
        assert {p["type"] for p in parts} == {"input_json_delta"}
        assert json.loads("".join(p["partial_json"] for p in parts)) == {
            "command": "touch x",
            "description": "Create x",
        }
        assert dict(events)["message_delta"]["delta"]["stop_reason"] == "tool_use"
        assert mock.tool_call_next is None, "the call is used up by the turn that took it"

        # The agent runs the tool and sends its result back: a follow-up, not a new user turn.
        follow_up = _claude_body("run it")
        follow_up["messages"] += [
            {"role": "assistant", "content": [{**start, "input": call.arguments}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.call_id, "content": "done!"},
                    {"type": "text", "text": "<system-reminder>ignore</system-reminder>"},
                ],
            },
        ]
        _, _, raw = _request(mock.url, "POST", "/v1/messages", follow_up)
        deltas = [d["delta"]["text"] for n, d in _sse(raw) if n == "content_block_delta"]
        assert "".join(deltas) == TOOL_DONE_REPLY == mock.tool_done_reply
        assert mock.wait_for_tool_results(1, timeout=30) == ["done!"]
        assert mock.user_turns == ["run it"] and mock.side_calls == []
        assert [r.tool_call for r in mock.requests] == [call, None]

        # Back to text for the next turn; a plain JSON answer carries the call whole.
        _, _, raw = _request(mock.url, "POST", "/v1/messages", _claude_body("again"))
        assert "".join(d["delta"]["text"] for n, d in _sse(raw) if n == "content_block_delta") == (
            "MOCK REPLY: again"
        )
        mock.tool_call_next = call
        _, _, raw = _request(mock.url, "POST", "/v1/messages", _claude_body("json", stream=False))
        reply = json.loads(raw)
        assert reply["stop_reason"] == "tool_use"
        assert reply["content"] == [{**start, "input": call.arguments}]


def test_openai_function_call_then_output() -> None:
    with MockOpenAI() as mock:
        call = mock.exec_command("touch x", sandbox_permissions="require_escalated")
        mock.tool_call_next = call
        _, _, raw = _request(mock.url, "POST", "/v1/responses", _codex_body("run it"))
        events = _sse(raw)
        names = [name for name, _ in events]
        assert names[2] == "response.output_item.added"
        assert names[-3:] == [
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
        item = dict(events)["response.output_item.done"]["item"]
        assert item["type"] == "function_call" and item["status"] == "completed"
        assert item["name"] == "exec_command" and item["call_id"] == call.call_id
        arguments = {"cmd": "touch x", "sandbox_permissions": "require_escalated"}
        assert json.loads(item["arguments"]) == arguments
        deltas = [d["delta"] for n, d in events if n == "response.function_call_arguments.delta"]
        assert json.loads("".join(deltas)) == arguments
        assert dict(events)["response.completed"]["response"]["output"] == [item]
        assert mock.tool_call_next is None

        follow_up = _codex_body("run it")
        follow_up["input"] += [
            {k: item[k] for k in ("type", "call_id", "name", "arguments")},
            {"type": "function_call_output", "call_id": call.call_id, "output": "exit 0"},
        ]
        _, _, raw = _request(mock.url, "POST", "/v1/responses", follow_up)
        deltas = [d["delta"] for n, d in _sse(raw) if n == "response.output_text.delta"]
        assert "".join(deltas) == mock.tool_done_reply
        assert mock.wait_for_tool_results(1, timeout=30) == ["exit 0"]
        assert mock.user_turns == ["run it"] and mock.side_calls == []
        # A side call (title) never takes a pending tool call: only the user's turn does.
        mock.tool_call_next = call
        _, _, raw = _request(
            mock.url, "POST", "/v1/responses", _codex_body("make a title", tools=False)
        )
        assert [n for n, _ in _sse(raw)].count("response.output_text.delta") > 0
        assert len(mock.side_calls) == 1 and mock.tool_call_next is call


@pytest.mark.parametrize("mock_cls", [MockAnthropic, MockOpenAI])
def test_stop_is_idempotent_and_url_needs_start(mock_cls: type[MockAnthropic | MockOpenAI]) -> None:
    mock = mock_cls()
    with pytest.raises(RuntimeError):
        _ = mock.url
    mock.start()
    assert mock.url.startswith("http://127.0.0.1:")
    mock.stop()
    mock.stop()


def _gemini_body(text: str, *, tools: bool = True) -> dict[str, Any]:
    """A turn as Gemini CLI 0.61.0 sends it: session context first, the typed text last."""
    body: dict[str, Any] = {
        "contents": [{"role": "user", "parts": [{"text": "<session_context>"}, {"text": text}]}]
    }
    if tools:
        body["tools"] = [{"functionDeclarations": [{"name": "run_shell_command"}]}]
    return body


def _sse_data(raw: bytes) -> list[dict[str, Any]]:
    blocks = raw.decode().replace("\r\n", "\n").split("\n\n")
    return [json.loads(b.removeprefix("data: ")) for b in blocks if b.strip()]


def test_gemini_stream_json_side_call_and_tool_call() -> None:
    with MockGemini() as mock:
        path = "/v1beta/models/gemini-x:streamGenerateContent?alt=sse"
        status, headers, raw = _request(mock.url, "POST", path, _gemini_body("hello ünï"))
        assert status == 200 and headers["content-type"] == "text/event-stream"
        chunks = _sse_data(raw)
        text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
        assert text == "MOCK REPLY: hello ünï"
        assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
        assert mock.user_turns == ["hello ünï"]

        # A side call that asks for JSON (the model router) gets an object of its schema.
        side = _gemini_body("route me", tools=False)
        schema = {
            "type": "OBJECT",
            "properties": {"reasoning": {"type": "STRING"}, "score": {"type": "INTEGER"}},
        }
        side["generationConfig"] = {
            "responseMimeType": "application/json",
            "responseJsonSchema": schema,
        }
        status, _, raw = _request(mock.url, "POST", "/v1beta/models/m:generateContent", side)
        answer = json.loads(json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"])
        assert status == 200 and answer == {"reasoning": "mock", "score": 1}
        assert mock.user_turns == ["hello ünï"] and len(mock.side_calls) == 1

        mock.tool_call_next = MockGemini.shell("echo hi")
        _, _, raw = _request(mock.url, "POST", path, _gemini_body("please run"))
        part = _sse_data(raw)[0]["candidates"][0]["content"]["parts"][0]
        assert part["functionCall"] == {
            "name": "run_shell_command",
            "args": {"command": "echo hi", "description": "Run a command for the harnex test"},
        }
        result = {
            "contents": [
                *_gemini_body("please run")["contents"],
                {"role": "model", "parts": [part]},
                {
                    "role": "user",
                    "parts": [{"functionResponse": {"name": "x", "response": {"output": "hi\n"}}}],
                },
            ],
            "tools": [{}],
        }
        _, _, raw = _request(mock.url, "POST", path, result)
        assert _sse_data(raw)[0]["candidates"][0]["content"]["parts"][0]["text"]
        assert mock.tool_results == ["hi\n"]
        assert mock.user_turns == ["hello ünï", "please run"]
