"""Waiting on sidecars written once, run two ways.

Waits (a session's state, its exit, a message's delivery or reply) are long-polls of the
sidecar's API in a loop. The loops are written as generators that *yield* what they need done
(:class:`Call` a sidecar, :class:`Pause`) and get the answer back, so the same loop runs:

- blocking, in the CLI and the library (:func:`run_steps`), and
- on an event loop (:func:`run_steps_async`), in ``harnex mcp``, where hundreds of waits
  in flight then cost no thread each and never hold up ``status`` or ``stop``.

A transport failure is thrown into the generator as :class:`SidecarUnreachable`, the same
exception the blocking client raises, so the loops handle it in one place. A future client
for sidecars on another host only needs a third driver.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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


Step = Call | Pause
Steps = Generator[Step, ApiResponse | None, T]

# How long a cancelled loop may take to tidy up (withdraw a queued message) before it is cut.
CLEANUP_S = 5.0


class Driver(Generic[T]):
    """What every driver of a :data:`Steps` loop does alike: hand the loop the answer to its
    last step (or throw in the failure), take its next step, keep its result when it ends."""

    def __init__(self, steps: Steps[T]) -> None:
        self.steps = steps
        self.outcome: ApiResponse | None = None
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
    """Drive ``steps`` with blocking calls."""
    driver = Driver(steps)
    while (step := driver.next()) is not None:
        if isinstance(step, Pause):
            time.sleep(step.seconds)
            continue
        try:
            driver.outcome = step.client.request(step.method, step.path, step.payload, step.timeout)
        except SidecarUnreachable as exc:
            driver.failure = exc
    return driver.result()


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


async def _perform(step: Step) -> ApiResponse | None:
    import anyio

    if isinstance(step, Pause):
        await anyio.sleep(step.seconds)
        return None
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
