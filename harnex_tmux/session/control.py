"""Operations on a running session given its registry record: its live state, the waits,
the stop. The Session handle (``handle.py``) builds on these.

These only read state files and talk to the sidecar: nothing here touches tmux (except to
close an orphaned window), so commands like ``status`` and ``wait`` stay quick.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from harnex_tmux.errors import HarnexError, SidecarUnreachable, TimedOut, UsageError
from harnex_tmux.session.client import ApiResponse, SidecarClient
from harnex_tmux.session.polling import Call, Pause, Steps, run_steps
from harnex_tmux.session.results import SessionStatus
from harnex_tmux.state import ExitRecord, SessionPaths, SessionRecord, process_alive, read_json

SIDECAR_DOWN = "sidecar-down"
UNRESPONSIVE = "unresponsive"
_POLL_S = 0.1
# How long an ended session's sidecar gets to finish its part (see _sidecar_done).
SIDECAR_DONE_S = 5.0
# One long-poll of the sidecar lasts up to this long (the sidecar caps it at 30 s too).
LONG_POLL_S = 30.0


def poll_slice(remaining: float | None) -> float:
    """How long the next long-poll may wait."""
    return LONG_POLL_S if remaining is None else min(LONG_POLL_S, remaining)


def log_times(record: SessionRecord) -> tuple[str | None, int | None]:
    """(``log_mtime``, ``log_idle_s``) of the transcript: when the agent last printed
    anything, in 0.4.0's types (ISO-8601 text, whole seconds)."""
    from harnex_tmux.transcript import log_activity

    return log_activity(SessionPaths.for_session(record.repo_root, record.id).output_log)


def live_status(record: SessionRecord, timeout: float = 1.0) -> SessionStatus:
    """The registry record with its live state and when the agent last printed.

    A sidecar that is gone or hangs gives state ``sidecar-down`` or ``unresponsive`` instead
    of an error, so one broken session never stops ``status`` from listing the rest.
    """
    mtime, idle = log_times(record)
    try:
        live = SidecarClient.for_record(record, timeout).status()
    except (SidecarUnreachable, HarnexError):
        alive = process_alive(record.sidecar_pid)
        state = UNRESPONSIVE if alive else SIDECAR_DOWN
        return SessionStatus(record, state, mtime, idle, agent_alive=process_alive(record.pid))
    state = str(live.get("state", "unknown"))
    usage = live.get("usage")
    problem = live.get("state_dir_problem")  # new messages are refused
    budget = live.get("budget")
    return SessionStatus(
        record,
        state,
        mtime,
        idle,
        inbox=live.get("inbox", 0),
        usage=usage if isinstance(usage, dict) else None,
        state_dir_problem=problem if isinstance(problem, str) else None,
        budget=budget if isinstance(budget, dict) else None,
    )


def change_budget(
    record: SessionRecord, add: str | None = None, clear: bool = False
) -> dict[str, Any] | None:
    """The session's budget (None: it has none) after raising it by ``add`` (``2usd``,
    ``1M``) or clearing it; as it is when asked for neither. The sidecar keeps and enforces
    it, so the change is made there; a bad amount is a UsageError."""
    client = SidecarClient.for_record(record)
    if add is None and not clear:
        answer = client.request("GET", "/budget")
    else:
        payload: dict[str, Any] = {"clear": True} if clear else {"add": add}
        answer = client.request("POST", "/budget", payload)
    if answer.status == 400:
        raise UsageError(str(answer.body.get("error") or "bad budget"))
    body = client.expect(answer)
    budget = body.get("budget")
    return budget if isinstance(budget, dict) else None


def exit_of(record: SessionRecord) -> ExitRecord | None:
    return ExitRecord.load(SessionPaths.for_session(record.repo_root, record.id).exit_record)


def wait_exit_or_escalation(record: SessionRecord, check_s: float = 2.0) -> ExitRecord | str:
    """Block until the agent has ended (its exit record), or until the session escalated
    (why, as text; the agent keeps running): its watch gave up after its last nudge, or its
    budget is nearly spent. The sidecar notes an escalation in the registry record, looked
    at between waits of ``check_s``."""
    while True:
        try:
            return wait_exit(record, timeout=check_s)
        except TimedOut:
            data = read_json(SessionPaths.for_session(record.repo_root, record.id).registry)
            if data is not None and data.get("watch_escalated"):
                return "watch gave up after its last resume"
            if data is not None and isinstance(data.get("budget_escalated"), str):
                return str(data["budget_escalated"])


def wait_exit(record: SessionRecord, timeout: float | None = None) -> ExitRecord:
    """Block until the agent has ended; see :func:`exit_steps`."""
    return run_steps(exit_steps(record, timeout))


def exit_steps(record: SessionRecord, timeout: float | None = None) -> Steps[ExitRecord]:
    """Wait until the agent has ended; its pane wrapper writes the exit record itself, so this
    works even when the sidecar is gone."""
    deadline = None if timeout is None else time.monotonic() + timeout
    client = SidecarClient.for_record(record)
    sidecar_ok = True
    while True:
        ended = exit_of(record)
        if ended is not None:
            yield from _sidecar_done(record)
            return ended
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimedOut(f"session {record.id!r} still running after {timeout:g}s")
        slice_s = poll_slice(remaining)
        if sidecar_ok:
            try:
                yield Call(
                    client, "GET", f"/wait?until=exit&timeout={slice_s:.3f}", None, slice_s + 5
                )
                continue
            except SidecarUnreachable:
                sidecar_ok = False
        if not process_alive(record.pane_pid) and exit_of(record) is None:
            return record_orphan_exit(record)
        yield Pause(_POLL_S)


def _sidecar_done(record: SessionRecord) -> Steps[None]:
    """After the agent's exit, give its sidecar a moment to log it and drop the registry
    record, so that what follows an ended wait (a ``status``, a ``run`` of the same id) sees
    the session gone. Bounded: a stuck sidecar does not hold the caller."""
    registry = SessionPaths.for_session(record.repo_root, record.id).registry
    deadline = time.monotonic() + SIDECAR_DONE_S
    while time.monotonic() < deadline and process_alive(record.sidecar_pid):
        data = read_json(registry)
        if data is None or data.get("sidecar_pid") != record.sidecar_pid:
            return
        yield Pause(_POLL_S / 2)


def until_steps(record: SessionRecord, until: str, timeout: float | None = None) -> Steps[str]:
    """Wait until the session reaches state ``until`` (or ``exit``) and give the state.

    Raises TimedOut, or HarnexError when the session ended before reaching the state.
    """
    if until == "exit":
        yield from exit_steps(record, timeout)
        return "exited"
    answer = yield from _long_poll(
        record,
        lambda last: f"until={until}",
        timeout,
        f"did not reach {until!r}",
        f"exited before reaching {until!r}",
    )
    return str(answer["state"])


def turn_steps(
    record: SessionRecord, timeout: float | None = None, after: int | None = None
) -> Steps[dict[str, Any]]:
    """Wait until the agent finishes its next turn (with ``after``: the first turn past that
    count, so a wait that was cut short and called again misses none); the answer carries
    the reply."""

    def query(last: dict[str, Any] | None) -> str:
        # The first answer names the turn count it started from; later polls wait past it.
        seen = last.get("turn", 0) if last else after
        return "until=task_complete" + (f"&after={seen}" if seen is not None else "")

    return (
        yield from _long_poll(
            record, query, timeout, "finished no turn", "exited before finishing a turn"
        )
    )


def _long_poll(
    record: SessionRecord,
    query: Callable[[dict[str, Any] | None], str],
    timeout: float | None,
    timed_out: str,
    ended: str,
) -> Steps[dict[str, Any]]:
    """Repeat the sidecar's ``/wait`` long-poll until it answers ``reached``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    client = SidecarClient.for_record(record)
    last: dict[str, Any] | None = None
    while True:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimedOut(f"session {record.id!r} {timed_out} within {timeout:g}s")
        slice_s = poll_slice(remaining)
        path = f"/wait?{query(last)}&timeout={slice_s:.3f}"
        try:
            answer = yield Call(client, "GET", path, None, slice_s + 5)
        except SidecarUnreachable as exc:
            if exit_of(record) is not None:
                raise HarnexError(f"session {record.id!r} {ended}") from exc
            raise
        assert isinstance(answer, ApiResponse)
        last = client.expect(answer)
        if last.get("reached"):
            return last
        if last.get("state") == "exited":
            raise HarnexError(f"session {record.id!r} {ended}")


def stop_session(record: SessionRecord, timeout: float = 5.0) -> ExitRecord:
    """Ask the sidecar to run the stop sequence, then wait for the exit."""
    client = SidecarClient.for_record(record)
    try:
        client.expect(client.request("POST", "/stop", {}))
    except SidecarUnreachable:
        if process_alive(record.sidecar_pid):
            raise
        return _end_orphan(record, timeout)
    return wait_exit(record, timeout)


def _end_orphan(record: SessionRecord, timeout: float) -> ExitRecord:
    """Stop a session whose sidecar died, doing the sidecar's part from here: terminate the
    agent (its pane wrapper records the exit), close the window, log the exit."""
    import signal

    deadline = time.monotonic() + timeout
    if record.pid and process_alive(record.pid):
        os.kill(record.pid, signal.SIGTERM)
    while exit_of(record) is None and process_alive(record.pid):
        if time.monotonic() > deadline:
            raise TimedOut(f"session {record.id!r} still running after {timeout:g}s")
        time.sleep(_POLL_S)
    ended = record_orphan_exit(record)
    if record.window_id and record.tmux_socket:
        from harnex_tmux.tmux import Tmux

        Tmux(record.tmux_socket).kill_window(record.window_id)
    return ended


def record_orphan_exit(record: SessionRecord) -> ExitRecord:
    """Write what a dead sidecar would have written when its session ended: the exit record
    (inferred as a hangup when the wrapper could not write one), the ``exited`` event, and the
    registry record's removal."""
    from harnex_tmux.events import EventLog
    from harnex_tmux.state import utc_now

    paths = SessionPaths.for_session(record.repo_root, record.id)
    ended = exit_of(record)
    if ended is None:
        ended = ExitRecord(id=record.id, code=129, signal=1, ended_at=utc_now())
        ended.extra["reason"] = "pane closed"
    ended.locate(record)
    ended.extra["sidecar"] = "down"
    ended.save(paths.exit_record)
    EventLog(paths.events_log, record.id).emit("exited", **ended.event_payload())
    paths.registry.unlink(missing_ok=True)
    return ended
