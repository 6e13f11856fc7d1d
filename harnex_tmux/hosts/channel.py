"""The kept channel to a host: this side's half of the op server (hosts/serve.py).

Once per master connection, ``harnex hosts serve`` is run on the host over ssh (it starts
the op server there when none runs and says where its socket is), and the master is asked
to forward a local Unix socket to it (``ssh -O forward -L``). From then on a remote op is a
connection to that local socket: no ssh process here, no Python start there.

Exactly once comes first. The server says ``accepted`` before it runs anything, so a
connection that ends without that line ran nothing (while the master stays up: the master
is asked), and the op may go again by any path. When the server, or sshd's forwarding,
is not there, the op goes the per-call way (one ``ssh ... harnex ARGS``): a missing or
stale local socket is made again, a gone server started again, and a server that runs but
cannot be reached through the forward means sshd refuses to forward Unix sockets
(``AllowStreamLocalForwarding no``, ``DisableForwarding yes``), noted beside the master
for REFUSED_RECHECK_S so that later ops go straight the per-call way. An op that was
accepted and then lost its answer is HostConnectionLost, as a dropped ssh command is: a
send retries it with its message id, and reads (status, pane, events, wait) once more.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.errors import HostConnectionLost, HostUnreachable
from harnex_tmux.hosts import ssh, wire
from harnex_tmux.hosts.installer import build_id, mismatch_line, remote_command
from harnex_tmux.hosts.store import Host
from harnex_tmux.session.polling import Pause, Steps, exchange_steps

# HARNEX_HOST_CHANNEL=off: every op starts its own harnex on the host over ssh.
ENV = "HARNEX_HOST_CHANNEL"
# How long the per-call path is taken without asking again once sshd refused to forward.
REFUSED_RECHECK_S = 600.0
# Ops that may simply run again when their answer was lost: they only read.
RETRY_SAFE = ("status", "pane", "events", "wait")
SET_UP_TIMEOUT_S = 30.0
# While the master is not asked first: the op server's ``accepted`` line must come within
# this long (it comes in milliseconds), as ``ssh -O check`` had to answer within 3 s.
ACCEPT_WAIT_S = 3.0


@dataclass(frozen=True)
class ChannelReport:
    """Whether ops to a host go over the kept channel, and why not when they do not."""

    in_use: bool
    reason: str | None = None
    server: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"in_use": self.in_use, "reason": self.reason, "server": self.server or None}


def enabled() -> bool:
    return os.environ.get(ENV, "").lower() not in ("off", "0", "no")


def call_steps(
    host: Host, args: list[str], stdin: bytes = b"", timeout: float | None = None
) -> Steps[ssh.SshResult | None]:
    """``harnex ARGS`` run by the host's op server, as an SshResult like the per-call
    path's; None when the channel is not there, nothing ran, and the per-call path is to
    be taken."""
    if not enabled() or not args or args[0] not in wire.COMMANDS:
        return None
    request = wire.Request("run", args, stdin)
    reply, _ = yield from _exchange_steps(host, request, timeout, args[0] in RETRY_SAFE)
    if reply is None or reply.head is None:
        return None
    head = reply.head
    stderr = reply.stderr.decode("utf-8", errors="replace")
    build = str(head.get("build") or "")
    if build and build != build_id():
        stderr = mismatch_line(host.name, str(head.get("version")), build) + "\n" + stderr
    code = head.get("code")
    return ssh.SshResult(code if isinstance(code, int) else 255, reply.stdout, stderr)


def report_steps(host: Host) -> Steps[ChannelReport]:
    """For ``hosts check``: set the channel up when it is not, ask the server through it."""
    if not enabled():
        return ChannelReport(False, f"turned off ({ENV}=off)")
    reply, reason = yield from _exchange_steps(host, wire.Request("ping"), 10.0, True)
    if reply is None or reply.head is None or "pong" not in reply.head:
        return ChannelReport(False, reason or "the op server did not answer")
    server = {k: reply.head.get(k) for k in ("pid", "served", "socket", "version", "build")}
    return ChannelReport(True, None, server)


def _exchange_steps(
    host: Host, request: wire.Request, timeout: float | None, retry_safe: bool
) -> Steps[tuple[wire.Reply | None, str]]:
    """Send ``request`` over the kept channel, setting it up when it is missing; the whole
    reply, or None and why (then nothing ran).

    While the forwarded socket is there the master is not asked first (``ssh -O check``
    is a process per op): the server's ``accepted`` line through it proves the master up.
    It is asked when something failed: no listener on the socket, or a connection closed
    without a word. No ``accepted`` within ACCEPT_WAIT_S is a frozen master (it still lets
    a connection in, and never answers): it is left and a new one started, without asking
    it (``ssh -O check`` would wait as long again to say so)."""
    dest = host.dest
    path = ssh.forward_path(dest)
    trusted = os.path.exists(path) and not _refused(dest)
    data = request.encode()
    set_up = retried = False
    for _ in range(5):
        if not trusted:
            try:
                yield from ssh.master_steps(dest)
            except HostUnreachable as exc:
                raise type(exc)(f"host {host.name!r}: {exc}") from exc
            refused = _refused(dest)
            if refused:
                return None, refused
        if not os.path.exists(path):
            if set_up:
                return None, "the forwarded socket went away again"
            report = yield from _set_up_steps(host, timeout, after_silence=False)
            set_up = True
            if not report.in_use:
                return None, report.reason or ""
        quick = ACCEPT_WAIT_S if trusted else None
        done = yield from exchange_steps(path, data, timeout, quick)
        if not done.connected:
            # Nothing listens there: the master that made it is gone. Made again above.
            Path(path).unlink(missing_ok=True)
            ssh.forget_master(dest)
            trusted = False
            continue
        if done.silent:
            # Not even ``accepted``: a frozen master, or a host too slow to take it. A new
            # master is started for what goes next; only a read may simply go again.
            ssh.drop_master(dest)
            if retry_safe and not retried:
                retried, trusted = True, False
                continue
            raise HostConnectionLost(f"host {host.name!r}: no answer within {ACCEPT_WAIT_S:g}s")
        reply = wire.parse_reply(done.data)
        if reply.complete:
            return reply, ""
        if reply.head is not None:
            # Refused before running (an upgraded host's old server says so and ends).
            return None, str(reply.head.get("error"))
        if reply.accepted:
            if done.timed_out:
                ssh.forget_master(dest)
                raise HostConnectionLost(f"host {host.name!r}: no answer within {timeout:g}s")
            if retry_safe and not retried:
                retried = True
                continue
            raise HostConnectionLost(
                f"host {host.name!r}: the kept channel closed before the answer"
            )
        if done.timed_out:
            # Not accepted yet, but it may still be: only a new request is safe.
            ssh.forget_master(dest)
            raise HostConnectionLost(f"host {host.name!r}: no answer within {timeout:g}s")
        # Closed without a word. With the master up that means no byte of ours was run:
        # the server is gone, or sshd would not open the forward to it.
        alive = yield from ssh.alive_steps(dest)
        if not alive:
            ssh.forget_master(dest)
            raise HostConnectionLost(f"host {host.name!r}: the connection was lost")
        if set_up:
            reason = "sshd refuses to forward Unix sockets (AllowStreamLocalForwarding)"
            _note_refused(dest, reason)
            return None, reason
        report = yield from _set_up_steps(host, timeout, after_silence=True)
        set_up = True
        if not report.in_use:
            return None, report.reason or ""
    return None, "the kept channel could not be set up"


def _set_up_steps(host: Host, timeout: float | None, after_silence: bool) -> Steps[ChannelReport]:
    """Start the host's op server when it is not running, and forward a local socket to it,
    within the op's own ``timeout`` (``status`` waits 5 s for a host). One process at a
    time per host (a lock beside the master's socket)."""
    dest = host.dest
    limit = SET_UP_TIMEOUT_S if timeout is None else min(timeout, SET_UP_TIMEOUT_S)
    local = ssh.forward_path(dest)
    lock = os.open(f"{local}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + limit
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return ChannelReport(False, "another harnex is setting the channel up")
                yield Pause(0.02)
        if not after_silence and os.path.exists(local):
            return ChannelReport(True)  # another process made it while this one waited
        try:
            result = yield from ssh.run_command_steps(
                dest, remote_command("hosts", "serve"), timeout=limit
            )
        except HostUnreachable as exc:
            return ChannelReport(False, str(exc))
        info = wire.last_json(result.stdout.decode("utf-8", errors="replace"))
        if result.code != 0 or not isinstance(info, dict) or not info.get("socket"):
            lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
            why = lines[-1] if lines else f"exit {result.code}"
            reason = f"the host's harnex has no op server ({why})"
            _note_refused(dest, reason)
            return ChannelReport(False, reason)
        if after_silence and not info.get("started"):
            # It was running all along and still nothing came through: sshd's doing.
            reason = "sshd refuses to forward Unix sockets (AllowStreamLocalForwarding)"
            _note_refused(dest, reason)
            return ChannelReport(False, reason)
        if os.path.exists(local):
            # It took the connection and the new server listens where it points.
            return ChannelReport(True, None, info)
        failed = yield from ssh.forward_steps(dest, local, str(info["socket"]))
        if failed:
            reason = f"ssh would not forward the socket: {failed}"
            _note_refused(dest, reason)
            return ChannelReport(False, reason)
        return ChannelReport(True, None, info)
    finally:
        os.close(lock)


def forget(dest: str) -> None:
    """Ask again at the next op (``hosts add``/``upgrade`` changed what runs there)."""
    _marker(dest).unlink(missing_ok=True)


def _marker(dest: str) -> Path:
    return Path(ssh.control_path(dest) + ssh.FORWARD_SUFFIXES[1])


def _note_refused(dest: str, reason: str) -> None:
    from harnex_tmux.state import write_private

    write_private(_marker(dest), json.dumps({"reason": reason, "at": time.time()}))
    Path(ssh.forward_path(dest)).unlink(missing_ok=True)


def _refused(dest: str) -> str | None:
    """The reason noted when sshd refused to forward, while it is fresh."""
    try:
        data = json.loads(_marker(dest).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or time.time() - float(data.get("at", 0)) > REFUSED_RECHECK_S:
        return None
    return str(data.get("reason") or "forwarding refused")
