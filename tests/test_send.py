"""``harnex send`` and the inbox: exact text, order, queueing, expiry, limits, persistence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import Harnex, recorded, wait_for

from harnex_tmux.sidecar.inbox import Inbox


@pytest.fixture
def agent(harnex: Harnex, tmp_path: Path) -> Path:
    """A demo agent at its prompt, recording what it receives."""
    record = tmp_path / "received.jsonl"
    harnex.start_demo("agent", record=record, busy=0.2)
    harnex.run("wait", "--id", "agent", "--until", "prompt", "--timeout", "15", check=True)
    return record


def test_one_line_delivered_and_reported(harnex: Harnex, agent: Path) -> None:
    result = harnex.json("send", "--id", "agent", "--message", "hello world")
    assert result["ok"] is True and result["status"] == "delivered"
    assert result["message_id"].startswith("msg-") and result["error"] is None
    assert recorded(agent) == ["hello world"]
    (record,) = harnex.registry()
    assert record["injected_count"] == 1 and record["last_injected_at"]
    events = [json.loads(x) for x in Path(record["events_log_path"]).read_text().splitlines()]
    send = next(e for e in events if e["type"] == "send")
    assert send["msg"] == "hello world" and send["msg_truncated"] is False
    assert send["forced"] is False
    assert any(e["type"] == "delivered" and e["message_id"] == result["message_id"] for e in events)


def test_message_sources_positional_and_stdin(harnex: Harnex, agent: Path) -> None:
    harnex.run("send", "--id", "agent", "two", "words", check=True)
    harnex.run("send", "--id", "agent", input="from stdin\n", check=True)
    assert recorded(agent) == ["two words", "from stdin"]
    result = harnex.run("send", "--id", "agent", "-m", "x", "extra")
    assert result.returncode == 2


def test_multiline_unicode_and_literal_text(harnex: Harnex, agent: Path) -> None:
    fifty = "\n".join(f"line {i}: {'·' * (i % 7)} end" for i in range(50))
    unicode = "CJK 日本語 中文 한국어, emoji 🚀🧪👩‍💻, combining e\u0301 n\u0303 a\u030a"
    literal = "C-c Enter ; $(id) `uname` && rm -rf / ; echo 'q' \"dq\" \\ %s %% {} # M-x"
    for text in (fifty, unicode, literal):
        harnex.run("send", "--id", "agent", input=text, check=True)
    assert recorded(agent) == [fifty, unicode, literal]


def test_100_kib_message_arrives_byte_exact(harnex: Harnex, agent: Path) -> None:
    lines = [f"{i:05d} " + "abcdefghij" * 9 + "é" for i in range(1100)]
    text = "\n".join(lines)[: 100 * 1024]
    assert len(text.encode()) > 100 * 1024
    result = harnex.run("send", "--id", "agent", input=text, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert recorded(agent) == [text]


def test_control_characters_are_stripped(harnex: Harnex, agent: Path) -> None:
    nasty = "safe\x1b[2J\x1b]0;pwned\x07 text\x00\x08\x7f\u0085\u009b end\tok"
    harnex.json("send", "--id", "agent", input=nasty)  # argv cannot carry NUL; stdin can
    # Whole escape sequences go, not just their ESC (which used to leave "[2J" behind).
    assert recorded(agent) == ["safe text end\tok"]


def test_concurrent_senders_fifo_exactly_once(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "many.jsonl"
    harnex.start_demo("busybee", record=record, busy=0, env={"HARNEX_GENERIC_QUIET": "0.08"})
    client = harnex.sidecar("busybee", timeout=30)
    errors: list[str] = []

    def sender(n: int) -> None:
        # Like ``harnex send``: each sender waits for its message before sending the next.
        for i in range(20):
            body = {"text": f"sender {n} message {i:02d}", "wait": 30}
            answer = client.request("POST", "/send", body, timeout=60)
            if answer.status != 200 or answer.body["status"] != "delivered":
                errors.append(f"{n}/{i}: {answer.status} {answer.body}")

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    wait_for(lambda: len(recorded(record)) >= 200, timeout=180, interval=0.5)
    got = recorded(record)
    assert len(got) == 200 and len(set(got)) == 200
    for n in range(10):
        mine = [t for t in got if t.startswith(f"sender {n} ")]
        assert mine == [f"sender {n} message {i:02d}" for i in range(20)]


def test_queued_while_busy_then_delivered_on_ready(harnex: Harnex, agent: Path) -> None:
    harnex.json("send", "--id", "agent", "--message", "/sleep 2")
    harnex.run("wait", "--id", "agent", "--until", "busy", "--timeout", "30", check=True)
    queued = harnex.json("send", "--id", "agent", "--no-wait", "--message", "after the nap")
    assert queued["status"] == "queued"
    client = harnex.sidecar("agent", timeout=30)
    status = client.request("GET", f"/messages/{queued['message_id']}").body
    assert status["status"] == "queued" and status["queued_at"] and status["delivered_at"] is None
    assert client.request("GET", "/inbox").body["messages"][0]["id"] == queued["message_id"]
    assert recorded(agent) == ["/sleep 2"]
    done = client.request("GET", f"/messages/{queued['message_id']}?wait=20", timeout=30).body
    assert done["status"] == "delivered" and done["delivered_at"]
    assert recorded(agent) == ["/sleep 2", "after the nap"]


def test_default_send_waits_for_delivery(harnex: Harnex, agent: Path) -> None:
    harnex.json("send", "--id", "agent", "--no-wait", "--message", "/sleep 1.5")
    result = harnex.json("send", "--id", "agent", "--message", "second")
    assert result["status"] == "delivered"
    assert recorded(agent) == ["/sleep 1.5", "second"]


def test_send_timeout_is_124(harnex: Harnex, agent: Path) -> None:
    harnex.json("send", "--id", "agent", "--message", "/sleep 4")
    result = harnex.run("send", "--id", "agent", "--timeout", "0.5", "--message", "late")
    assert result.returncode == 124
    assert json.loads(result.stdout)["status"] == "timeout"


def test_inbox_ttl_expiry(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "ttl.jsonl"
    harnex.start_demo("ttl", "--inbox-ttl", "1", record=record)
    harnex.run("wait", "--id", "ttl", "--until", "prompt", "--timeout", "10", check=True)
    harnex.json("send", "--id", "ttl", "--message", "/sleep 3")
    queued = harnex.json("send", "--id", "ttl", "--no-wait", "--message", "too late")
    client = harnex.sidecar("ttl", timeout=30)
    done = client.request("GET", f"/messages/{queued['message_id']}?wait=10", timeout=20).body
    assert done["status"] == "expired"
    wait_for(lambda: harnex.json("status", "--id", "ttl", "--json")[0]["state"] == "prompt")
    assert recorded(record) == ["/sleep 3"]
    events = Path(harnex.registry()[0]["events_log_path"]).read_text()
    assert '"type": "failed"' in events


def test_inbox_full_is_503(harnex: Harnex, agent: Path) -> None:
    harnex.json("send", "--id", "agent", "--message", "/sleep 30")
    client = harnex.sidecar("agent", timeout=30)
    for i in range(64):
        assert client.request("POST", "/send", {"text": f"q{i}"}).status == 202
    full = client.request("POST", "/send", {"text": "one too many"})
    assert full.status == 503 and "inbox full" in full.body["error"]
    result = harnex.run("send", "--id", "agent", "--no-wait", "--message", "cli too")
    assert result.returncode == 1 and "inbox full" in result.stderr
    report = _failure(result)
    assert report["http_status"] == 503 and "inbox full" in report["error"]
    dropped = client.request("DELETE", "/inbox").body
    assert len(dropped["dropped"]) == 64
    assert dropped["cleared"] == 64  # 0.4.0's field, a count


def test_bad_send_requests(harnex: Harnex, agent: Path) -> None:
    client = harnex.sidecar("agent", timeout=30)
    assert client.request("POST", "/send", {"text": 5}).status == 400
    assert client.request("POST", "/send", {"text": "x", "force": "yes"}).status == 400
    assert client.request("POST", "/send", {"text": ""}).status == 400
    assert client.request("POST", "/send", {"text": "\ud800"}).status == 400
    big = client.request("POST", "/send", {"text": "x" * (256 * 1024 + 1)})
    assert big.status == 413
    assert client.request("POST", "/send", {"text": "x" * (256 * 1024)}).status in (200, 202)
    result = harnex.run("send", "--id", "agent", input="y" * (256 * 1024 + 10))
    assert result.returncode == 1 and "limit" in result.stderr
    assert "limit" in _failure(result)["error"]
    proc = harnex.run("send", "--id", "agent", input=None, env=dict(harnex.env))
    assert proc.returncode == 2  # no message at all
    assert client.request("GET", "/messages/msg-nope").status == 404
    assert client.request("DELETE", "/inbox/msg-nope").status == 404


def test_invalid_utf8_on_stdin(harnex: Harnex, agent: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "harnex_tmux", "send", "--id", "agent"],
        input=b"bad \xff\xfe bytes",
        capture_output=True,
        env=harnex.env,
        cwd=harnex.repo,
        timeout=30,
    )
    assert proc.returncode == 2 and b"not valid UTF-8" in proc.stderr


def test_not_ready_refusal_and_force(harnex: Harnex, agent: Path) -> None:
    harnex.json("send", "--id", "agent", "--message", "/sleep 2")
    harnex.run("wait", "--id", "agent", "--until", "busy", "--timeout", "30", check=True)
    client = harnex.sidecar("agent", timeout=30)
    refused = client.request("POST", "/send", {"text": "now!", "queue": False})
    assert refused.status == 409 and refused.body["state"] == "busy"
    forced = harnex.json("send", "--id", "agent", "--force", "--message", "typed ahead")
    assert forced["status"] == "delivered"
    wait_for(lambda: len(recorded(agent)) == 2, timeout=10)
    assert recorded(agent) == ["/sleep 2", "typed ahead"]


def test_no_submit_then_submit_only(harnex: Harnex, agent: Path) -> None:
    harnex.json("send", "--id", "agent", "--no-submit", "--message", "half")
    assert recorded(agent) == []
    harnex.json("send", "--id", "agent", "--submit-only")
    assert recorded(agent) == ["half"]


def test_relay_header_added_once(harnex: Harnex, agent: Path) -> None:
    env = dict(
        harnex.env, HARNEX_SESSION_ID="f" * 16, HARNEX_ID="boss", HARNEX_SESSION_CLI="claude"
    )
    harnex.run("send", "--id", "agent", "--message", "do the thing", env=env, check=True)
    relayed = "[harnex relay from=claude id=boss at=2026-01-01T00:00:00Z]\nalready relayed"
    harnex.run("send", "--id", "agent", "--message", relayed, env=env, check=True)
    harnex.run("send", "--id", "agent", "--no-relay", "--message", "plain", env=env, check=True)
    got = recorded(agent)
    assert got[0].startswith("[harnex relay from=claude id=boss at=")
    assert got[0].endswith("]\ndo the thing") and got[0].count("[harnex relay") == 1
    assert got[1] == relayed
    assert got[2] == "plain"
    # Not inside a session: no header.
    harnex.run("send", "--id", "agent", "--message", "direct", check=True)
    assert recorded(agent)[3] == "direct"


def test_send_to_port_and_token(harnex: Harnex, agent: Path) -> None:
    (record,) = harnex.registry()
    harnex.run(
        "send",
        "--port",
        str(record["port"]),
        "--token",
        record["token"],
        "--message",
        "by address",
        cwd=Path("/"),
        check=True,
    )
    assert recorded(agent) == ["by address"]
    bad = harnex.run("send", "--port", str(record["port"]), "--token", "0" * 32, "-m", "x")
    assert bad.returncode == 1 and "bearer token" in bad.stderr
    assert _failure(bad)["http_status"] == 401


def test_send_to_unknown_or_dead_session(harnex: Harnex, agent: Path) -> None:
    result = harnex.run("send", "--id", "ghost", "-m", "hi")
    assert result.returncode == 1 and "no session 'ghost'" in result.stderr
    assert _failure(result)["id"] == "ghost"
    (record,) = harnex.registry()
    os.kill(record["sidecar_pid"], signal.SIGKILL)
    result = harnex.run("send", "--id", "agent", "-m", "hi", timeout=20)
    assert result.returncode == 1 and "not answering" in result.stderr
    assert result.stderr.count("\n") == 1
    assert _failure(result)["id"] == "agent"


def _failure(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """A failed send still prints one JSON object, its error the text of the stderr line."""
    (line,) = result.stdout.splitlines()
    report: dict[str, Any] = json.loads(line)
    assert report["ok"] is False and report["status"] == "failed"
    assert report["message_id"] is None
    assert f"harnex: {report['error']}\n" == result.stderr
    return report


def test_wait_for_idle_reports_state_and_time(harnex: Harnex, agent: Path) -> None:
    result = harnex.json("send", "--id", "agent", "--wait-for-idle", "-m", "/sleep 1")
    assert result["ok"] is True and result["status"] == "delivered" and result["message_id"]
    assert result["state"] == "prompt" and 1.0 <= result["waited_seconds"] < 30
    assert isinstance(result["waited_seconds"], float)


def test_wait_for_idle_when_the_agent_exits_is_exit_1(harnex: Harnex, agent: Path) -> None:
    result = harnex.run("send", "--id", "agent", "--wait-for-idle", "-m", "/exit 0", timeout=60)
    assert result.returncode == 1, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["state"] == "exited"
    assert report["status"] == "delivered" and "waited_seconds" in report
    assert result.stderr == f"harnex: {report['error']}\n" and "exited" in report["error"]


def test_submit_only_with_text_is_a_usage_error(harnex: Harnex, agent: Path) -> None:
    for args in (["--submit-only", "-m", "x"], ["--submit-only", "word"]):
        result = harnex.run("send", "--id", "agent", *args)
        assert result.returncode == 2 and "does not accept message text" in result.stderr
    assert recorded(agent) == []


def test_killed_sidecar_restarted_delivers_queued_messages(harnex: Harnex, agent: Path) -> None:
    harnex.json("send", "--id", "agent", "--message", "/sleep 4")
    harnex.run("wait", "--id", "agent", "--until", "busy", "--timeout", "30", check=True)
    ids = [
        harnex.json("send", "--id", "agent", "--no-wait", "-m", f"queued {i}")["message_id"]
        for i in range(5)
    ]
    (record,) = harnex.registry()
    os.kill(record["sidecar_pid"], signal.SIGKILL)
    inbox = next((harnex.state_dir / "inbox").glob("*.jsonl"))
    assert [m.id for m in Inbox(inbox, ttl_s=60).pending()] == ids
    assert harnex.json("status", "--json")[0]["state"] == "sidecar-down"
    recovered = harnex.json("recover", "--id", "agent")
    assert recovered["sidecar_pid"] != record["sidecar_pid"]
    wait_for(lambda: len(recorded(agent)) == 6, timeout=30, interval=0.2)
    assert recorded(agent) == ["/sleep 4"] + [f"queued {i}" for i in range(5)]
    client = harnex.sidecar("agent", timeout=30)
    assert client.request("GET", f"/messages/{ids[-1]}").body["status"] == "delivered"
    events = [json.loads(x) for x in Path(record["events_log_path"]).read_text().splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    again = harnex.run("recover", "--id", "agent")
    assert again.returncode == 1 and "already has a running sidecar" in again.stderr


@pytest.mark.parametrize(
    ("env", "relay", "target", "headed"),
    [
        ({"HARNEX_SESSION_ID": "a" * 16}, None, "b" * 16, True),  # another session
        ({"HARNEX_SESSION_ID": "a" * 16}, None, "a" * 16, False),  # itself
        ({"HARNEX_SESSION_ID": "a" * 16}, None, None, False),  # --port/--token: unknown
        ({"HARNEX_SESSION_ID": "a" * 16}, True, None, True),  # ... unless --relay
        ({"HARNEX_SESSION_ID": "a" * 16}, False, "b" * 16, False),  # --no-relay
        ({}, True, "b" * 16, False),  # outside a session there is no sender to name
    ],
)
def test_relay_rules(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    relay: bool | None,
    target: str | None,
    headed: bool,
) -> None:
    from harnex_tmux.session.send import SendRequest, _relay_text

    monkeypatch.delenv("HARNEX_SESSION_ID", raising=False)
    for key, value in {**env, "HARNEX_ID": "boss", "HARNEX_SESSION_CLI": "codex"}.items():
        monkeypatch.setenv(key, value)
    text = _relay_text(SendRequest(text="hi", relay=relay), target)
    assert text.startswith("[harnex relay from=codex id=boss at=") == headed
    assert text.endswith("hi")


def test_relay_header_is_recognised_after_leading_space() -> None:
    from harnex_tmux.messages import with_relay

    text = "  \n[harnex relay from=claude id=x at=2026-01-01T00:00:00Z]\nhi"
    assert with_relay(text, "codex", "boss", "2026-01-02T00:00:00Z") == text
