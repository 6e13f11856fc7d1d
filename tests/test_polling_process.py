"""The :class:`Process` step (run a local command to its end) under both drivers of
:mod:`harnex_tmux.session.polling`: how a session on another host is reached (one ``ssh``
command per operation), here with plain local commands so that no ssh is needed."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import wait_for

from harnex_tmux.errors import Cancelled
from harnex_tmux.session.polling import (
    Pause,
    ProcessResult,
    Steps,
    exchange_steps,
    process_steps,
    run_steps,
    run_steps_async,
)

Drive = Callable[[Steps[Any]], Any]


def _blocking(steps: Steps[Any]) -> Any:
    return run_steps(steps)


def _async(steps: Steps[Any]) -> Any:
    async def main() -> Any:
        return await run_steps_async(steps)

    return anyio.run(main)


DRIVERS = pytest.mark.parametrize("drive", [_blocking, _async], ids=["blocking", "async"])


def _reaped(pid: int) -> bool:
    """Whether ``pid`` is gone and reaped: stricter than ``procs.gone`` (for which a zombie
    counts), since the drivers must reap what they kill."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _pid_in(path: Path) -> int:
    return int(wait_for(lambda: path.exists() and path.read_text().strip()))


@DRIVERS
def test_a_command_gets_its_stdin_and_gives_its_output_and_status(drive: Drive) -> None:
    script = "cat; printf 'on stderr' >&2; exit 3"
    done = drive(process_steps(("sh", "-c", script), "ünïcode\nand more".encode()))
    assert done == ProcessResult(3, "ünïcode\nand more".encode(), b"on stderr")


@DRIVERS
def test_a_megabyte_through_stdin_and_back_is_exact(drive: Drive) -> None:
    """Writing and reading at once: a command that answers while it still reads would
    deadlock a driver that wrote everything first."""
    data = bytes(range(256)) * 4096
    done = drive(process_steps(("cat",), data))
    assert done.code == 0 and done.stdout == data


@DRIVERS
def test_a_command_past_its_timeout_is_killed_and_says_so(drive: Drive, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    done = drive(process_steps(("sh", "-c", f"echo $$ > {pidfile}; exec sleep 300"), timeout=0.5))
    assert done.timed_out
    assert time.monotonic() - started < 120  # not the command's own 300 s
    pid = _pid_in(pidfile)
    wait_for(lambda: _reaped(pid), timeout=30)


@DRIVERS
def test_a_command_that_leaves_a_process_behind_is_not_waited_for(
    drive: Drive, tmp_path: Path
) -> None:
    """``detaches``: a daemon that keeps the command's stderr open (as ``ssh -f`` does)
    must not keep the driver reading until it exits; the command's stderr still comes back."""
    pidfile = tmp_path / "pid"
    script = f"printf 'why it failed' >&2; sleep 300 & echo $! > {pidfile}; exit 2"
    try:
        done = drive(process_steps(("sh", "-c", script), timeout=60, detaches=True))
        assert done == ProcessResult(2, b"", b"why it failed")
    finally:
        os.kill(_pid_in(pidfile), 9)


def test_async_commands_in_flight_hold_no_thread(tmp_path: Path) -> None:
    """Twenty commands at once on the event loop: no thread is started to wait on them."""
    counts: list[int] = []

    async def main() -> list[ProcessResult]:
        results: list[ProcessResult] = []

        async def one(n: int) -> None:
            results.append(await run_steps_async(process_steps(("sh", "-c", f"sleep 1; echo {n}"))))

        before = threading.active_count()
        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(one, n)
            await anyio.sleep(0.5)
            counts.append(threading.active_count() - before)
        return results

    results = anyio.run(main)
    assert sorted(int(r.stdout) for r in results) == list(range(20))
    assert counts == [0]


def test_a_cancelled_async_command_is_killed_and_the_loop_tidies_up(tmp_path: Path) -> None:
    """Cancelling the caller kills the running command, then throws Cancelled into the loop,
    which may still run commands of its own to tidy up (a send would withdraw its message)."""
    pidfile = tmp_path / "pid"
    tidied = tmp_path / "tidied"

    def steps() -> Steps[str]:
        try:
            yield from process_steps(("sh", "-c", f"echo $$ > {pidfile}; exec sleep 300"))
        except Cancelled:
            yield Pause(0)
            yield from process_steps(("sh", "-c", f"printf yes > {tidied}"))
            raise
        return "not cancelled"

    async def main() -> None:
        with anyio.move_on_after(60) as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(run_steps_async, steps())
                await anyio.to_thread.run_sync(_pid_in, pidfile)
                group.cancel_scope.cancel()
        assert not scope.cancelled_caught

    anyio.run(main)
    assert _reaped(_pid_in(pidfile))
    assert tidied.read_text() == "yes"


def _listener(tmp_path: Path, answer: Callable[[Any], None]) -> str:
    """A Unix socket whose one connection is handed to ``answer`` in a thread."""
    import socket

    path = str(tmp_path / "op.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn, server:
            answer(conn)

    threading.Thread(target=serve, daemon=True).start()
    return path


@DRIVERS
def test_an_exchange_with_no_first_byte_in_time_ends_silent(drive: Drive, tmp_path: Path) -> None:
    """A frozen ssh master lets a connection in and never answers: the exchange ends after
    ``first_within``, not after its whole timeout, and says nothing came."""
    release = threading.Event()

    def never(conn: Any) -> None:
        conn.recv(100)
        release.wait(30)

    path = _listener(tmp_path, never)
    try:
        done = drive(exchange_steps(path, b"request\n", 60.0, 0.2))
    finally:
        release.set()
    assert (done.connected, done.data, done.timed_out, done.silent) == (True, b"", True, True)


@DRIVERS
def test_first_within_bounds_only_the_first_byte(drive: Drive, tmp_path: Path) -> None:
    """Once a byte came, the rest may take longer than ``first_within``: an op that was
    accepted runs to its own timeout."""

    def slow_rest(conn: Any) -> None:
        conn.recv(100)
        conn.sendall(b'{"accepted": true}\n')
        time.sleep(0.6)
        conn.sendall(b"rest")

    path = _listener(tmp_path, slow_rest)
    done = drive(exchange_steps(path, b"request\n", 30.0, 0.2))
    assert (done.data, done.timed_out, done.silent) == (b'{"accepted": true}\nrest', False, False)
