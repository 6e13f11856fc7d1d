"""Network faults between this machine and a host (``harnex hosts``), through a real
OpenSSH server on loopback with a second Unix user as the host (``tests/sshd.py``).

The server or the ssh client that carries a send is killed, the shared master connection
is frozen, the host's sidecar is killed, the host is down or silent during ``status``: each
time nothing is typed twice, nothing hangs, and what the user sees is one line or the
right answer.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harnex_tmux.hosts import ssh
from tests import sshd
from tests.conftest import Figures, Harnex, recorded, wait_for
from tests.procs import gone
from tests.remote_host import NAME, Remote

pytestmark = pytest.mark.e2e


def _ssh_clients(*words: str) -> list[int]:
    """Our ``ssh`` processes whose command line holds all of ``words``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "ssh":
                continue
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if all(any(word in arg for arg in argv) for word in words):
            found.append(int(entry.name))
    return found


def _remote_row(remote: Remote, ident: str) -> dict[str, Any]:
    rows = remote.harnex.json("status", "--host", NAME, "--json", timeout=60)
    found: dict[str, Any] = next(row for row in rows if row["id"] == ident)
    return found


T = TypeVar("T")


def _send_during(
    h: Harnex, send: tuple[str, ...], cut: Callable[[], T]
) -> tuple[subprocess.CompletedProcess[str], T]:
    """``h.run(*send)`` in a thread while ``cut()`` breaks its way to the host; the send's
    result once it ended (or two minutes passed) and what ``cut`` returned. The send must be
    under way while the fault happens, which a test's own thread cannot do in one call."""
    outcome: dict[str, subprocess.CompletedProcess[str]] = {}
    sender = threading.Thread(target=lambda: outcome.update(result=h.run(*send, timeout=120)))
    sender.start()
    try:
        done = cut()
    finally:
        sender.join(120)
    return outcome["result"], done


def _delivered_after_retries(
    result: subprocess.CompletedProcess[str], message_id: str
) -> list[str]:
    """The send delivered ``message_id`` and said it retried, each time with that same id
    (the host found the message it already held: no copy); its retry lines."""
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "delivered" and answer["message_id"] == message_id, answer
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert retries and all(line.startswith(f"harnex: {message_id} retrying") for line in retries)
    return retries


def test_ssh_client_killed_mid_send_retries_with_the_same_id(
    remote: Remote, figures: Figures
) -> None:
    """The local ssh process that carries a send is killed once the host has queued the
    message: the send tries again with the same message id, finds the message there, and
    it is typed exactly once."""
    h = remote.harnex
    # The per-call path (one ssh command per op); the kept channel's own faults are in
    # test_fault_channel.py.
    h.env["HARNEX_HOST_CHANNEL"] = "off"
    remote.start_demo("drop", busy=0.2)
    target = f"{NAME}:drop"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    # The agent works on a first message, so ours waits in the host's inbox.
    h.run("send", "--id", target, "--message", "/sleep 4", check=True)
    text = "dropped line one\nline two: ✓ ünïcode\n" + "z" * 5000
    send = ("send", "--id", target, "--message", text, "--message-id", "m-drop", "--verbose")

    def kill_carriers() -> list[int]:
        carriers = wait_for(lambda: _ssh_clients("m-drop"), timeout=30)
        wait_for(lambda: _remote_row(remote, "drop").get("inbox"), timeout=30)
        for pid in carriers:
            os.kill(pid, signal.SIGKILL)
        return carriers

    result, carriers = _send_during(h, send, kill_carriers)
    retries = _delivered_after_retries(result, "m-drop")
    wait_for(lambda: len(recorded(remote.record("drop"))) >= 2, timeout=30)
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    time.sleep(1.0)
    assert recorded(remote.record("drop")) == ["/sleep 4", text]
    figures.record("ssh clients killed while the host held the message", len(carriers))
    figures.record("retries, each with the same message id", len(retries))
    figures.record("times the message was typed", len(recorded(remote.record("drop"))) - 1)


def test_a_frozen_master_is_replaced_within_a_bounded_time(
    remote: Remote, figures: Figures
) -> None:
    """The shared master connection is stopped (SIGSTOP: its socket still accepts, it never
    answers). The next commands do not hang: they find it dead within a time limit,
    replace it, and answer; nothing waits on the frozen one."""
    h = remote.harnex
    remote.start_demo("hung")
    target = f"{NAME}:hung"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    path = ssh.control_path(sshd.ALIAS)
    masters = wait_for(lambda: _ssh_clients("ControlMaster=yes", path), timeout=30)
    assert len(masters) == 1, masters
    master = masters[0]
    os.kill(master, signal.SIGSTOP)
    try:
        timings = {}
        for name, args in (
            ("pane", ("pane", "--id", target, "--json")),
            ("status", ("status", "--host", NAME, "--json")),
            ("send", ("send", "--id", target, "--message", "after the freeze")),
        ):
            started = time.monotonic()
            result = h.run(*args, timeout=120)
            timings[name] = round(time.monotonic() - started, 2)
            lines = result.stderr.strip().splitlines()
            assert result.returncode == 0 or len(lines) == 1, (name, result.stderr)
            assert result.returncode == 0, (name, result.stderr)
            if name == "status":
                # Answered by the host through the new master, not shown as down.
                assert [row.get("stale") for row in json.loads(result.stdout)] == [None]
        # A new master took the socket's place; the frozen one is left as it was.
        assert set(_ssh_clients("ControlMaster=yes", path)) - {master}
    finally:
        os.kill(master, signal.SIGCONT)
        os.kill(master, signal.SIGKILL)
    wait_for(lambda: recorded(remote.record("hung")) == ["after the freeze"], timeout=30)
    figures.record("first command after the freeze (finds it, replaces it)", timings["pane"], "s")
    figures.record("status after, through the new master", timings["status"], "s")
    figures.record("send after the freeze, typed once", timings["send"], "s")


def test_remote_sidecar_killed_then_recovered_over_ssh(remote: Remote, figures: Figures) -> None:
    """The host's sidecar is SIGKILLed with two messages queued; ``harnex recover NAME:id``
    gives the session a new one there and each message is typed once, in order."""
    h = remote.harnex
    remote.start_demo("rec")
    target = f"{NAME}:rec"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    h.run("send", "--id", target, "--message", "/sleep 4", check=True)
    queued = ["queued one", "queued two ✓"]
    for text in queued:
        answer = h.json("send", "--id", target, "--no-wait", "--message", text)
        assert answer["status"] == "queued", answer
    sidecar = _remote_row(remote, "rec")["sidecar_pid"]
    os.kill(sidecar, signal.SIGKILL)
    wait_for(lambda: gone(sidecar), timeout=15)
    wait_for(lambda: _remote_row(remote, "rec")["state"] == "sidecar-down", timeout=30)
    started = time.monotonic()
    recovered = h.json("recover", "--id", target, timeout=120)
    assert recovered["ok"] is True and recovered["id"] == target
    assert recovered["sidecar_pid"] != sidecar
    wait_for(lambda: len(recorded(remote.record("rec"))) >= 3, timeout=60, interval=0.2)
    elapsed = time.monotonic() - started
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    time.sleep(1.0)
    assert recorded(remote.record("rec")) == ["/sleep 4", *queued]
    assert _remote_row(remote, "rec")["state"] != "sidecar-down"
    figures.record("queued when the host's sidecar was killed", len(queued))
    figures.record("delivered after recover over ssh, in order, once", len(queued))
    figures.record("recover to last delivery", round(elapsed, 2), "s")


@pytest.mark.parametrize(("after", "busy"), [(0.1, 0.2), (0.4, 0.2), (0.8, 0.2), (1.5, 4.0)])
def test_sshd_killed_during_a_send_never_types_twice(
    remote: Remote, after: float, busy: float, figures: Figures
) -> None:
    """The server and its connections are killed ``after`` seconds into a send of a 100 KB
    message (connecting, handing it over, or waiting for its typing): the send reports it
    delivered, or ``unconfirmed`` (exit 3), and is never typed twice, also once the same
    send (same message id) is made again after the server is back."""
    h = remote.harnex
    remote.start_demo("w2", busy)
    h.run("wait", "--id", f"{NAME}:w2", "--until", "prompt", "--timeout", "30", check=True)
    before: list[str] = []
    if busy > 1:
        # The agent works on a first message: ours waits queued when the server dies.
        h.run("send", "--id", f"{NAME}:w2", "--message", "first", check=True)
        before = ["first"]
    text = "".join(f"{i:07d} {'y' * 91}\n" for i in range(1001))[:-1]
    send = ("send", "--id", f"{NAME}:w2", "--message", text, "--message-id", "m-fault")

    def stop_host() -> None:
        time.sleep(after)
        remote.host.stop()

    result, _ = _send_during(h, send, stop_host)
    sshd.restart(remote.host)
    figures.record("send's exit code (0 delivered, 1 refused, 3 unconfirmed)", result.returncode)
    # 1: the connection was refused before the message was handed over (said so, nothing
    # queued); 3: it may have been, the send cannot tell.
    assert result.returncode in (0, 1, 3), result.stderr
    if result.returncode == 3:
        assert json.loads(result.stdout)["status"] == "unconfirmed"
    if result.returncode == 1:
        assert "Connection refused" in result.stderr
        assert recorded(remote.record("w2")) == before
    # Sending again with its id finds the first message (or queues it, once).
    again = h.json(*send, timeout=120)
    assert again["status"] == "delivered", again
    wait_for(lambda: len(recorded(remote.record("w2"))) > len(before))
    time.sleep(1.0)
    assert recorded(remote.record("w2")) == [*before, text]
    figures.record("times typed, after the resend with its id", 1)


def test_a_host_that_is_down_shows_its_sessions_as_last_seen(
    remote: Remote, figures: Figures
) -> None:
    """The host's sshd dies: ``status`` still lists this machine's sessions, shows the
    host's as last seen with state unknown and the reason, exits 0, and does not hang."""
    h = remote.harnex
    h.start_demo("here")
    remote.start_demo("far")
    h.run("wait", "--id", f"{NAME}:far", "--until", "prompt", "--timeout", "30", check=True)
    assert {row["id"] for row in h.json("status", "--json")} == {"here", "far"}
    remote.host.stop()
    try:
        started = time.monotonic()
        result = h.run("status", "--json", timeout=60)
        figures.record("status with the host down", round(time.monotonic() - started, 2), "s")
        assert result.returncode == 0, result.stderr
        rows = {row["id"]: row for row in json.loads(result.stdout)}
        assert rows["here"]["machine"] is None and rows["here"]["state"] != "unknown"
        far = rows["far"]
        assert far["machine"] == NAME and far["stale"] is True and far["state"] == "unknown"
        assert far["last_state"] in ("idle", "prompt", "busy"), far
        assert f"host '{NAME}'" in far["host_error"]
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"host '{NAME}'" in lines[0] and "last seen" in lines[0]
        table = h.run("status", timeout=60)
        assert table.returncode == 0
        far_line = [line.split() for line in table.stdout.splitlines() if " far " in line]
        assert far_line and far_line[0][0] == NAME and "unknown" in far_line[0]
        one = h.json("status", "--id", f"{NAME}:far", "--json", timeout=60)
        assert [row["id"] for row in one] == ["far"] and one[0]["stale"] is True
    finally:
        sshd.restart(remote.host)
    back = h.json("status", "--host", NAME, "--json", timeout=60)
    assert [row["id"] for row in back] == ["far"] and "stale" not in back[0]


def test_a_silent_host_does_not_hold_up_the_others(remote: Remote, figures: Figures) -> None:
    """A host whose port takes the connection and never says a word (ssh gives up after
    its ConnectTimeout): ``status`` shows the host that answers, names the silent one on
    stderr, and returns once the status wait is over."""
    h = remote.harnex
    remote.start_demo("loud")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        hosts_file = h.state_dir / "hosts.json"
        data = json.loads(hosts_file.read_text())
        data["hosts"]["mute"] = {"dest": f"ssh://{sshd.REMOTE_USER}@127.0.0.1:{port}"}
        hosts_file.write_text(json.dumps(data))
        started = time.monotonic()
        result = h.run("status", "--json", timeout=60)
        figures.record("status with a silent host", round(time.monotonic() - started, 2), "s")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(row["machine"], row["id"], row.get("stale")) for row in rows] == [(NAME, "loud", None)]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "host 'mute'" in lines[0], result.stderr


def _remote_sends(message_id: str) -> list[str]:
    """The host user's ``harnex send`` processes carrying ``message_id`` (same machine)."""
    found = subprocess.run(
        ["pgrep", "-a", "-u", sshd.REMOTE_USER, "-f", "--", f"--message-id {message_id}"],
        capture_output=True,
        text=True,
    )
    return found.stdout.splitlines()


def _op_server_children(remote: Remote) -> list[str]:
    """What the host's op server is running (a send over the kept channel is its forked
    child and keeps the server's command line, so ``_remote_sends`` cannot see it)."""
    server = remote.harnex.json("hosts", "check", NAME, "--json")["channel"]["server"]
    if not server:
        return []
    return remote.host.ssh(f"pgrep -a -P {int(server['pid'])}").stdout.splitlines()


def _busy_remote(remote: Remote, ident: str, seconds: int) -> str:
    """A demo agent on the host that works on a first message for ``seconds``: a message
    sent now waits in the host's inbox."""
    h = remote.harnex
    remote.start_demo(ident)
    target = f"{NAME}:{ident}"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "60", check=True)
    h.run("send", "--id", target, "--message", f"/sleep {seconds}", check=True)
    h.run("wait", "--id", target, "--until", "busy", "--timeout", "60", check=True)
    return target


def test_a_remote_send_that_times_out_is_withdrawn_never_typed(
    remote: Remote, figures: Figures
) -> None:
    """A send to a busy agent on a host runs out of time: reported ``timeout`` (exit 124,
    as locally) and withdrawn there; when the agent is back at its prompt, it is never
    typed."""
    h = remote.harnex
    target = _busy_remote(remote, "tmo", 8)
    result = h.run("send", "--id", target, "--message", "too late", "--timeout", "2", timeout=90)
    assert result.returncode == 124, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "timeout" and answer["typed"] is False, answer
    assert "withdrawn, never typed" in answer["error"]
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "60", check=True)
    time.sleep(2.0)  # room for a queued copy to be typed, were there one
    assert recorded(remote.record("tmo")) == ["/sleep 8"]
    assert _remote_row(remote, "tmo")["inbox"] == 0
    figures.record("remote sends timed out while queued", 1)
    figures.record("of them typed later", len(recorded(remote.record("tmo"))) - 1)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_remote_send_is_withdrawn_never_typed(
    remote: Remote, how: signal.Signals, figures: Figures
) -> None:
    """``harnex send NAME:id`` is interrupted (Ctrl-C, SIGTERM) while its message waits in
    the host's inbox: the message is withdrawn there, the host's send for it ended, and the
    interrupt's line says so; the agent, back at its prompt, never types it."""
    h = remote.harnex
    ident = f"int{how.value}"
    target = _busy_remote(remote, ident, 10)
    message_id = f"m-int-{how.name}"
    send = h.popen(
        "send", "--id", target, "--message", "never", "--message-id", message_id, new_session=True
    )
    try:
        wait_for(lambda: _remote_row(remote, ident).get("inbox"), timeout=60)
        started = time.monotonic()
        if how == signal.SIGINT:
            os.killpg(send.pid, how)  # a Ctrl-C at the terminal: ssh gets it too
        else:
            os.kill(send.pid, how)
        _, err = send.communicate(timeout=90)
        figures.record(
            f"{how.name} to the withdrawn report", round(time.monotonic() - started, 2), "s"
        )
    finally:
        if send.poll() is None:
            os.killpg(send.pid, signal.SIGKILL)
            send.wait(30)
    assert send.returncode == 130, err
    assert f"{message_id} withdrawn, never typed" in err, err
    assert _remote_sends(message_id) == [] and _op_server_children(remote) == []
    assert _remote_row(remote, ident)["inbox"] == 0
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "60", check=True)
    time.sleep(2.0)  # room for a queued copy to be typed, were there one
    assert recorded(remote.record(ident)) == ["/sleep 10"]
    figures.record(
        f"remote sends ended by {how.name} while queued, typed later",
        len(recorded(remote.record(ident))) - 1,
    )
