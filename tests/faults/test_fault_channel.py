"""Faults of the kept channel to a host (hosts/channel.py, hosts/serve.py), through a real
OpenSSH server on loopback with a second Unix user as the host (``tests/sshd.py``).

The host's op server is SIGKILLed between ops and while it holds a send, the master that
carries the forwarded socket is SIGKILLed, sshd refuses to forward Unix sockets, and the
server's socket gets garbage: each time the next op answers right, a message is typed once,
and the server that took the garbage keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harnex_tmux.hosts import ssh
from tests import sshd
from tests.conftest import Figures, Harnex, recorded, wait_for
from tests.faults.test_fault_network import (
    _delivered_after_retries,
    _remote_row,
    _send_during,
    _ssh_clients,
)
from tests.procs import gone
from tests.remote_host import INSTALL_TIMEOUT, NAME, Remote

pytestmark = pytest.mark.e2e


def _server(h: Harnex, name: str = NAME) -> dict[str, Any]:
    kept: dict[str, Any] = h.json("hosts", "check", name, "--json", timeout=60)["channel"]
    assert kept["in_use"] is True, kept
    server: dict[str, Any] = kept["server"]
    return server


def _ready(remote: Remote, ident: str, busy: float = 0.2) -> str:
    remote.start_demo(ident, busy)
    target = f"{NAME}:{ident}"
    remote.harnex.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    return target


def test_op_server_killed_between_ops(remote: Remote, figures: Figures) -> None:
    """The op server is SIGKILLed while idle: the next op finds its socket dead (the
    forward's connection closes without a word), starts a new server and answers; a send
    is typed once."""
    h = remote.harnex
    target = _ready(remote, "k1")
    first = _server(h)
    os.kill(first["pid"], signal.SIGKILL)
    wait_for(lambda: gone(first["pid"]), timeout=15)
    started = time.monotonic()
    rows = h.json("status", "--host", NAME, "--json", timeout=60)
    elapsed = time.monotonic() - started
    assert [(row["id"], row.get("stale")) for row in rows] == [("k1", None)], rows
    sent = h.json("send", "--id", target, "--message", "after the kill ✓", timeout=60)
    assert sent["status"] == "delivered", sent
    second = _server(h)
    assert second["pid"] != first["pid"]
    assert second["served"] >= 2  # the status and the send went through the new one
    time.sleep(1.0)
    assert recorded(remote.record("k1")) == ["after the kill ✓"]
    figures.record("first op after the server was killed (a new one)", round(elapsed, 2), "s")
    figures.record("times the message was typed", len(recorded(remote.record("k1"))))


def test_op_server_killed_while_it_holds_a_send(remote: Remote, figures: Figures) -> None:
    """The op server is SIGKILLed once its child has queued a send on the host and waits
    for it to be typed: the answer is cut after ``accepted``, so the send tries again with
    the same message id through a new server, finds the message, and it is typed once."""
    h = remote.harnex
    target = _ready(remote, "k2")
    h.run("send", "--id", target, "--message", "/sleep 4", check=True)
    server = _server(h)
    text = "held line one\nline two ✓\n" + "q" * 3000
    send = ("send", "--id", target, "--message", text, "--message-id", "m-held", "--verbose")

    def kill_server() -> None:
        wait_for(lambda: _remote_row(remote, "k2").get("inbox"), timeout=30)
        os.kill(server["pid"], signal.SIGKILL)

    result, _ = _send_during(h, send, kill_server)
    retries = _delivered_after_retries(result, "m-held")
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    time.sleep(1.0)
    assert recorded(remote.record("k2")) == ["/sleep 4", text]
    assert _server(h)["pid"] != server["pid"]
    figures.record("retries after the kill, each with the same message id", len(retries))
    figures.record("times the message was typed", len(recorded(remote.record("k2"))) - 1)


def test_master_killed_the_forward_is_made_again(remote: Remote, figures: Figures) -> None:
    """The master connection that holds the forwarded socket is SIGKILLed: its socket file
    stays, nothing listens there. The next op makes a new master and forwards again, and
    the same op server (still running on the host) answers."""
    h = remote.harnex
    target = _ready(remote, "k3")
    server = _server(h)
    path = ssh.control_path(sshd.ALIAS)
    masters = wait_for(lambda: _ssh_clients("ControlMaster=yes", path), timeout=30)
    for pid in masters:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: all(gone(pid) for pid in masters), timeout=15)
    started = time.monotonic()
    sent = h.json("send", "--id", target, "--message", "after the master died", timeout=60)
    elapsed = time.monotonic() - started
    assert sent["status"] == "delivered", sent
    again = _server(h)
    assert again["pid"] == server["pid"] and again["served"] > server["served"]
    assert set(_ssh_clients("ControlMaster=yes", path)).isdisjoint(masters)
    time.sleep(1.0)
    assert recorded(remote.record("k3")) == ["after the master died"]
    figures.record("send after the master was killed (new master, forward)", round(elapsed, 2), "s")


@pytest.fixture(params=["AllowStreamLocalForwarding no", "DisableForwarding yes"])
def refusing(
    request: pytest.FixtureRequest, harnex: Harnex, test_host: sshd.TestHost
) -> Iterator[tuple[Harnex, sshd.TestHost]]:
    """A second server for the same remote user, whose sshd_config refuses to forward."""
    host = sshd.start(f"{request.param}\n", alias="refusing")
    harnex.env["HARNEX_SSH_CONFIG"] = str(host.ssh_config)
    try:
        added = harnex.run("hosts", "add", "nofwd", "refusing", timeout=INSTALL_TIMEOUT)
        assert added.returncode == 0, added.stderr
        yield harnex, host
    finally:
        for row in json.loads(harnex.run("status", "--host", "nofwd", "--json").stdout or "[]"):
            harnex.run("stop", "--id", f"nofwd:{row['id']}")
        harnex.run("hosts", "remove", "nofwd")
        # Not sshd.finish: the remote user's tmux server is the main test server's too.
        host.stop()


def test_forwarding_refused_falls_back_to_one_command_per_op(
    refusing: tuple[Harnex, sshd.TestHost], figures: Figures
) -> None:
    """sshd refuses to forward Unix sockets: ``hosts check`` says the kept channel is not
    in use and why, and every op gives the same answers the per-call way; a send is typed
    once."""
    h, host = refusing
    record = host.home / "records" / f"nofwd-{h.socket}.jsonl"
    python = f"{host.home}/.local/share/harnex/venv/bin/python"
    h.run(
        "run", "--on", "nofwd", "--id", "nf", "--detach", "--prompt-regex", r"^demo> ?$",
        python, "--", "-m", "harnex_tmux.demo_agent", "--record", str(record),
        check=True, timeout=60,
    )  # fmt: skip
    checked = h.json("hosts", "check", "nofwd", "--json", timeout=60)["channel"]
    assert checked["in_use"] is False and "forward" in checked["reason"], checked
    text = h.run("hosts", "check", "nofwd", timeout=60).stdout
    assert "kept channel: not in use (" in text and "each op starts harnex there" in text
    h.run("wait", "--id", "nofwd:nf", "--until", "prompt", "--timeout", "30", check=True)
    started = time.monotonic()
    rows = h.json("status", "--host", "nofwd", "--json", timeout=60)
    figures.record("status through a refusing server", round(time.monotonic() - started, 2), "s")
    assert [(row["id"], row.get("stale")) for row in rows] == [("nf", None)]
    assert "demo>" in h.json("pane", "--id", "nofwd:nf", "--json")["text"]
    sent = h.json("send", "--id", "nofwd:nf", "--message", "the long way ✓", timeout=60)
    assert sent["status"] == "delivered", sent
    wait_for(lambda: recorded(record), timeout=30)
    time.sleep(1.0)
    assert recorded(record) == ["the long way ✓"]
    # The refusal is noted beside the master: later ops do not ask again.
    assert Path(ssh.control_path("refusing") + ".noops").exists()
    assert not Path(ssh.forward_path("refusing")).exists()
    figures.record("times the message was typed", len(recorded(record)))


def _raw(path: str, data: bytes, close_write: bool = False) -> bytes:
    """Send ``data`` to the op server's own socket (we are root: the remote user's 0600
    socket is ours to open) and read its answer to the end."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
            if close_write:
                sock.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


HOSTILE = [
    ("not JSON", b"hello there\n"),
    ("binary", bytes(range(256)) * 4 + b"\n"),
    ("a JSON list", b"[1, 2, 3]\n"),
    ("wrong version", b'{"v": 99, "op": "run", "args": ["status"], "stdin": 0}\n'),
    ("unknown op", b'{"v": 1, "op": "exec", "args": [], "stdin": 0}\n'),
    ("args not strings", b'{"v": 1, "op": "run", "args": [1, {"a": 2}], "stdin": 0}\n'),
    ("a command it does not run", b'{"v": 1, "op": "run", "args": ["hosts", "remove", "x"]}\n'),
    ("negative stdin", b'{"v": 1, "op": "run", "args": ["status"], "stdin": -5}\n'),
    ("huge stdin", b'{"v": 1, "op": "run", "args": ["status"], "stdin": 99999999999}\n'),
    ("more bytes than announced", b'{"v": 1, "op": "run", "args": ["status"], "stdin": 2}\nabcdef'),
    ("a line with no end", b"{" + b"x" * (70 * 1024)),
]


def test_garbage_on_the_op_server_socket_is_one_line_and_it_keeps_serving(
    remote: Remote, figures: Figures
) -> None:
    """Anything that is not a request, on the host's op server socket: one ``error`` line
    each and the connection closed; a client that sends half a request and stops, or
    nothing at all, holds up nobody; the same server then answers a real op."""
    h = remote.harnex
    _ready(remote, "k4")
    server = _server(h)
    path = server["socket"]
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(path)
    half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    half.connect(path)
    half.sendall(b'{"v": 1, "op": "run", "args": ["status"], "stdin": 1000}\nonly this')
    try:
        for name, data in HOSTILE:
            answer = _raw(path, data)
            lines = answer.decode(errors="replace").splitlines()
            assert len(lines) == 1, (name, answer)
            reply = json.loads(lines[0])
            assert set(reply) == {"error"} and reply["error"], (name, reply)
        # A request cut short (the client closes its end): no answer, nothing run.
        assert _raw(path, b'{"v": 1, "op": "run", "args": ["status"]', close_write=True) == b""
        started = time.monotonic()
        rows = h.json("status", "--host", NAME, "--json", timeout=60)
        took = time.monotonic() - started
        assert [row["id"] for row in rows] == ["k4"]
    finally:
        silent.close()
        half.close()
    after = _server(h)
    assert after["pid"] == server["pid"]
    assert after["served"] == server["served"] + 1  # only the real status ran
    log = Path(path).with_name("ops.log").read_text()
    assert log.count("refused a request") >= len(HOSTILE)
    figures.record("bad requests answered with one error line", len(HOSTILE))
    figures.record("status while two clients held connections open", round(took, 2), "s")
    figures.record("op servers after the garbage (same pid)", 1)
