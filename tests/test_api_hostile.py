"""The sidecar API under hostile input from a holder of the right token: every bad request is
a 4xx with a one-line reason, decided before anything is queued, and answered at once."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Harnex, recorded, wait_for

from harnex_tmux.messages import sanitize


def _raw(harnex: Harnex, ident: str, method: str, path: str, body: bytes) -> tuple[int, Any]:
    (record,) = [r for r in harnex.registry() if r["id"] == ident]
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {record['token']}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((record["host"], record["port"]), timeout=10) as sock:
        sock.sendall(head + body)
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    head_bytes, _, payload = data.partition(b"\r\n\r\n")
    return int(head_bytes.split()[1]), json.loads(payload)


@pytest.mark.parametrize(
    "path",
    [
        "/wait?until=prompt&timeout=nan",
        "/wait?until=prompt&timeout=inf",
        "/wait?until=prompt&timeout=-1",
        "/wait?until=prompt&timeout=1e999",
        "/wait?until=prompt&timeout=" + "9" * 5000,
        "/wait?until=task_complete&after=%C2%B2",  # a superscript two: isdigit() says yes
        "/wait?until=task_complete&after=" + "9" * 400,
        "/pane?lines=%C2%B2",
        "/pane?lines=-3",
        "/messages/msg-x?wait=nan",
        "/messages/msg-x?wait=%D9%A3",  # an Arabic-Indic three: float() would take it
    ],
    ids=lambda path: path[:48],
)
def test_bad_numbers_in_queries_are_400_at_once(harnex: Harnex, path: str) -> None:
    harnex.start_demo("q")
    client = harnex.sidecar("q")
    started = time.monotonic()
    answer = client.request("GET", path, timeout=10)
    assert answer.status == 400, answer.body
    assert "\n" not in answer.body["error"]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "x", "wait": NaN}',
        b'{"text": "x", "wait": Infinity}',
        b'{"text": "x", "wait": -Infinity}',
        b'{"text": "x", "wait": 1e400}',
        b'{"text": "x", "wait": -1}',
        b'{"text": "x", "wait": "5"}',
        b'{"text": "x", "wait": ' + b"9" * 5000 + b"}",
        b'{"text": ' + b"[" * 100000 + b"]" * 100000 + b"}",
        b"[" * 100000,
        b'{"text": 5}',
        b'{"text": "x", "submit": "yes"}',
        b"\xff\xfe not utf-8",
        b"",
    ],
    ids=lambda body: f"{len(body)}B:{body[:24]!r}",
)
def test_bad_send_bodies_are_400_and_queue_nothing(
    harnex: Harnex, tmp_path: Path, body: bytes
) -> None:
    record = tmp_path / "rec.jsonl"
    harnex.start_demo("b", record=record)
    harnex.run("wait", "--id", "b", "--until", "prompt", "--timeout", "20", check=True)
    status, answer = _raw(harnex, "b", "POST", "/send", body)
    assert status == 400, answer
    assert "\n" not in answer["error"]
    assert harnex.sidecar("b").request("GET", "/inbox").body["messages"] == []
    # A good message still goes through, and is the only one the agent got.
    good = harnex.sidecar("b").request("POST", "/send", {"text": "after", "wait": 10})
    assert good.body["status"] == "delivered", good.body
    wait_for(lambda: recorded(record) == ["after"], timeout=10)


def test_a_huge_integer_wait_is_capped_not_a_crash(harnex: Harnex, tmp_path: Path) -> None:
    """``10**400`` used to raise OverflowError after queueing: a 500 for a message that was
    then typed anyway, so a client retrying on 500 sent it twice."""
    record = tmp_path / "rec.jsonl"
    harnex.start_demo("huge", record=record)
    harnex.run("wait", "--id", "huge", "--until", "prompt", "--timeout", "20", check=True)
    status, answer = _raw(
        harnex, "huge", "POST", "/send", b'{"text": "once", "wait": 1' + b"0" * 400 + b"}"
    )
    assert status == 200 and answer["status"] == "delivered", answer
    wait_for(lambda: recorded(record) == ["once"], timeout=10)


def test_an_oversized_body_gets_413_not_a_reset(harnex: Harnex) -> None:
    harnex.start_demo("big")
    status, answer = _raw(harnex, "big", "POST", "/send", b"x" * (10 * 1024 * 1024))
    assert status == 413 and "over" in answer["error"]


def test_a_message_dropped_while_its_sender_waits_is_409(harnex: Harnex) -> None:
    # A long busy spell keeps the message queued while it is dropped.
    harnex.start_demo("drop", busy=5.0)
    client = harnex.sidecar("drop")
    harnex.run("wait", "--id", "drop", "--until", "prompt", "--timeout", "20", check=True)
    client.request("POST", "/send", {"text": "first", "wait": 10})
    # The agent is busy with "first": the next one waits in the inbox.
    results: list[Any] = []

    import threading

    sender = threading.Thread(
        target=lambda: results.append(
            client.request("POST", "/send", {"text": "second", "wait": 10}, timeout=20)
        )
    )
    sender.start()
    wait_for(lambda: client.request("GET", "/inbox").body["messages"], timeout=10)
    assert client.request("DELETE", "/inbox").body["cleared"] == 1
    sender.join(20)
    (answer,) = results
    assert answer.status == 409, answer.body
    assert answer.body["status"] == "failed" and answer.body["error"] == "dropped"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("a\x1b]0;window title\x07b", "ab"),
        ("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),
        ("x\x1bP1$r\x1b\\y", "xy"),
        ("\x9b2Jc1", "2Jc1"),
        ("keep\ttabs\nand lines, ünïcödé, 日本語", "keep\ttabs\nand lines, ünïcödé, 日本語"),
        ("bell\x07 nul\x00 del\x7f c1\x85", "bell nul del c1"),
        ("crlf\r\nline", "crlf\nline"),
    ],
)
def test_escape_sequences_go_whole(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


def test_escape_sequences_never_reach_the_agent(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    harnex.start_demo("esc", record=record)
    answer = harnex.sidecar("esc").request(
        "POST", "/send", {"text": "\x1b[31mred\x1b[0m and \x1b]0;t\x07plain", "wait": 20}
    )
    assert answer.body["status"] == "delivered", answer.body
    wait_for(lambda: recorded(record) == ["red and plain"], timeout=10)


def _exchange(harnex: Harnex, ident: str, raw: bytes) -> bytes:
    (record,) = [r for r in harnex.registry() if r["id"] == ident]
    with socket.create_connection((record["host"], record["port"]), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def _answer(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), raw[:80]
    return int(head.split()[1]), json.loads(body)


def test_malformed_http_gets_the_http_server_codes_in_json(harnex: Harnex) -> None:
    """The sidecar parses HTTP itself: the limits and codes of Python's http.server, each
    answered with a one-line JSON error."""
    harnex.start_demo("h")
    (record,) = [r for r in harnex.registry() if r["id"] == "h"]
    auth = f"Authorization: Bearer {record['token']}\r\n"
    cases = [
        (b"GET /status HTTP/1.x\r\n\r\n", 400),
        (b"GET /status HTTP/2.0\r\n\r\n", 505),
        (b"GET /status extra HTTP/1.1\r\n\r\n", 400),
        (b"POST /send\r\n\r\n", 400),  # HTTP/0.9 allows only GET
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /status HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
        (b"GET /status HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431),
        (b"GET /status HTTP/1.1\r\nContent-Length: -1\r\n" + auth.encode() + b"\r\n", 400),
    ]
    for raw, expected in cases:
        status, body = _answer(_exchange(harnex, "h", raw))
        assert status == expected, (raw[:60], body)
        assert body["ok"] is False and "\n" not in body["error"]
    # Header names are case-insensitive, the first of a repeated header counts, a folded
    # line continues its header, and '//' at the start of a path is one '/'.
    good = f"authorization: bearer {record['token']}\r\n".encode()
    for raw in (
        b"GET //status HTTP/1.1\r\n" + good + b"Authorization: Bearer wrong\r\n\r\n",
        b"GET /status HTTP/1.1\r\nAuthorization: Bearer\r\n "
        + record["token"].encode()
        + b"\r\n\r\n",
    ):
        status, body = _answer(_exchange(harnex, "h", raw))
        assert status == 200 and body["id"] == "h", body


def test_expect_100_continue_is_answered_before_the_body(harnex: Harnex) -> None:
    """curl sends ``Expect: 100-continue`` with bodies over 1 KiB and waits for the 100."""
    harnex.start_demo("e")
    (record,) = [r for r in harnex.registry() if r["id"] == "e"]
    body = json.dumps({"text": "x" * 2000, "queue": True, "wait": 0}).encode()
    head = (
        f"POST /send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {record['token']}\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection((record["host"], record["port"]), timeout=10) as sock:
        sock.sendall(head)
        interim = sock.recv(64)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, answer = _answer(b"".join(iter(lambda: sock.recv(65536), b"")))
    assert status in (200, 202), answer
    assert answer["ok"] is True
