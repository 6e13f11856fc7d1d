"""The op server on a host (``harnex hosts serve``): ``harnex <command>`` without a new
Python each time.

Every operation on a remote session used to start ``harnex ... --json`` on the host, and
that start (interpreter, imports: 90-100 ms) was most of what a remote op cost. This server
is started once on the host, imports the CLI once, and listens on a Unix socket in the
remote user's state dir (folder 0700, socket 0600; no network port). The other machine
reaches it through its existing ssh master with a forwarded Unix socket (hosts/channel.py).

Each request runs the very command the per-call path runs, in a child forked after the
imports: the child has its own stdin, stdout and stderr pipes and its own exit code, so the
answer is byte for byte what ``harnex ARGS`` over ssh gives, and two requests at once share
nothing. The parent is one thread over ``selectors`` (forking a threaded process is
unsafe), never blocks on a client, and answers anything it cannot take with one ``error``
line. It ends after IDLE_EXIT_S without a request, when the installed build changes (the
next op starts the new one), or when another server took its socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.errors import BadOpRequest
from harnex_tmux.hosts import wire
from harnex_tmux.hosts.stray_sends import carries
from harnex_tmux.state import ensure_dir, state_root

# Like ssh's ControlPersist, but longer: starting the server costs one remote harnex start.
IDLE_EXIT_S = 600.0
# A client that has not sent its whole request by then is dropped (it holds no child).
REQUEST_DEADLINE_S = 30.0
# After a child exits, how long its output pipes may stay open (held by something it
# started) before the answer goes with what was read.
DRAIN_AFTER_EXIT_S = 2.0
SOCKET_PATH_MAX = 100
COMMANDS = wire.COMMANDS

Callback = Callable[[int], None]


@dataclass(frozen=True)
class Program:
    """The program this server runs for each request: harnex's command line, handed in by
    ``harnex hosts serve`` (the CLI's floor) so that this module does not import upward.
    ``main`` runs ``harnex ARGS`` and ends with SystemExit as the program would; ``modules``
    names each served command's module, imported once before any fork."""

    main: Callable[[list[str]], object]
    modules: Mapping[str, str]


def ops_dir() -> Path:
    """The server's folder: in the state dir, or a private one in /tmp when that path is
    too long for a Unix socket."""
    folder = state_root() / "ops"
    if len(str(folder / "ops.sock")) > SOCKET_PATH_MAX:
        folder = Path(tempfile.gettempdir()) / f"harnex-ops-{os.getuid()}"
    ensure_dir(folder)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(f"{folder} is not a private folder of this user")
    return folder


def socket_path() -> Path:
    return ops_dir() / "ops.sock"


def build_file() -> Path:
    """The file the installer writes with the build it installed (installer.DATA_DIR)."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "harnex" / "venv" / "harnex-build"


def installed_build() -> str:
    try:
        return build_file().read_text().strip()
    except OSError:
        return ""


def _version() -> str:
    from harnex_tmux import __version__

    return __version__


@dataclass
class Job:
    """One running ``harnex ARGS``: its pid and the parent's ends of its pipes."""

    pid: int
    stdin: bytes
    args: list[str] = field(default_factory=list)
    pipes: dict[int, bytearray] = field(default_factory=dict)  # stdout, stderr fds
    stdin_fd: int | None = None
    pidfd: int | None = None
    code: int | None = None
    exited_at: float | None = None
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)


@dataclass
class Conn:
    """One client connection: its request as it comes in, then its job, then its answer."""

    sock: socket.socket
    deadline: float
    inbuf: bytearray = field(default_factory=bytearray)
    outbuf: bytearray = field(default_factory=bytearray)
    job: Job | None = None
    reading: bool = True
    closing: bool = False


class Server:
    def __init__(self, listener: socket.socket, path: Path, program: Program) -> None:
        self.listener = listener
        self.program = program
        self.path = path
        info = path.stat()
        self.identity = (info.st_dev, info.st_ino)
        self.build = installed_build()
        self.version = _version()
        self.selector = selectors.DefaultSelector()
        self.conns: dict[int, Conn] = {}
        self.jobs: list[Job] = []
        self.served = 0
        self.last_active = time.monotonic()
        self.stopping = False
        self.selector.register(listener, selectors.EVENT_READ, self._accept)

    # The loop --------------------------------------------------------------------------

    def run(self) -> None:
        next_check = time.monotonic() + 5
        while True:
            for key, mask in self.selector.select(self._tick()):
                callback: Callback = key.data
                callback(mask)
            self._reap()
            now = time.monotonic()
            for conn in list(self.conns.values()):
                if conn.reading and conn.job is None and now > conn.deadline:
                    self._refuse(conn, "the request did not arrive in time")
            busy = self.conns or self.jobs
            if busy:
                self.last_active = now
            elif self.stopping or now - self.last_active > IDLE_EXIT_S:
                return
            if now > next_check:
                next_check = now + 5
                if not self._still_ours():
                    self._stop_listening()

    def _tick(self) -> float:
        # Children without a pidfd (not Linux) are looked at this often.
        return 0.05 if any(j.pidfd is None and j.code is None for j in self.jobs) else 1.0

    def _still_ours(self) -> bool:
        try:
            info = self.path.stat()
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self.identity

    def _stop_listening(self) -> None:
        """Take no new request; end once the running ones are answered."""
        if self.stopping:
            return
        self.stopping = True
        if self._still_ours():
            self.path.unlink(missing_ok=True)
        self.selector.unregister(self.listener)
        self.listener.close()

    # Connections ----------------------------------------------------------------------

    def _accept(self, _mask: int) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        sock.setblocking(False)
        conn = Conn(sock, time.monotonic() + REQUEST_DEADLINE_S)
        self.conns[sock.fileno()] = conn
        self.selector.register(sock, selectors.EVENT_READ, lambda mask: self._on_conn(conn, mask))

    def _on_conn(self, conn: Conn, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush(conn)
        if mask & selectors.EVENT_READ and conn.sock.fileno() >= 0:
            self._read(conn)

    def _read(self, conn: Conn) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            # The client left: a job it started is ended (nobody waits for its answer), at
            # once and with nothing tidied: what its request leaves on the host is the
            # client's to settle (a cancelled send withdraws its message by id next), as
            # with an ssh command whose client went away.
            if conn.job is not None and conn.job.code is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(conn.job.pid, signal.SIGKILL)
                conn.job = None
            self._close(conn)
            return
        if not conn.reading:
            return  # bytes after a whole request: nothing reads them
        conn.inbuf += chunk
        self._parse(conn)

    def _parse(self, conn: Conn) -> None:
        end = conn.inbuf.find(b"\n")
        if end < 0:
            if len(conn.inbuf) > wire.MAX_LINE:
                self._refuse(conn, f"request line longer than {wire.MAX_LINE} bytes")
            return
        try:
            op, args, size = wire.parse_head(bytes(conn.inbuf[:end]))
        except BadOpRequest as exc:
            self._refuse(conn, str(exc))
            return
        body = conn.inbuf[end + 1 :]
        if len(body) < size:
            return
        if len(body) > size:
            self._refuse(conn, "more bytes than the request announced")
            return
        conn.reading = False
        if op == "ping":
            self._answer(conn, self.describe() | {"pong": True})
            return
        self._start(conn, args, bytes(body))

    def describe(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "served": self.served,
            "build": self.build,
            "version": self.version,
            "socket": str(self.path),
        }

    def _refuse(self, conn: Conn, reason: str, **more: Any) -> None:
        print(f"harnex hosts serve: refused a request: {reason}", file=sys.stderr, flush=True)
        conn.reading = False
        self._answer(conn, {"error": reason, **more})

    def _answer(self, conn: Conn, head: dict[str, Any], tail: bytes = b"") -> None:
        conn.outbuf += wire.line(head) + tail
        conn.closing = True
        self._flush(conn)

    def _flush(self, conn: Conn) -> None:
        if conn.sock.fileno() < 0:
            return
        try:
            while conn.outbuf:
                sent = conn.sock.send(conn.outbuf)
                del conn.outbuf[:sent]
        except BlockingIOError:
            self.selector.modify(
                conn.sock,
                selectors.EVENT_READ | selectors.EVENT_WRITE,
                lambda mask: self._on_conn(conn, mask),
            )
            return
        except OSError:
            conn.outbuf.clear()
            conn.closing = True
        if conn.closing:
            self._close(conn)
        elif conn.sock.fileno() >= 0:
            self.selector.modify(
                conn.sock, selectors.EVENT_READ, lambda mask: self._on_conn(conn, mask)
            )

    def _close(self, conn: Conn) -> None:
        if conn.sock.fileno() < 0:
            return
        self.conns.pop(conn.sock.fileno(), None)
        self.selector.unregister(conn.sock)
        conn.sock.close()

    # Jobs -----------------------------------------------------------------------------

    def _start(self, conn: Conn, args: list[str], stdin: bytes) -> None:
        if installed_build() != self.build:
            # Another harnex was installed: this process runs the old code. Nothing ran;
            # the client takes its other path, and the next op starts the new server.
            self._refuse(conn, "harnex was upgraded on this host", restart=True)
            self._stop_listening()
            return
        if not args or args[0] not in COMMANDS:
            self._refuse(conn, f"not an op this server runs: {args[:1]}")
            return
        if self._client_left(conn):
            self._close(conn)
            return
        if args[0] == "send" and "--withdraw" in args:
            # A forked send keeps this server's command line, so the withdrawal's own search
            # of the process list (hosts/stray_sends.py) cannot see it: end it here first,
            # so nothing can queue the message once it is withdrawn.
            self._end_sends_of(args[args.index("--withdraw") + 1 :][:1])
        conn.outbuf += wire.line({"accepted": True})
        conn.job = self._fork(args, stdin)
        self.jobs.append(conn.job)
        self.served += 1
        self._flush(conn)

    def _end_sends_of(self, message_id: list[str]) -> None:
        """SIGKILL (and reap) the running sends that carry ``message_id``: a killed send
        leaves the sidecar nothing half done, the message queued by one request or not."""
        for job in list(self.jobs):
            if job.code is None and message_id and carries(job.args, message_id[0]):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(job.pid, signal.SIGKILL)
                self._exited(job)

    def _client_left(self, conn: Conn) -> bool:
        """Whether the client closed its end already: its request is then not run."""
        try:
            return conn.sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _fork(self, args: list[str], stdin: bytes) -> Job:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._become_child()
            for fd, target in ((in_r, 0), (out_w, 1), (err_w, 2)):
                os.dup2(fd, target)
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            os._exit(_run_command(self.program, args))
        for fd in (in_r, out_w, err_w):
            os.close(fd)
        job = Job(pid, stdin, args)
        job.pidfd = _pidfd(pid)
        if job.pidfd is not None:
            self.selector.register(job.pidfd, selectors.EVENT_READ, lambda _m: self._exited(job))
        for fd, into in ((out_r, job.out), (err_r, job.err)):
            os.set_blocking(fd, False)
            job.pipes[fd] = into
            self.selector.register(fd, selectors.EVENT_READ, self._reader(job, fd))
        os.set_blocking(in_w, False)
        job.stdin_fd = in_w
        if stdin:
            self.selector.register(in_w, selectors.EVENT_WRITE, lambda _m: self._feed(job))
        else:
            self._close_stdin(job)
        return job

    def _become_child(self) -> None:
        """In a new child: let go of every file of the server (its socket, its clients,
        the other children's pipes) and of its signal handling."""
        self.selector.close()
        if self.listener.fileno() >= 0:
            self.listener.close()
        for conn in self.conns.values():
            conn.sock.close()
        for job in self.jobs:
            for fd in [*job.pipes, job.stdin_fd, job.pidfd]:
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)

    def _reader(self, job: Job, fd: int) -> Callback:
        def read(_mask: int) -> None:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if chunk:
                job.pipes[fd] += chunk
                return
            self._close_pipe(job, fd)

        return read

    def _close_pipe(self, job: Job, fd: int) -> None:
        self.selector.unregister(fd)
        os.close(fd)
        del job.pipes[fd]

    def _feed(self, job: Job) -> None:
        assert job.stdin_fd is not None
        try:
            sent = os.write(job.stdin_fd, job.stdin[:65536])
        except BlockingIOError:
            return
        except OSError:
            sent = len(job.stdin)  # it stopped reading; its exit says how it went
        job.stdin = job.stdin[sent:]
        if not job.stdin:
            self.selector.unregister(job.stdin_fd)
            self._close_stdin(job)

    def _close_stdin(self, job: Job) -> None:
        if job.stdin_fd is not None:
            os.close(job.stdin_fd)
            job.stdin_fd = None

    def _exited(self, job: Job) -> None:
        if job.pidfd is not None:
            self.selector.unregister(job.pidfd)
            os.close(job.pidfd)
            job.pidfd = None
        self._wait(job, 0)

    def _wait(self, job: Job, flags: int) -> None:
        try:
            pid, status = os.waitpid(job.pid, flags)
        except ChildProcessError:
            pid, status = job.pid, 255 << 8
        if pid:
            job.code = os.waitstatus_to_exitcode(status)
            job.exited_at = time.monotonic()

    def _reap(self) -> None:
        now = time.monotonic()
        for job in list(self.jobs):
            if job.code is None and job.pidfd is None:
                self._wait(job, os.WNOHANG)
            if job.code is None or job.exited_at is None:
                continue
            if job.pipes and now - job.exited_at < DRAIN_AFTER_EXIT_S:
                continue
            for fd in list(job.pipes):
                self._close_pipe(job, fd)
            if job.stdin_fd is not None:
                self.selector.unregister(job.stdin_fd)
                self._close_stdin(job)
            self.jobs.remove(job)
            self._finish(job)

    def _finish(self, job: Job) -> None:
        conn = next((c for c in self.conns.values() if c.job is job), None)
        if conn is None:
            return
        code = job.code if job.code is not None else 255
        head = {
            "done": True,
            # A child killed by a signal: as ssh reports a remote command that was.
            "code": code if code >= 0 else 128 - code,
            "stdout": len(job.out),
            "stderr": len(job.err),
            "build": self.build,
            "version": self.version,
        }
        self._answer(conn, head, bytes(job.out) + bytes(job.err))


def _pidfd(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:
        return None
    return fd


def _run_command(program: Program, args: list[str]) -> int:
    """``harnex ARGS`` in this (forked) process, as the ``harnex`` program would run it;
    its exit code."""
    code = 1
    try:
        program.main(args)
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


def _preload(program: Program) -> None:
    """Import what the served commands import, once, so that each forked child starts warm.

    Most of it is imported only when a command runs, so a child runs each command once on
    a session that does not exist and says which modules it loaded; this process imports
    the same. (A module still missing is imported by the child that needs it: slower,
    never wrong.)"""
    import importlib

    for name in COMMANDS:
        importlib.import_module(program.modules[name])
    absent = "harnex-ops-warm-up"
    for args in (
        ["status", "--all", "--json"],
        ["pane", "--id", absent, "--json"],
        ["events", "--id", absent, "--snapshot"],
        ["wait", "--id", absent, "--until", "prompt", "--timeout", "0"],
    ):
        for name in _modules_loaded_by(program, args):
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    # What is here now stays as it is: a child's garbage collector then never walks (and
    # so never copies, page by page) the objects it shares with this process.
    gc.collect()
    gc.freeze()


def _modules_loaded_by(program: Program, args: list[str]) -> list[str]:
    """The modules a forked child has once it ran ``harnex ARGS`` (output discarded)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        null = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(null, target)
        _run_command(program, args)
        os.write(write, "\n".join(sorted(sys.modules)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        names = pipe.read().decode().split()
    os.waitpid(pid, 0)
    return [name for name in names if name not in sys.modules]


# Starting and finding the server -----------------------------------------------------------


def ping(path: Path, timeout: float = 3.0) -> dict[str, Any] | None:
    """The running server's own description, or None when none answers on ``path``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(wire.Request("ping").encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return None
    reply = wire.parse_reply(data)
    return reply.head if reply.complete else None


def ensure_running(program: Program) -> dict[str, Any]:
    """The running server's description; starts one, detached, when none answers. Two
    callers at once start one server (a lock beside the socket)."""
    path = socket_path()
    lock = os.open(path.with_name("ops.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = ping(path)
        if found is not None and found.get("build") == installed_build():
            return found | {"started": False}
        path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(str(path))
        finally:
            os.umask(old)
        listener.listen(64)
        pid = _detach(listener, path, lock, program)
        listener.close()
        return {
            "pid": pid,
            "socket": str(path),
            "build": installed_build(),
            "version": _version(),
            "served": 0,
            "started": True,
        }
    finally:
        os.close(lock)


def _detach(listener: socket.socket, path: Path, lock: int, program: Program) -> int:
    """Fork the server off: its own session, stdin and stdout /dev/null, stderr its log,
    so that the ssh command that started it ends at once. Returns its pid. The server
    lets go of the starters' ``lock`` (it would hold it for its whole life)."""
    read_pid, write_pid = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    first = os.fork()
    if first != 0:
        os.close(write_pid)
        with os.fdopen(read_pid, "rb") as pipe:
            pid = int(pipe.read() or b"0")
        os.waitpid(first, 0)
        return pid
    # The first child: a new session, then the server as its child, so it is no session
    # leader (it can never take a terminal) and is reparented away from the ssh command.
    os.close(read_pid)
    os.close(lock)
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    os.write(write_pid, str(os.getpid()).encode())
    os.close(write_pid)
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(path.with_name("ops.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((null, 0), (null, 1), (log, 2)):
        os.dup2(fd, target)
    os.close(null)
    os.close(log)
    code = 0
    try:
        os.chdir(Path.home())
        _preload(program)
        Server(listener, path, program).run()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
    os._exit(code)


def start_main(program: Program) -> None:
    """``harnex hosts serve``: make sure the server runs, print its description (JSON)."""
    print(json.dumps(ensure_running(program)), flush=True)
