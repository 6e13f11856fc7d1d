"""The sidecar HTTP API: authentication, errors, and long-polls."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from conftest import Harnex


def test_status_and_health_need_the_token(harnex: Harnex) -> None:
    harnex.start_demo("api")
    good = harnex.sidecar("api")
    for path in ("/status", "/health"):
        answer = good.request("GET", path)
        assert answer.status == 200 and answer.body["ok"] is True
        assert answer.body["id"] == "api" and "state" in answer.body
        assert "token" not in answer.body and answer.body["inbox"] == 0
    bad = harnex.sidecar("api", token="0" * 32)
    answer = bad.request("GET", "/status")
    assert answer.status == 401 and answer.body == {
        "ok": False,
        "error": "missing or wrong bearer token",
    }
    assert bad.request("POST", "/stop", {}).status == 401
    assert good.request("GET", "/status").body["state"] != "exited"


def test_missing_authorization_header(harnex: Harnex) -> None:
    harnex.start_demo("noauth")
    (record,) = harnex.registry()
    with socket.create_connection((record["host"], record["port"]), timeout=5) as sock:
        sock.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b"".join(iter(lambda: sock.recv(4096), b""))
    assert data.startswith(b"HTTP/1.1 401")


def test_malformed_json_unknown_path_and_method(harnex: Harnex) -> None:
    harnex.start_demo("bad")
    client = harnex.sidecar("bad")
    (record,) = harnex.registry()
    with socket.create_connection((record["host"], record["port"]), timeout=5) as sock:
        body = b"{not json"
        sock.sendall(
            b"POST /stop HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + record["token"].encode()
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        data = b"".join(iter(lambda: sock.recv(4096), b""))
    assert data.startswith(b"HTTP/1.1 400")
    assert b"malformed JSON" in data
    assert client.request("GET", "/nowhere").status == 404
    assert client.request("DELETE", "/status").status == 405
    assert client.request("GET", "/wait?until=nonsense").status == 400
    assert client.request("GET", "/pane?lines=0").status == 400
    # The session is untouched by all of that.
    assert client.request("GET", "/status").body["state"] in ("unknown", "prompt", "busy")


def test_wait_long_poll(harnex: Harnex) -> None:
    harnex.start_demo("lp")
    client = harnex.sidecar("lp")
    answer = client.request("GET", "/wait?until=prompt&timeout=10", timeout=15)
    assert answer.body == {"ok": True, "state": "prompt", "reached": True}
    answer = client.request("GET", "/wait?until=confirmation&timeout=0.2")
    assert answer.body["reached"] is False


def test_claude_http_hook_reports_a_finished_turn(harnex: Harnex) -> None:
    info = harnex.start_demo("hooked")
    client = harnex.sidecar("hooked")
    stop = {"hook_event_name": "Stop", "session_id": "s", "last_assistant_message": "all done"}
    answer = client.request("POST", "/hook/claude", stop)
    # Claude reads the answer as the hook's output: an empty object asks it for nothing.
    assert answer.status == 200 and answer.body == {}
    lines = Path(info["events_log_path"]).read_text().splitlines()
    (done,) = [e for e in map(json.loads, lines) if e["type"] == "turn_complete"]
    assert done["reply"] == "all done"
    assert client.request("POST", "/hook/claude", {"session_id": "s"}).status == 400
    assert client.request("POST", "/hook/other", stop).status == 404
    assert (
        harnex.sidecar("hooked", token="0" * 32).request("POST", "/hook/claude", stop).status == 401
    )


def test_message_long_poll_until_reply_waits_for_the_turn(harnex: Harnex) -> None:
    """``until=reply`` holds the request while the message has no reply yet, instead of
    answering at once (which made ``send --reply`` poll in a tight loop)."""
    harnex.start_demo("rp")
    client = harnex.sidecar("rp")
    sent = client.request("POST", "/send", {"text": "hello", "wait": 10}).body
    assert sent["status"] == "delivered"
    path = f"/messages/{sent['message_id']}"
    started = time.monotonic()
    answer = client.request("GET", f"{path}?wait=1&until=reply", timeout=10)
    assert answer.status == 200 and answer.body["completed_at"] is None
    assert time.monotonic() - started >= 0.9
    assert client.request("GET", f"{path}?wait=1&until=nonsense").status == 400


def test_claude_http_hooks_move_the_state(harnex: Harnex) -> None:
    """A prompt report means busy, a permission notification a confirmation dialog (Claude
    sends it only after the dialog waited 6 s, so in real use the screen usually leads)."""
    info = harnex.start_demo("states")
    harnex.run("wait", "--id", "states", "--until", "prompt", "--timeout", "10", check=True)
    client = harnex.sidecar("states")
    prompt = {"hook_event_name": "UserPromptSubmit", "session_id": "s", "prompt": "go"}
    assert client.request("POST", "/hook/claude", prompt).status == 200
    notice = {
        "hook_event_name": "Notification",
        "session_id": "s",
        "message": "Claude needs your permission",
        "notification_type": "permission_prompt",
    }
    assert client.request("POST", "/hook/claude", notice).status == 200
    # Read from the events log: the demo agent's own screen takes over again later.
    lines = Path(info["events_log_path"]).read_text().splitlines()
    moves = [(e["from"], e["to"]) for e in map(json.loads, lines) if e["type"] == "state"]
    busy = moves.index(("prompt", "busy"))
    assert any(to == "confirmation" for _, to in moves[busy + 1 :]), moves
