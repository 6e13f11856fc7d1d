"""One handle on a session seen from outside: find it, then ask its status, send to it, wait
for it, read its pane and events, stop or recover it.

``Session`` is the interface; ``LocalSession`` implements it for a session on this machine
(its registry record and sidecar). The CLI and the MCP server both go through it, and a
session on another host can implement the same methods. Every method answers with a typed
value from ``results.py`` (or ``SendResult``), whose ``to_dict`` is what the CLI prints.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Unpack

from harnex_tmux.errors import SessionNotFound
from harnex_tmux.pane_text import PaneSnapshot
from harnex_tmux.session.control import (
    exit_of,
    live_status,
    stop_session,
    turn_steps,
    until_steps,
)
from harnex_tmux.session.find import EndedSession, find_ended, find_session
from harnex_tmux.session.polling import Steps, run_steps
from harnex_tmux.session.results import (
    EXITED,
    TASK_COMPLETE,
    KeptWorktree,
    SessionStatus,
    StopResult,
    WaitResult,
)
from harnex_tmux.state import SessionRecord, list_sessions, repo_root_for
from harnex_tmux.waits import check_until

if TYPE_CHECKING:
    from harnex_tmux.launch import StartedSession
    from harnex_tmux.session.events import Event
    from harnex_tmux.session.send import SendOptions, SendResult


class Session(ABC):
    """A session, wherever it runs. Methods block as long as they say (the waits long-poll)
    and raise HarnexError subclasses with the CLI's one-line messages."""

    id: str

    @staticmethod
    def find(
        ident: str | None = None,
        repo: str | None = None,
        cli: str | None = None,
        any_repo: bool = False,
    ) -> Session:
        """The session the arguments name (see ``find_session``), live or ended: an ended
        one still answers ``wait`` for its exit, ``stop``, ``pane`` and ``events``."""
        return LocalSession.find(ident, repo, cli, any_repo)

    @abstractmethod
    def status(self) -> SessionStatus:
        """The registry record with the live state."""

    def send(
        self,
        text: str,
        progress: Callable[[str], None] | None = None,
        **options: Unpack[SendOptions],
    ) -> SendResult:
        """Queue ``text`` and follow it: typed (``wait``), back at the prompt
        (``wait_for_idle``) or answered (``reply``); see :meth:`send_steps`."""
        return run_steps(self.send_steps(text, progress, **options))

    @abstractmethod
    def send_steps(
        self,
        text: str,
        progress: Callable[[str], None] | None = None,
        **options: Unpack[SendOptions],
    ) -> Steps[SendResult]:
        """The send as steps (``polling.py``): run blocking by :meth:`send`, or on an event
        loop by the MCP server, where a cancelled send withdraws its queued message. With
        ``message_id``, a retry finds the first message instead of queueing a second. The
        options and their defaults are :class:`SendRequest`'s."""

    def wait(self, until: str = "exit", timeout: float | None = None) -> WaitResult:
        """Block until the session reaches ``until`` (see ``waits.py``); raises TimedOut,
        or HarnexError when the session ended first."""
        return run_steps(self.wait_steps(until, timeout))

    @abstractmethod
    def wait_steps(
        self, until: str = "exit", timeout: float | None = None, after_turn: int | None = None
    ) -> Steps[WaitResult]:
        """The wait as steps, for :meth:`wait` or an event loop; ``after_turn`` (task_complete
        only): the first turn past that count, as a continued wait names it."""

    @abstractmethod
    def pane(self, lines: int | None = None) -> PaneSnapshot:
        """What the session's pane shows now (its last ``lines`` lines)."""

    @abstractmethod
    def events(self, since: datetime | None = None) -> list[Event]:
        """The session's events so far, oldest first (those at or after ``since``)."""

    @abstractmethod
    def stop(self, timeout: float = 5.0) -> StopResult:
        """Run the stop sequence and close the window; a worktree and its branch stay."""

    @abstractmethod
    def recover(self, timeout: float = 5.0) -> Recovered:
        """Give a live session whose sidecar died a new sidecar."""


class Recovered(Protocol):
    """A recovered session, as ``recover`` prints it (``run --detach``'s object)."""

    def summary(self) -> dict[str, Any]: ...


class LocalSession(Session):
    """A session of this machine: a live registry ``record``, or only the exit record of one
    that has ``ended`` (then ``missing`` is the error for what needs it alive)."""

    def __init__(
        self,
        record: SessionRecord | None,
        ended: EndedSession | None = None,
        missing: SessionNotFound | None = None,
    ) -> None:
        self.record = record
        self.ended = ended
        self.missing = missing
        if record is not None:
            self.id = record.id
        elif ended is not None:
            self.id = ended.exit.id
        else:
            raise TypeError("a LocalSession needs a record or an exit record")

    @classmethod
    def find(
        cls,
        ident: str | None = None,
        repo: str | None = None,
        cli: str | None = None,
        any_repo: bool = False,
    ) -> LocalSession:
        try:
            return cls(find_session(ident, repo, cli, any_repo=any_repo))
        except SessionNotFound as missing:
            ended = find_ended(ident, repo, any_repo=any_repo)
            if ended is None:
                raise
            return cls(None, ended, missing)

    def live(self) -> SessionRecord:
        """The registry record; the lookup's own error when the session has ended."""
        if self.record is None:
            raise self.missing or SessionNotFound(f"session {self.id!r} has ended")
        return self.record

    def status(self) -> SessionStatus:
        record = self.live()
        status = live_status(record)
        if not record.worktree:
            return status
        from dataclasses import replace

        from harnex_tmux.worktree import describe

        return replace(status, worktree=describe(record.worktree))

    def send_steps(
        self,
        text: str,
        progress: Callable[[str], None] | None = None,
        **options: Unpack[SendOptions],
    ) -> Steps[SendResult]:
        from harnex_tmux.session.send import SendRequest, send_steps

        request = SendRequest(text, self.id, **options)
        return send_steps(request, progress, self.live())

    def wait_steps(
        self, until: str = "exit", timeout: float | None = None, after_turn: int | None = None
    ) -> Steps[WaitResult]:
        until = check_until(until)
        if self.record is None:
            if until != "exit" or self.ended is None:
                self.live()
            assert self.ended is not None
            # Waiting for the exit of a session that already ended answers at once.
            return WaitResult(self.id, EXITED, self.ended.exit.code)
        record = self.record
        if until == TASK_COMPLETE:
            turn = yield from turn_steps(record, timeout, after_turn)
            return WaitResult(
                record.id,
                TASK_COMPLETE,
                message_id=turn.get("message_id"),
                reply=turn.get("reply"),
                completed_at=turn.get("completed_at"),
            )
        state = yield from until_steps(record, until, timeout)
        if state != EXITED:
            return WaitResult(record.id, state)
        ended = exit_of(record)
        return WaitResult(record.id, EXITED, ended.code if ended else None)

    def pane(self, lines: int | None = None) -> PaneSnapshot:
        from harnex_tmux.session.pane import capture_direct, capture_live

        if self.record is not None:
            return capture_live(self.record, lines)
        assert self.ended is not None
        socket = self.ended.exit.extra.get("tmux_socket")
        pane = self.ended.exit.extra.get("pane_id")
        if not isinstance(socket, str) or not isinstance(pane, str):
            self.live()
        assert isinstance(socket, str) and isinstance(pane, str)
        return capture_direct(self.id, socket, pane, lines, EXITED)

    def events(self, since: datetime | None = None) -> list[Event]:
        from harnex_tmux.session.events import EventSource, read_events

        if self.record is not None:
            paths, live = self.record.paths, True
        else:
            assert self.ended is not None
            paths, live = self.ended.paths, False
        source = EventSource(self.id, paths.events_log, paths.registry, live)
        return list(read_events(source, since, follow=False))

    def stop(self, timeout: float = 5.0) -> StopResult:
        if self.record is None:
            assert self.ended is not None
            _close_leftover_pane(self.ended.exit.extra)
            ended = self.ended.exit
            return StopResult(ended.id, ended.code, ended.signal, already_exited=True)
        record = self.record
        exit_record = stop_session(record, timeout)
        kept = None
        if record.worktree:
            # Stopping never deletes work: say where it stays (harnex clean removes it later).
            kept = KeptWorktree(record.worktree.get("path"), record.worktree.get("branch"))
        return StopResult(record.id, exit_record.code, exit_record.signal, worktree=kept)

    def recover(self, timeout: float = 5.0) -> StartedSession:
        from harnex_tmux.launch import adopt_session

        return adopt_session(self.live(), timeout)


def statuses(
    ident: str | None = None,
    repo: str | None = None,
    cli: str | None = None,
    all_repos: bool = False,
) -> list[SessionStatus]:
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
    found: list[SessionStatus | None] = [None] * len(records)

    def fill(index: int) -> None:
        found[index] = LocalSession(records[index]).status()

    threads = [threading.Thread(target=fill, args=(i,)) for i in range(len(records))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [status for status in found if status is not None]


def _close_leftover_pane(info: dict[str, object]) -> None:
    """An exited agent's pane stays for inspection until stop: remove it now."""
    socket, window = info.get("tmux_socket"), info.get("window_id")
    if isinstance(socket, str) and isinstance(window, str):
        from harnex_tmux.tmux import Tmux

        Tmux(socket).kill_window(window)
