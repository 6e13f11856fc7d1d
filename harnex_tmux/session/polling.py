"""Waiting on sidecars written once, run two ways.

Waits (a session's state, its exit, a message's delivery or reply) are long-polls of the
sidecar's API in a loop. The loops are written as generators that *yield* what they need done
(:class:`Call` a sidecar, :class:`Pause`, run a local command to its end: :class:`Process`)
and get the answer back, so the same loop runs:

- blocking, in the CLI and the library (:func:`run_steps`), and
- on an event loop (:func:`run_steps_async`), in ``harnex mcp``, where hundreds of waits
  in flight then cost no thread each and never hold up ``status`` or ``stop``.

A transport failure is thrown into the generator as :class:`SidecarUnreachable`, the same
exception the blocking client raises, so the loops handle it in one place. A session on
another host is reached by one ``ssh`` command per operation: its loops yield
:class:`Process` steps, run by :mod:`subprocess` when blocking and by anyio's processes on the
event loop, so a remote wait holds no thread either.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

from harnex_tmux.errors import Cancelled, SidecarUnreachable
from harnex_tmux.session.client import ApiResponse, SidecarClient, parse_answer

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One request to a sidecar; ``timeout`` covers connecting and the whole answer."""

    client: SidecarClient
    method: str
    path: str
    payload: dict[str, Any] | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Process:
    """Run the local command ``argv`` to its end, ``stdin`` fed to it, for at most
    ``timeout`` seconds (then it is killed and the answer says ``timed_out``).

    ``detaches``: the command leaves a process behind that keeps its stderr open (``ssh
    -f``); its stdout is then discarded and its stderr goes through a file, since a pipe
    would stay open, and the read wait, for as long as that process lives."""

    argv: tuple[str, ...]
    stdin: bytes = b""
    timeout: float | None = None
    detaches: bool = False


@dataclass(frozen=True)
class ProcessResult:
    """What a :class:`Process` step gave: its exit status (below zero: killed by that
    signal), its output, and whether it was killed for running past its timeout."""

    code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


@dataclass(frozen=True)
class Exchange:
    """Connect to the Unix socket ``path``, send ``data``, read the answer to its
    end-of-file, all within ``timeout`` seconds: a request to a host's op server over the
    forwarded socket of its ssh master (hosts/channel.py). ``first_within``: the first
    byte of the answer must come within that many seconds too, else the exchange ends
    there, ``silent`` (a frozen master still lets a connection in, and never answers)."""

    path: str
    data: bytes
    timeout: float | None = None
    first_within: float | None = None


@dataclass(frozen=True)
class ExchangeResult:
    """What an :class:`Exchange` gave. ``connected`` False: nothing was sent (no socket,
    or no listener on it). ``data`` is what came back before end-of-file or the timeout;
    ``silent``: nothing at all came back within the exchange's ``first_within``."""

    connected: bool
    data: bytes = b""
    timed_out: bool = False
    silent: bool = False


Step = Call | Pause | Process | Exchange
Outcome = ApiResponse | ProcessResult | ExchangeResult | None
Steps = Generator[Step, Outcome, T]


def process_steps(
    argv: tuple[str, ...], stdin: bytes = b"", timeout: float | None = None, detaches: bool = False
) -> Steps[ProcessResult]:
    """One :class:`Process` step, its answer typed."""
    done = yield Process(argv, stdin, timeout, detaches)
    assert isinstance(done, ProcessResult)
    return done


# How long a cancelled loop may take to tidy up (withdraw a queued message) before it is cut:
# on another host that is an ssh command and a Python start there, seconds on a busy machine.
CLEANUP_S = 20.0


class Driver(Generic[T]):
    """What every driver of a :data:`Steps` loop does alike: hand the loop the answer to its
    last step (or throw in the failure), take its next step, keep its result when it ends."""

    def __init__(self, steps: Steps[T]) -> None:
        self.steps = steps
        self.outcome: Outcome = None
        self.failure: BaseException | None = None
        self.value: T | None = None

    def next(self) -> Step | None:
        """The loop's next step, or None once it returned (its result is then ``value``)."""
        outcome, failure = self.outcome, self.failure
        self.outcome, self.failure = None, None
        try:
            return self.steps.send(outcome) if failure is None else self.steps.throw(failure)
        except StopIteration as done:
            self.value = done.value
            return None

    def result(self) -> T:
        return self.value  # type: ignore[return-value]


def run_steps(steps: Steps[T]) -> T:
    """Drive ``steps`` with blocking calls.

    Interrupted (Ctrl-C; ``harnex send`` takes SIGTERM as one too), :class:`Cancelled` is
    thrown into the loop, which may tidy up as on an event loop (a send withdraws its
    message); then KeyboardInterrupt goes on, carrying the loop's last word on it (the
    Cancelled text, "msg-... withdrawn, never typed") when it had one."""
    driver = Driver(steps)
    try:
        while (step := driver.next()) is not None:
            _perform_blocking(driver, step)
    except KeyboardInterrupt:
        said = _tidy_up_blocking(steps)
        raise KeyboardInterrupt(*([said] if said else [])) from None
    return driver.result()


def _perform_blocking(driver: Driver[Any], step: Step) -> None:
    if isinstance(step, Pause):
        time.sleep(step.seconds)
        return
    if isinstance(step, Process):
        driver.outcome = _run_process(step)
        return
    if isinstance(step, Exchange):
        driver.outcome = _exchange(step)
        return
    try:
        driver.outcome = step.client.request(step.method, step.path, step.payload, step.timeout)
    except SidecarUnreachable as exc:
        driver.failure = exc


def _tidy_up_blocking(steps: Steps[Any]) -> str | None:
    """:func:`_tidy_up` for :func:`run_steps`; the text of the Cancelled the loop ended
    with, if it said more than that it was cancelled."""
    driver = Driver(steps)
    driver.failure = Cancelled("interrupted")
    while True:
        try:
            step = driver.next()
        except Cancelled as exc:
            return None if str(exc) == "interrupted" else str(exc)
        except Exception:
            return None
        if step is None:
            return None
        _perform_blocking(driver, step)


async def run_steps_async(steps: Steps[T]) -> T:
    """Drive ``steps`` on the running event loop (no thread held while waiting).

    When the caller's task is cancelled, :class:`Cancelled` is thrown into the loop, which may
    still make a few calls to tidy up (a send withdraws its queued message), shielded and
    bounded by :data:`CLEANUP_S`; then the cancellation goes on.
    """
    import anyio

    driver = Driver(steps)
    while (step := driver.next()) is not None:
        try:
            driver.outcome = await _perform(step)
        except SidecarUnreachable as exc:
            driver.failure = exc
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_S):
                await _tidy_up(steps)
            raise
    return driver.result()


async def _tidy_up(steps: Steps[Any]) -> None:
    """Let a cancelled loop finish what it does on Cancelled; its result is dropped."""
    driver = Driver(steps)
    driver.failure = Cancelled("cancelled")
    while True:
        try:
            step = driver.next()
        except Exception:
            return
        if step is None:
            return
        try:
            driver.outcome = await _perform(step)
        except SidecarUnreachable as exc:
            driver.failure = exc


def exchange_steps(
    path: str, data: bytes, timeout: float | None, first_within: float | None = None
) -> Steps[ExchangeResult]:
    """One :class:`Exchange` step, its answer typed."""
    done = yield Exchange(path, data, timeout, first_within)
    assert isinstance(done, ExchangeResult)
    return done


def _first_deadline(step: Exchange, start: float) -> float | None:
    """When the exchange ends if nothing has come back by then."""
    limits = [t for t in (step.timeout, step.first_within) if t is not None]
    return start + min(limits) if limits else None


def _exchange(step: Exchange) -> ExchangeResult:
    start = time.monotonic()
    whole = None if step.timeout is None else start + step.timeout
    deadline = _first_deadline(step, start)
    chunks: list[bytes] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.settimeout(step.timeout)
            sock.connect(step.path)
        except OSError:
            return ExchangeResult(False)
        try:
            sock.sendall(step.data)
            while True:
                if deadline is not None:
                    sock.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                deadline = whole
        except TimeoutError:
            silent = not chunks and step.first_within is not None
            return ExchangeResult(True, b"".join(chunks), timed_out=True, silent=silent)
        except OSError:
            pass  # reset: the other end went away; what came before is the answer
    return ExchangeResult(True, b"".join(chunks))


async def _exchange_async(step: Exchange) -> ExchangeResult:
    import math

    import anyio

    chunks: list[bytes] = []
    try:
        stream = await anyio.connect_unix(step.path)
    except OSError:
        return ExchangeResult(False)
    async with stream:
        with anyio.move_on_after(math.inf if step.timeout is None else step.timeout) as scope:
            try:
                await stream.send(step.data)
                first = math.inf if step.first_within is None else step.first_within
                with anyio.move_on_after(first) as silence:
                    chunks.append(await stream.receive(65536))
                if silence.cancelled_caught:
                    return ExchangeResult(True, b"", timed_out=True, silent=True)
                while True:
                    chunks.append(await stream.receive(65536))
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                pass
        late = scope.cancelled_caught
        silent = late and not chunks and step.first_within is not None
        return ExchangeResult(True, b"".join(chunks), timed_out=late, silent=silent)


def _run_process(step: Process) -> ProcessResult:
    if step.detaches:
        with tempfile.TemporaryFile() as errors:
            try:
                done = subprocess.run(
                    step.argv,
                    input=step.stdin,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    timeout=step.timeout,
                )
            except subprocess.TimeoutExpired:
                return ProcessResult(-9, b"", b"", timed_out=True)
            errors.seek(0)
            return ProcessResult(done.returncode, b"", errors.read())
    try:
        done = subprocess.run(
            step.argv, input=step.stdin, capture_output=True, timeout=step.timeout
        )
    except subprocess.TimeoutExpired as exc:
        return ProcessResult(-9, exc.stdout or b"", exc.stderr or b"", timed_out=True)
    return ProcessResult(done.returncode, done.stdout, done.stderr)


async def _run_process_async(step: Process) -> ProcessResult:
    """:class:`Process` on the event loop, holding no thread: its pipes are non-blocking and
    read and written as the loop finds them ready, and its exit is seen through a pidfd.
    (asyncio's own subprocesses start a thread per child to wait for its exit on Python
    3.11.) Cancelled or past its timeout, the command is killed and reaped before going on."""
    import math

    import anyio

    with contextlib.ExitStack() as stack:
        errors = stack.enter_context(tempfile.TemporaryFile()) if step.detaches else None
        process = subprocess.Popen(
            step.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL if errors is not None else subprocess.PIPE,
            stderr=errors if errors is not None else subprocess.PIPE,
        )
        stack.callback(_end, process)
        out: list[bytes] = []
        err: list[bytes] = []
        limit = math.inf if step.timeout is None else step.timeout
        with anyio.move_on_after(limit) as scope:
            async with anyio.create_task_group() as group:
                assert process.stdin is not None
                group.start_soon(_feed, process.stdin, step.stdin)
                if process.stdout is not None:
                    group.start_soon(_drain, process.stdout.fileno(), out)
                if process.stderr is not None:
                    group.start_soon(_drain, process.stderr.fileno(), err)
                await _exited(process)
        if scope.cancelled_caught:
            return ProcessResult(-9, b"".join(out), b"".join(err), timed_out=True)
        code = process.wait()
        if errors is not None:
            errors.seek(0)
            err = [errors.read()]
        return ProcessResult(code, b"".join(out), b"".join(err))


async def _exited(process: subprocess.Popen[bytes]) -> None:
    """Return once ``process`` has exited (not reaped yet): a pidfd turns readable then, on
    Linux; elsewhere its status is looked at every 20 ms."""
    import anyio

    if not hasattr(os, "pidfd_open"):
        while process.poll() is None:
            await anyio.sleep(0.02)
        return
    exited = os.pidfd_open(process.pid)
    try:
        await anyio.wait_readable(exited)
    finally:
        os.close(exited)


async def _feed(pipe: IO[bytes], data: bytes) -> None:
    """Write ``data`` to the command's stdin, then close it (its end-of-file)."""
    import anyio

    fd = pipe.fileno()
    os.set_blocking(fd, False)
    view = memoryview(data)
    try:
        while view:
            await anyio.wait_writable(fd)
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue
    except BrokenPipeError:
        pass  # it ended without reading all of it; its exit status says how
    finally:
        pipe.close()


async def _drain(fd: int, into: list[bytes]) -> None:
    import anyio

    os.set_blocking(fd, False)
    while True:
        await anyio.wait_readable(fd)
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            return
        into.append(chunk)


def _end(process: subprocess.Popen[bytes]) -> None:
    """Kill the command if it still runs (its caller was cancelled or timed out), reap it,
    close its pipes. Waiting for a killed process is a matter of microseconds."""
    if process.poll() is None:
        process.kill()
        process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


async def _perform(step: Step) -> Outcome:
    import anyio

    if isinstance(step, Pause):
        await anyio.sleep(step.seconds)
        return None
    if isinstance(step, Process):
        return await _run_process_async(step)
    if isinstance(step, Exchange):
        return await _exchange_async(step)
    client = step.client
    wait = client.timeout if step.timeout is None else step.timeout
    head, body = client.encode(step.method, step.path, step.payload)
    where = f"sidecar at {client.host}:{client.port}"
    try:
        with anyio.fail_after(wait):
            async with await anyio.connect_tcp(client.host, client.port) as stream:
                await stream.send(head + body)
                chunks: list[bytes] = []
                while True:
                    try:
                        chunks.append(await stream.receive(65536))
                    except anyio.EndOfStream:
                        break
    except TimeoutError as exc:
        raise SidecarUnreachable(f"{where} did not answer within {wait:g}s") from exc
    except (OSError, anyio.BrokenResourceError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise SidecarUnreachable(f"{where} is not answering ({reason})") from exc
    return parse_answer(b"".join(chunks), client.host, client.port)
