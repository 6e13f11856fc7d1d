"""The agent's own reports (its hooks, or its event stream) turned into the session's state
and turns. Each adapter reads its CLI's payloads (:meth:`Adapter.read_hook`); this is what
the sidecar does with what they mean."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harnex_tmux.adapters import Adapter, HookReport, State, adapter_for
from harnex_tmux.sidecar.ledger import Ledger
from harnex_tmux.sidecar.readiness import Readiness

# Sources read by their own adapter whatever CLI the session runs, as they always were:
# ``POST /hook/claude`` is Claude Code's own endpoint.
ANY_SESSION_SOURCES = ("claude", "codex")


class HookDesk:
    """Takes hook events for one session. ``remember`` keeps a fact in the session's record
    (a recovered sidecar must know hooks were seen, to keep asking them for proof)."""

    def __init__(
        self,
        adapter: Adapter,
        ledger: Ledger,
        readiness: Readiness,
        *,
        log: Callable[[str], None],
        remember: Callable[[str, Any], None],
        notice: Callable[[str, str, Mapping[str, Any], HookReport | None], None] | None = None,
        on_conversation: Callable[[str], None] = lambda thread: None,
    ) -> None:
        self.adapter = adapter
        self.on_conversation = on_conversation
        self.ledger = ledger
        self.readiness = readiness
        self.log = log
        self.remember = remember
        # Told every event after it was applied, with its report if it counted (the usage desk
        # learns its sources from them, and when a turn ended).
        self.notice = notice
        self._readers: dict[str, Adapter] = {adapter.name: adapter}
        # The agent's conversation whose turns count (see HookReport.thread).
        self._thread: str | None = None

    def on_hook(self, source: str, event: str, payload: dict[str, Any]) -> None:
        """An event the agent's own hook system reported (see :mod:`harnex_tmux.hook`)."""
        turns = self.ledger.turns
        if not turns.hooks_seen:
            turns.saw_hook()
            self.remember("hooks_seen", True)
        reader = self._reader(source)
        report = reader.read_hook(event, payload) if reader is not None else None
        counted = self.apply(report) if report is not None else False
        if self.notice is not None:
            self.notice(source, event, payload, report if counted else None)

    def _reader(self, source: str) -> Adapter | None:
        reader = self._readers.get(source)
        if reader is None and source in ANY_SESSION_SOURCES:
            reader = self._readers[source] = adapter_for(source)
        return reader

    def apply(self, report: HookReport) -> bool:
        """What a report means for the session: a prompt, the end of a turn, a dialog.
        False for the turn of a conversation that is not the user's (it does not count)."""
        if report.notification is not None:
            shown = self.readiness.state.value
            text = (report.text or "")[:200]
            self.log(f"Notification hook ({report.notification}, state {shown}): {text!r}")
        if report.kind == "prompt":
            self.ledger.prompt_reported(report.text or "")
            # Held: the screen may still show the idle prompt while the CLI runs its hooks.
            self._set(State.BUSY, report.hold)
        elif report.kind == "turn":
            if report.thread is not None and not self._follows(report.thread, report.received):
                return False
            self.ledger.complete_turn(report.text, received=report.received, hold=report.hold)
        elif report.kind == "dialog":
            if report.notification is None:
                self.log(f"dialog reported by the agent: {(report.text or '')[:200]!r}")
            # Held: the report can come before the dialog is drawn.
            self._set(State.CONFIRMATION, report.hold)
        return True

    def _follows(self, thread: str, received: str | None) -> bool:
        """Whether a turn on ``thread`` is the user's: the thread is the one whose input was
        exactly a message harnex typed (the agent's side calls run on threads of their own)."""
        if self._thread is None:
            if self.ledger.match_delivered(received or "") is None:
                return False
            self._thread = thread
            self.on_conversation(thread)  # the user's conversation: what a resume continues
        return thread == self._thread

    def _set(self, state: State, hold: bool) -> None:
        if hold:
            self.ledger.hold.report(state)
        else:
            self.readiness.set(state)
