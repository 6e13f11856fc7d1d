"""Operations on a session named by id, returning the JSON objects the CLI prints.

``harnex status``, ``wait`` and ``stop`` and the MCP server's tools of the same names share
these, so both speak the same results and the same one-line errors.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from harnex_tmux.control import exit_of, live_status, stop_session, turn_steps, until_steps
from harnex_tmux.errors import SessionNotFound, UsageError
from harnex_tmux.lookup import find_ended, find_session
from harnex_tmux.polling import Steps, run_steps
from harnex_tmux.state import list_sessions, repo_root_for

WAIT_STATES = (
    "exit",
    "exited",
    "prompt",
    "busy",
    "workspace-trust-prompt",
    "confirmation",
    "task_complete",
)


@dataclass
class Outcome:
    """A command's JSON object and the exit code the CLI ends with (the agent's own code when
    the answer is that it exited)."""

    data: dict[str, Any]
    exit_code: int = 0


def session_statuses(
    ident: str | None = None,
    repo: str | None = None,
    cli: str | None = None,
    all_repos: bool = False,
) -> list[dict[str, Any]]:
    """The sessions with their live state, asked of all sidecars at once.

    A missing id is an empty list, not an error: scripts test liveness with
    ``harnex status --id X --json | jq length``, as with 0.4.0.
    """
    if ident is not None:
        try:
            records = [find_session(ident, repo, cli, any_repo=all_repos)]
        except SessionNotFound:
            records = []
    else:
        records = list_sessions(None if all_repos else repo_root_for(repo), cli)
    rows: list[dict[str, Any]] = [{} for _ in records]

    def fill(index: int) -> None:
        rows[index] = live_status(records[index])
        if records[index].worktree:
            from harnex_tmux.worktree import describe

            rows[index]["worktree"] = describe(records[index].worktree or {})

    threads = [threading.Thread(target=fill, args=(i,)) for i in range(len(records))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    from harnex_tmux.resume import with_resumable

    return with_resumable(rows, ident, repo, cli, all_repos)


def exit_status(code: int | None) -> int:
    """The agent's exit code as ours; 1 when it is unknown."""
    return code if code is not None and 0 <= code <= 255 else 1


def wait_for(
    ident: str | None,
    until: str = "exit",
    timeout: float | None = None,
    repo: str | None = None,
    cli: str | None = None,
) -> Outcome:
    """Block until the session reaches ``until``; see :func:`wait_steps`."""
    return run_steps(wait_steps(ident, until, timeout, repo, cli))


def wait_steps(
    ident: str | None,
    until: str = "exit",
    timeout: float | None = None,
    repo: str | None = None,
    cli: str | None = None,
) -> Steps[Outcome]:
    """Wait until the session reaches ``until``; raises TimedOut, or HarnexError when it
    ended first. Waiting for the exit of a session that already ended answers at once."""
    if until not in WAIT_STATES:
        raise UsageError(f"--until must be one of {', '.join(sorted(WAIT_STATES))}")
    until = "exit" if until == "exited" else until
    try:
        record = find_session(ident, repo, cli)
    except SessionNotFound:
        ended = find_ended(ident, repo)
        if ended is None or until != "exit":
            raise
        code = ended.exit.code
        data = {"ok": True, "id": ended.exit.id, "state": "exited", "code": code}
        return Outcome(data, exit_status(code))
    if until == "task_complete":
        turn = yield from turn_steps(record, timeout)
        return Outcome(
            {
                "ok": True,
                "id": record.id,
                "state": "task_complete",
                "message_id": turn.get("message_id"),
                "reply": turn.get("reply"),
                "completed_at": turn.get("completed_at"),
            }
        )
    state = yield from until_steps(record, until, timeout)
    result: dict[str, Any] = {"ok": True, "id": record.id, "state": state}
    if state != "exited":
        return Outcome(result)
    ended_record = exit_of(record)
    code = ended_record.code if ended_record else None
    result["code"] = code
    # As 0.4.0: `harnex wait --id X && next-step` must not go on when the agent failed.
    return Outcome(result, exit_status(code))


def stop(
    ident: str | None, timeout: float = 5.0, repo: str | None = None, cli: str | None = None
) -> dict[str, Any]:
    """Run the session's stop sequence and close its window; a session that already ended
    answers ``already_exited`` (its leftover pane is closed). A worktree and its branch stay."""
    try:
        record = find_session(ident, repo, cli)
    except SessionNotFound:
        ended = find_ended(ident, repo)
        if ended is None:
            raise
        _close_leftover_pane(ended.exit.extra)
        return {
            "ok": True,
            "id": ended.exit.id,
            "already_exited": True,
            "code": ended.exit.code,
            "signal": ended.exit.signal,
        }
    exit_record = stop_session(record, timeout)
    data = {"ok": True, "id": record.id, "code": exit_record.code, "signal": exit_record.signal}
    if record.worktree:
        # Stopping never deletes work: say where it stays (harnex clean removes it later).
        data["worktree"] = record.worktree.get("path")
        data["branch"] = record.worktree.get("branch")
    return data


def _close_leftover_pane(info: dict[str, object]) -> None:
    """An exited agent's pane stays for inspection until stop: remove it now."""
    socket, window = info.get("tmux_socket"), info.get("window_id")
    if isinstance(socket, str) and isinstance(window, str):
        from harnex_tmux.tmux import Tmux

        Tmux(socket).kill_window(window)
