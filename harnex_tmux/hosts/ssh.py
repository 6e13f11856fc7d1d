"""The one module that runs the system ``ssh`` client.

Using the user's own OpenSSH means their ``~/.ssh/config``, keys, agent, jump hosts and
known_hosts all work as they set them up; harnex adds only connection sharing and time
limits. ``HARNEX_SSH_CONFIG`` names another config file (``ssh -F``), which the tests use so
that the user's ``~/.ssh`` is never read or written.

One master connection per host is shared by every command (ControlMaster, kept 60 s after
the last use). A master socket left by a dead or hung master is found with ``ssh -O check``
under a time limit and replaced: a client that trusted ConnectTimeout alone would hang on it.
Text that must not show in ``ps`` (messages, tokens) goes over stdin, never the command line.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harnex_tmux.errors import HostConnectionLost, HostUnreachable
from harnex_tmux.session.polling import Pause, Steps, process_steps, run_steps
from harnex_tmux.state import ensure_dir, state_root
from harnex_tmux.tokens import sha256_hex

CONFIG_ENV = "HARNEX_SSH_CONFIG"
CONNECT_TIMEOUT_S = 5
# ssh's own exit status for its failures (the remote command's status otherwise).
SSH_FAILED = 255
# A Unix socket path longer than this does not fit in sockaddr_un (108 bytes with the NUL).
SOCKET_PATH_MAX = 100

# Commands at once over one host's master, across every harnex process of this user: sshd
# refuses an 11th session on one connection by default (MaxSessions 10), and a refused
# channel would look like a lost connection.
MAX_CHANNELS = 8
CHANNEL_WAIT_S = 60.0

OPTIONS = (
    "-o",
    "BatchMode=yes",
    "-o",
    f"ConnectTimeout={CONNECT_TIMEOUT_S}",
    "-o",
    "ServerAliveInterval=5",
    "-o",
    "ServerAliveCountMax=3",
)


@dataclass(frozen=True)
class SshResult:
    """What a remote command gave: its exit status (255: ssh itself failed), its output."""

    code: int
    stdout: bytes
    stderr: str

    @property
    def transport_failed(self) -> bool:
        # Below zero: our ssh client was killed by a signal, its connection with it.
        return self.code == SSH_FAILED or self.code < 0


def _base(dest: str) -> list[str]:
    command = ["ssh"]
    config = os.environ.get(CONFIG_ENV)
    if config:
        command += ["-F", config]
    return [*command, *OPTIONS, "-o", f"ControlPath={control_path(dest)}"]


def control_path(dest: str) -> str:
    """The master socket of ``dest``: under the state dir with a short name, or under a
    private folder in /tmp when the state dir's path is too long for a socket."""
    name = sha256_hex(dest.encode())[:12]
    folder = state_root() / "ssh"
    if len(str(folder / name)) > SOCKET_PATH_MAX:
        folder = Path(tempfile.gettempdir()) / f"harnex-ssh-{os.getuid()}"
    ensure_dir(folder)
    return str(folder / name)


# A long-lived process (the MCP server, the dashboard) looks at the master again after
# this long: one that froze since would otherwise hold every later command.
MASTER_RECHECK_S = 10.0
_masters_checked: dict[str, float] = {}
_masters_lock = threading.Lock()
# One lock per host: a host that takes its ConnectTimeout to fail must not hold up the
# others (``status`` asks them all at once).
_dest_locks: dict[str, threading.Lock] = {}


def _dest_lock(dest: str) -> threading.Lock:
    with _masters_lock:
        return _dest_locks.setdefault(dest, threading.Lock())


def ensure_master(dest: str) -> None:
    """Make sure a working master connection to ``dest`` exists (checked at most every
    MASTER_RECHECK_S; a check is one local socket round trip)."""
    run_steps(master_steps(dest))


def master_steps(dest: str) -> Steps[None]:
    """:func:`ensure_master` as steps, so that the MCP server's event loop runs it without
    a thread: a master that takes its ConnectTimeout to start holds up no other call."""
    if _recently_checked(dest):
        return
    lock = _dest_lock(dest)
    while not lock.acquire(blocking=False):
        yield Pause(0.02)
    try:
        if _recently_checked(dest):
            return
        # A socket file whose master does not answer in time is removed, so a new master
        # can take its place (a hung master would make every command wait forever). It is
        # not asked to exit: a master that did not answer the check would not answer that.
        path = Path(control_path(dest))
        alive = path.exists() and (yield from alive_steps(dest))
        if not alive:
            _leave_master(dest)
            yield from _start_master_steps(dest)
        with _masters_lock:
            _masters_checked[dest] = time.monotonic()
    finally:
        lock.release()


def _recently_checked(dest: str) -> bool:
    with _masters_lock:
        checked = _masters_checked.get(dest)
    return checked is not None and time.monotonic() - checked < MASTER_RECHECK_S


def forget_master(dest: str) -> None:
    """After a transport failure: look at the master again before the next command."""
    with _masters_lock:
        _masters_checked.pop(dest, None)


def drop_master(dest: str) -> None:
    """Start a new master at the next command without asking this one: it let a
    connection through its forwarded socket in and said nothing for the kept channel's
    ACCEPT_WAIT_S (frozen, as far as this side can tell; ``ssh -O check`` would wait 3 s
    more to say so). It is left as it is, as a master that fails the check is."""
    _leave_master(dest)
    forget_master(dest)


def _leave_master(dest: str) -> None:
    """Remove the master's socket so that a new master can take its place, and what the
    old master held with it: its forwarded socket (a new master makes its own) and what
    was learnt about forwarding through it."""
    path = control_path(dest)
    Path(path).unlink(missing_ok=True)
    for suffix in FORWARD_SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def alive_steps(dest: str) -> Steps[bool]:
    """Whether the master of ``dest`` answers ``ssh -O check`` (a local socket round
    trip, at most 3 s)."""
    done = yield from process_steps((*_base(dest), "-O", "check", dest), timeout=3)
    return done.code == 0 and not done.timed_out


# Files beside the master's socket that belong to the master they were made through: the
# kept channel's forwarded socket, and the note that the server refused to forward.
FORWARD_SUFFIXES = (".ops", ".noops")


def forward_path(dest: str) -> str:
    """The local end of the kept channel to ``dest``'s op server (hosts/channel.py)."""
    return control_path(dest) + FORWARD_SUFFIXES[0]


def forward_steps(dest: str, local: str, remote: str) -> Steps[str | None]:
    """Have the master of ``dest`` forward the Unix socket ``local`` here to ``remote``
    there (``ssh -O forward -L``; ssh makes ``local`` mode 0600: StreamLocalBindMask 0177).
    It lives as long as the master. None when it was made, else ssh's reason. The server's
    own refusal (AllowStreamLocalForwarding, DisableForwarding) shows only when a
    connection is made through it."""
    spec = f"{local}:{remote}"
    # The master may hold this forward already (its socket file removed since): ssh would
    # answer that it exists and make no file. Cancelled first, it is made anew.
    yield from process_steps((*_base(dest), "-O", "cancel", "-L", spec, dest), timeout=5)
    Path(local).unlink(missing_ok=True)
    done = yield from process_steps((*_base(dest), "-O", "forward", "-L", spec, dest), timeout=5)
    if done.code == 0 and not done.timed_out:
        return None
    lines = [line for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "ssh -O forward failed"


def _start_master_steps(dest: str) -> Steps[None]:
    """Start the shared connection in the background (``-f``): a Process that detaches,
    since the master keeps the stderr it was given open for as long as it lives."""
    argv = (
        *_base(dest),
        "-o",
        "ControlMaster=yes",
        "-o",
        "ControlPersist=60",
        "-f",
        "-N",
        dest,
    )
    done = yield from process_steps(argv, timeout=CONNECT_TIMEOUT_S * 3, detaches=True)
    if done.timed_out:
        raise HostUnreachable(f"ssh to {dest} did not connect in time")
    if done.code != 0:
        raise HostUnreachable(_first_line(done.stderr.decode(errors="replace"), dest))


@contextlib.contextmanager
def channel(dest: str) -> Iterator[None]:
    """Hold one of MAX_CHANNELS slots of ``dest`` while a command runs over its master
    (see :func:`slot_steps`)."""
    fd = run_steps(slot_steps(dest))
    try:
        yield
    finally:
        os.close(fd)


def slot_steps(dest: str) -> Steps[int]:
    """Take one of MAX_CHANNELS slots of ``dest``: the open file whose closing frees it.

    A slot is a lock (flock) on a small file beside the master's socket: shared by every
    process, and freed by the kernel when its holder dies, so a killed command never keeps
    one. A command waits for a free slot at most CHANNEL_WAIT_S."""
    base = control_path(dest)
    deadline = time.monotonic() + CHANNEL_WAIT_S
    while True:
        for slot in range(MAX_CHANNELS):
            fd = os.open(f"{base}.ch{slot}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        if time.monotonic() > deadline:
            raise HostUnreachable(
                f"{dest}: all {MAX_CHANNELS} ssh channels stayed in use for "
                f"{CHANNEL_WAIT_S:g}s (end some followers; sshd allows 10 by default)"
            )
        yield Pause(0.05)


def run(dest: str, script: str, stdin: bytes = b"", timeout: float | None = None) -> SshResult:
    """Run the shell ``script`` on ``dest`` through its master connection, ``stdin`` fed
    to it. Raises HostUnreachable when no connection can be made at all; a connection lost
    midway is an SshResult with code 255 (the caller decides whether to retry)."""
    return run_steps(run_command_steps(dest, script, stdin, timeout))


def run_command_steps(
    dest: str, script: str, stdin: bytes = b"", timeout: float | None = None
) -> Steps[SshResult]:
    """:func:`run` as steps: blocking in the CLI, on the event loop in the MCP server.
    Past ``timeout`` the ssh client is killed and HostConnectionLost raised."""
    yield from master_steps(dest)
    argv = (*_base(dest), "-o", "ControlMaster=no", "-T", dest, script)
    fd = yield from slot_steps(dest)
    try:
        done = yield from process_steps(argv, stdin, timeout)
    finally:
        os.close(fd)
    if done.timed_out:
        forget_master(dest)
        raise HostConnectionLost(f"{dest} did not answer within {timeout:g}s")
    result = SshResult(done.code, done.stdout, done.stderr.decode(errors="replace"))
    if result.transport_failed:
        forget_master(dest)
    return result


def run_attached(dest: str, script: str) -> int:
    """Run ``script`` on ``dest`` with our own stdin/stdout/stderr (a foreground run)."""
    ensure_master(dest)
    with channel(dest):
        return subprocess.call([*_base(dest), "-o", "ControlMaster=no", "-T", dest, script])


def stream(dest: str, script: str, write: Callable[[bytes], None]) -> int:
    """Run ``script`` on ``dest``, handing its output to ``write`` as it comes (its stderr
    is ours); the remote command's exit status, or 255 when ssh failed.

    The remote command's stdin is a pipe whose only writer is this process, never written:
    it reads end-of-file exactly when this process, or its ssh, goes away (Ctrl-C, SIGTERM,
    even SIGKILL), which is how a remote follower knows to stop. ssh alone would not tell
    it: without a terminal, a remote command learns of a closed channel only when it next
    writes, and a follower may have nothing to write for hours."""
    ensure_master(dest)
    command = [*_base(dest), "-o", "ControlMaster=no", "-T", dest, script]
    with channel(dest):
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert process.stdout is not None and process.stdin is not None
        try:
            while chunk := os.read(process.stdout.fileno(), 65536):
                write(chunk)
            code = process.wait()
        finally:
            if process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(5)
            process.stdin.close()
            process.stdout.close()
    if code == SSH_FAILED or code < 0:
        forget_master(dest)
    return SSH_FAILED if code < 0 else code


def terminal_argv(dest: str, script: str) -> list[str]:
    """The ssh command that runs ``script`` on ``dest`` on a terminal (``-t``) over the
    shared master: for the caller to exec, or for a tmux window to run (``attach``). It
    holds no channel slot: it lives as long as the person looks, not as a command."""
    ensure_master(dest)
    return [*_base(dest), "-o", "ControlMaster=no", "-t", dest, script]


def close_master(dest: str) -> None:
    """End the shared connection to ``dest`` (``hosts remove``)."""
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        subprocess.run(
            [*_base(dest), "-O", "exit", dest],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=3,
        )
    forget_master(dest)


def _first_line(text: str, dest: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"ssh to {dest} failed: {lines[-1] if lines else 'no reason given'}"


def failure_text(result: SshResult, dest: str) -> str:
    """ssh's own last error line, for the one-line message."""
    return _first_line(result.stderr, dest)
