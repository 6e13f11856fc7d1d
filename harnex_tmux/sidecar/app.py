"""The sidecar process: creates the agent's pane, then watches and serves it until it ends.

Threads: the API server (one thread per request), an output watcher (wakes on pane output;
on a full disk the screen watch stands in for it), an exit watcher (wakes when the pane's
process ends), an optional stop sequence, and the main loop, which alone decides the
readiness state and finishes the session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harnex_tmux.adapters import Adapter, HookTarget, Observation, State, adapter_for
from harnex_tmux.budgets import parse_budget
from harnex_tmux.events import EventLog, start_new_log
from harnex_tmux.foreground import TerminalUse, children, descendants
from harnex_tmux.launch import LaunchSpec
from harnex_tmux.messages import sanitize
from harnex_tmux.ports import allocate_listener, bind_listener
from harnex_tmux.resume_card import ResumeCard, conversation_in
from harnex_tmux.sidecar.budget import BudgetDesk, BudgetParts, write_budget_file
from harnex_tmux.sidecar.delivery import Deliverer
from harnex_tmux.sidecar.dialog_keys import answer_dialog
from harnex_tmux.sidecar.hooks import HookDesk
from harnex_tmux.sidecar.inbox import FAILED, Inbox, Message
from harnex_tmux.sidecar.ledger import Ledger
from harnex_tmux.sidecar.output_clock import OutputClock
from harnex_tmux.sidecar.pane import TmuxPane
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.sidecar.record import RecordKeeper
from harnex_tmux.sidecar.screen_watch import ScreenWatch
from harnex_tmux.sidecar.server import ApiServer
from harnex_tmux.sidecar.usage import UsageDesk
from harnex_tmux.sidecar.watch import SessionWatch, WatchParts, start_watch
from harnex_tmux.sidecar.watchers import OutputWatcher, ProcessExitWatcher
from harnex_tmux.state import (
    ExitRecord,
    SessionPaths,
    SessionRecord,
    process_alive,
    read_json,
    utc_now,
)
from harnex_tmux.tmux import Tmux
from harnex_tmux.tokens import token_hex
from harnex_tmux.usage.sources import RECORD_KEY as USAGE_KEY
from harnex_tmux.usage.sources import at_launch

# How often to look at the pane even when nothing happened: catches a pane that vanished
# while its process lives on, and any output the watcher could not see.
SAFETY_NET_S = 5.0
# A folder-trust dialog is answered at most this often with --auto-accept (it redraws).
AUTO_ACCEPT_GAP_S = 2.0
# After the agent ends, keep answering for a moment so long-polls can report the exit.
EXIT_LINGER_S = 0.3
# Then requests still being answered (a forced send typing into an agent that just quit)
# get this long to finish, so their senders get a status rather than a dropped connection.
DRAIN_MAX_S = 15.0
TERMINATE_GRACE_S = 2.0
STARTUP_SETTLE_S = 0.8
CONTEXT_TTL_S = 600.0


def hook_command() -> list[str]:
    """How the agent runs harnex's hook: the bare interpreter on the hook file, without
    site-packages (-S) or the script's folder on the path (-P), so it starts in milliseconds."""
    from harnex_tmux import hook

    return [sys.executable, "-S", "-P", os.path.abspath(hook.__file__)]


def hook_target(host: str, port: int) -> HookTarget | None:
    """Where the agent's hooks report to; ``HARNEX_NO_HOOKS=1`` turns them off (harnex then
    reads only the screen)."""
    if os.environ.get("HARNEX_NO_HOOKS") in ("1", "true", "yes"):
        return None
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return HookTarget(command=hook_command(), url=f"http://{netloc}/hook")


def child_env(spec: LaunchSpec, session_id: str, registry: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(spec.env)
    env.update(
        {
            "HARNEX_REGISTRY": str(registry),
            "HARNEX_ID": spec.id,
            "HARNEX_SESSION_ID": session_id,
            "HARNEX_SESSION_CLI": spec.cli,
            "HARNEX_SESSION_REPO_ROOT": spec.repo_root,
            **({"HARNEX_DESCRIPTION": spec.description} if spec.description else {}),
        }
    )
    env.pop("HARNEX_SPAWNER_PANE", None)
    if spec.caller_pane:
        env["HARNEX_SPAWNER_PANE"] = spec.caller_pane
    return env


def find_agent_pid(pane_pid: int, tmux_binary: str, timeout: float = 3.0) -> int | None:
    """The agent is the pane wrapper's child once the gate opened (not the tmux waiter)."""
    tmux_exe = os.path.realpath(tmux_binary)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children(pane_pid):
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue  # already gone (the waiter exiting), or not ours to read
            if exe != tmux_exe and process_alive(pid):
                return pid
        if not process_alive(pane_pid):
            return None
        time.sleep(0.005)
    return None


def log(line: str) -> None:
    """A diagnostic line in the sidecar's own log (its stderr); lost, not raised, when that
    log's disk is full (a diagnostic must never stop a delivery)."""
    with contextlib.suppress(OSError):
        print(f"{utc_now()} {line}", file=sys.stderr, flush=True)


class Sidecar:
    """One session's sidecar: it builds the parts (pane, ledger, deliverer, hooks, record,
    API, watch), runs the main loop that decides the readiness state, and ends the session."""

    def __init__(
        self,
        record: SessionRecord,
        adapter: Adapter,
        paths: SessionPaths,
        tmux: Tmux,
        api: ApiServer | None = None,
        resumed: bool = False,
    ) -> None:
        self.record = record
        self.adapter = adapter
        self.paths = paths
        self.tmux = tmux
        self.events = EventLog(paths.events_log, record.id)
        self.readiness = Readiness(on_change=self._state_changed)
        self.api = api
        self._wake = threading.Event()
        self._pane_exited = threading.Event()
        self._stopping = threading.Event()
        self._finished = threading.Event()
        self.output = OutputClock()
        self._watch_started = time.monotonic()
        # A sidecar that takes over a running session knows the agent has printed already.
        self._output_before = resumed
        ttl = float(record.extra.get("inbox_ttl") or 120.0)
        self.inbox = Inbox(paths.inbox, ttl_s=ttl)
        self.keeper = RecordKeeper(
            record, paths.registry, paths.output_log, make_room=self.inbox.journal.give_up_reserve
        )
        self.pane = TmuxPane(tmux, record.pane_id, record.pane_pid)
        self.ledger = Ledger(
            self.inbox,
            self.events,
            self.readiness,
            wake=self._wake.set,
            on_delivered=self.keeper.note_injected,
        )
        if record.extra.get("hooks_seen"):
            self.ledger.turns.saw_hook()
        self.deliverer = Deliverer(
            adapter=adapter,
            pane=self.pane,
            clock=self.output,
            ledger=self.ledger,
            readiness=self.readiness,
            log=log,
            keep_on_exit=lambda: not self._stopping.is_set(),
            pane_gone=lambda: self.tmux.pane_status(self.pane.pane_id) is None,
            held=self._budget_holds,
        )
        self.usage = UsageDesk(
            record.extra,
            emit=self.events.emit,
            remember=self.keeper.remember,
            turn_number=lambda: self.ledger.turns.turn_count,
        )
        self.budget = BudgetDesk(
            BudgetParts(
                ident=record.id,
                path=paths.budget,
                usage=lambda: self.usage.report().total,
                state=lambda: self.readiness.state,
                interrupt=self._interrupt,
                escalate=lambda why: self.keeper.remember("budget_escalated", why),
                released=self._budget_released,
                emit=self.events.emit,
                log=log,
            )
        )
        self.hooks = HookDesk(
            adapter,
            self.ledger,
            self.readiness,
            log=log,
            remember=self.keeper.remember,
            notice=self.usage.noticed,
            on_conversation=self._note_conversation,
        )
        self.watch: SessionWatch | None = None
        self._ready_once = resumed
        self._recheck_in: float | None = None
        self._last_accept = 0.0
        self.auto_accept = bool(record.extra.get("auto_accept"))
        # What `harnex resume` needs (written at launch; a recovered sidecar reads it back).
        self.card = ResumeCard.load(paths.resume_card)

    # --- starting ---------------------------------------------------------------------------

    @classmethod
    def launch(cls, spec: LaunchSpec) -> Sidecar:
        """Create the pane and the API for a new session, then start the agent."""
        adapter = adapter_for(spec.adapter, spec.prompt_regex, spec.repo_root)
        paths = SessionPaths.for_session(spec.repo_root, spec.id)
        paths.create_dirs()
        paths.exit_record.unlink(missing_ok=True)
        if not spec.resuming:
            # A new session under an old id starts with an empty inbox: what an ended one
            # kept for `harnex resume` is not typed into another conversation.
            paths.inbox.unlink(missing_ok=True)
        start_new_log(paths.events_log)
        listener = allocate_listener(spec.repo_root, spec.id, spec.host, spec.port)
        tmux = Tmux(spec.socket_path)
        tmux.check_version()
        session_id = token_hex(8)
        target = tmux.session_of_pane(spec.caller_pane) if spec.caller_pane else None
        gate = f"harnex-gate-{session_id}"
        token = token_hex(16)
        env = child_env(spec, session_id, paths.registry)
        for key, value in adapter.launch_env().items():
            env.setdefault(key, value)
        hooks = hook_target(spec.host, listener.getsockname()[1])
        if hooks is not None and adapter.has_hooks:
            # Only an agent whose own hooks post to the API needs the token.
            env[hooks.token_env] = token
        env.update(adapter.session_env(hooks, env, paths.agent_dir, spec.auto_accept))
        command = spec.command
        if spec.resuming and spec.continues:
            command = adapter.resume_command(command, spec.conversation or "") or command
        placement = tmux.create_agent_window(
            command=adapter.launch_argv(command, hooks, env),
            window_name=spec.window_name or spec.id,
            cwd=spec.cwd,
            env=env,
            env_file=paths.launch_env,
            exit_record=paths.exit_record,
            ident=spec.id,
            gate=gate,
            target_session=target,
            session_name=spec.session_name,
        )
        try:
            tmux.prepare_pane(placement.pane_id, paths.output_log, paths.key)
            record = SessionRecord(
                id=spec.id,
                cli=spec.cli,
                repo_root=spec.repo_root,
                host=spec.host,
                port=listener.getsockname()[1],
                token=token,
                session_id=session_id,
                started_at=utc_now(),
                output_log_path=str(paths.output_log),
                events_log_path=str(paths.events_log),
                description=spec.description,
                tmux_socket=tmux.socket_path,
                tmux_session=placement.session_name,
                window_id=placement.window_id,
                pane_id=placement.pane_id,
                pane_pid=placement.pane_pid,
                sidecar_pid=os.getpid(),
                adapter=adapter.name,
                watch=spec.watch,
                worktree=spec.worktree,
            )
            record.extra.update(adapter.session_facts(spec.cwd))
            record.extra["inbox_ttl"] = spec.inbox_ttl
            record.extra["auto_accept"] = spec.auto_accept
            if spec.prompt_regex:
                record.extra["prompt_regex"] = spec.prompt_regex
            if hooks is not None:
                record.extra["hook_port"] = record.port
            if spec.resuming:
                # What the ended session used counts on: the resumed agent may write to the
                # same transcript or a new one, and both are read (a call counted once).
                record.extra[USAGE_KEY] = list(spec.usage_sources)
            known = at_launch(adapter.name, record.extra)
            kept = record.extra.setdefault(USAGE_KEY, [])
            if known is not None and not any(s.get("path") == known.path for s in kept):
                kept.append(known.to_dict())  # a resumed Aider reads on from its first start
            # The budget is on disk before the agent can spend anything. A resumed session
            # keeps its file as it was: the limit with its additions, the steps taken.
            if not (spec.resuming and paths.budget.exists()):
                budget = None if spec.budget is None else parse_budget(spec.budget)
                write_budget_file(paths.budget, budget)
            sidecar = cls(record, adapter, paths, tmux)
            card = ResumeCard(
                spec={
                    **dataclasses.asdict(spec),
                    "context": None,
                    "resuming": False,
                    "continues": False,
                    "usage_sources": [],
                },
                conversation=spec.conversation,
            )
            card.save(paths.resume_card)
            sidecar.card = card
            if spec.resuming:
                sidecar.inbox.renew()  # waited through the restart: a fresh TTL
            if spec.context:
                # The first prompt waits in the inbox like any message, so it survives a
                # slow start or a sidecar restart; it gets longer than usual to wait.
                sidecar.inbox.add(
                    Message(text=sanitize(spec.context)), ttl_s=max(spec.inbox_ttl, CONTEXT_TTL_S)
                )
            sidecar.api = sidecar._make_api(listener)
            record.save(paths.registry)
            tmux.release_gate(gate)
            record.pid = find_agent_pid(placement.pane_pid, tmux.binary)
            if record.pid is not None:
                paths.launch_env.unlink(missing_ok=True)  # read and emptied by the wrapper
            record.save(paths.registry)
            sidecar.events.emit("started", pid=record.pid)
        except BaseException:
            tmux.kill_window(placement.window_id)
            paths.launch_env.unlink(missing_ok=True)
            paths.registry.unlink(missing_ok=True)
            listener.close()
            raise
        return sidecar

    @classmethod
    def adopt(cls, registry_path: Path) -> Sidecar:
        """Take over a live session whose sidecar died: same pane, same files, same port."""
        data = read_json(registry_path)
        if data is None:
            raise RuntimeError(f"no readable registry record at {registry_path}")
        record = SessionRecord.from_dict(data)
        if process_alive(record.sidecar_pid) and record.sidecar_pid != os.getpid():
            raise RuntimeError(f"session {record.id!r} still has a live sidecar")
        paths = SessionPaths.for_session(record.repo_root, record.id)
        tmux = Tmux(record.tmux_socket or "")
        adapter = adapter_for(
            record.adapter or "generic", record.extra.get("prompt_regex"), record.repo_root
        )
        try:
            listener = bind_listener(record.host, record.port)
        except OSError:
            listener = allocate_listener(record.repo_root, record.id, record.host)
        record.port = listener.getsockname()[1]
        record.sidecar_pid = os.getpid()
        if record.extra.get("hook_port") not in (None, record.port):
            # The agent's hooks may post to the old port (Claude's do): the screen has to
            # do, and delivery must not wait for proof that can no longer come.
            record.extra["hook_port"] = None
            record.extra["hooks_seen"] = False
        sidecar = cls(record, adapter, paths, tmux, resumed=True)
        sidecar.api = sidecar._make_api(listener)
        if record.pane_id and tmux.pane_status(record.pane_id) is not None:
            tmux.pipe_output(record.pane_id, paths.output_log)
        sidecar.keeper.save_now()  # on a full disk too: it names the sidecar to clients
        return sidecar

    def _make_api(self, listener: Any) -> ApiServer:
        from harnex_tmux.sidecar.api import ApiParts, build_router

        parts = ApiParts(
            ident=self.record.id,
            pane_id=self.pane.pane_id,
            read_pane=self.pane.read,
            readiness=self.readiness,
            inbox=self.inbox,
            turns=self.ledger.turns,
            deliver_now=self.deliverer.deliver,
            status_payload=lambda: (
                self._status()
                | {"usage": self.usage.report().to_dict(), "budget": self.budget.describe()}
            ),
            usage=lambda: self.usage.report().to_dict(),
            budget_refusal=self.budget.refusal,
            budget_show=self.budget.describe,
            budget_change=self.budget.change,
            request_stop=self.request_stop,
            on_hook=self._on_hook,
        )
        return ApiServer(listener, self.record.token, build_router(parts))

    def _status(self) -> dict[str, Any]:
        """``GET /status``: the record and state, and why new messages are refused when the
        state directory has no room (``state_dir_problem``)."""
        data = self.keeper.status(self.readiness.state, len(self.inbox))
        problem = self.inbox.storage_problem()
        if problem is not None:
            data["state_dir_problem"] = problem
        return data

    # --- running ----------------------------------------------------------------------------

    def run(self) -> int:
        assert self.api is not None
        self.budget.start()  # its first look before the API answers: status shows the spending
        api_thread = threading.Thread(target=self.api.serve_forever, name="api", daemon=True)
        api_thread.start()
        OutputWatcher(self.paths.output_log, self._on_output).start()
        ScreenWatch(
            self.paths.output_log, self.pane.capture_screen, self._on_output, self._reattach
        ).start()
        self.deliverer.start()
        self.adapter.start_watching(self.record.extra, self._agent_event)
        self.watch = start_watch(
            self.record.watch,
            self.record.extra,
            WatchParts(
                state=lambda: self.readiness.state,
                quiet_for=lambda: self.output.quiet_for,
                inbox=self.inbox,
                deliver_now=self._nudge,
                emit=self.events.emit,
                log=log,
                remember=self.keeper.remember,
            ),
        )
        if self.record.pane_pid and process_alive(self.record.pane_pid):
            ProcessExitWatcher(self.record.pane_pid, self._on_pane_exit).start()
        else:
            self._pane_exited.set()
        next_safety = time.monotonic() + SAFETY_NET_S
        while not self._pane_exited.is_set():
            self._evaluate()
            now = time.monotonic()
            timeout = next_safety - now
            if self._recheck_in is not None:
                timeout = min(timeout, self._recheck_in)
            self._wake.wait(max(0.0, timeout))
            self._wake.clear()
            if time.monotonic() >= next_safety:
                next_safety = time.monotonic() + SAFETY_NET_S
                self._check_pane()
        self._finish()
        self.ledger.turns.end()
        time.sleep(EXIT_LINGER_S)
        if not self.api.shutdown(drain_s=DRAIN_MAX_S):
            log(f"requests still unanswered {DRAIN_MAX_S:g}s after the agent ended")
        return 0

    def _nudge(self, message: Message) -> bool:
        """The watch's forced ``resume``: not typed while the budget is spent (it would start
        the spending again)."""
        refusal = self.budget.refusal()
        if refusal is not None:
            self.ledger.finish(message, FAILED, refusal)
            return False
        return self.deliverer.deliver(message)

    def _budget_holds(self) -> bool:
        """Whether the next queued message must wait for the budget: it is spent, or nearly
        (past its warning) while the turn that just ended is still being written down; then
        it is looked at afresh, so a turn that spent it is caught before another starts."""
        budget = self.budget
        if not budget.near:
            return budget.held
        if self.usage.settling:
            return True
        budget.check()
        return budget.held

    def _interrupt(self) -> bool:
        """Stop the agent's turn with its adapter's own keys; False when it has none."""
        keys = self.adapter.interrupt_keys
        if not keys or not self.pane.pane_id:
            return False
        with self.pane.typing:
            for key in keys:
                self.pane.send_keys(key)
                time.sleep(0.1)  # a second press must not be read as part of the first
        return True

    def _budget_released(self) -> None:
        """The budget was raised or cleared: what waited in the held inbox gets a fresh TTL
        (it waited for a person) and the deliverer looks again."""
        self.inbox.renew()
        self.inbox.changed()
        self._wake.set()

    def _on_output(self) -> None:
        self.output.tick()
        self._wake.set()

    def _reattach(self) -> None:
        """There is room again after a full disk: the transcript pipe (ended by it) is
        attached again now rather than at the next safety check."""
        self._wake.set()
        self._check_pane()

    def _on_pane_exit(self) -> None:
        self._pane_exited.set()
        self._wake.set()

    def _output_seen(self) -> bool:
        """Whether the agent printed anything yet. Output from before the watcher started
        watching sends no event, so the transcript's size is asked too, until it grew."""
        if self._output_before or self.output.count > 0:
            return True
        with contextlib.suppress(OSError):
            self._output_before = self.paths.output_log.stat().st_size > 0
        return self._output_before

    def _evaluate(self) -> None:
        quiet = self.output.quiet_for
        screen = self.pane.capture_screen() if self.adapter.reads_screen else None
        terminal = self.pane.terminal_use() if self.adapter.reads_terminal else TerminalUse.UNKNOWN
        observation = Observation(
            screen=screen,
            quiet_for=quiet,
            output_seen=self._output_seen(),
            age=time.monotonic() - self._watch_started,
            terminal=terminal,
        )
        state = self.adapter.detect(observation)
        if state == State.PROMPT and not self._ready_once and self.adapter.first_prompt_settles:
            # Both CLIs draw their prompt for a moment before deciding to show a first-launch
            # dialog over it: the first prompt counts once the screen has held still.
            if quiet < STARTUP_SETTLE_S:
                state = State.UNKNOWN
                self._recheck_in = STARTUP_SETTLE_S - quiet
                self.readiness.set(state)
                return
            self._ready_once = True
        hold = self.ledger.hold
        state = hold.apply(state)
        previous = self.readiness.state
        self.readiness.set(state)
        self._recheck_in = self.adapter.recheck_in(observation)
        left = hold.left()
        if left is not None:
            # A held state ends on time even when the agent prints nothing more.
            self._recheck_in = left if self._recheck_in is None else min(left, self._recheck_in)
        if state == State.UNKNOWN and previous in (State.PROMPT, State.BUSY) and screen:
            # A screen the adapter does not recognise is what the next UI change looks like.
            lines = [re.sub(r"─{4,}", "───", line.strip()) for line in screen.splitlines()]
            tail = " | ".join(line for line in lines[-8:] if line)
            log(f"unrecognised screen after {previous.value}: {tail[:400]}")
        if state == State.TRUST and self.auto_accept:
            if quiet < STARTUP_SETTLE_S:
                # Answered once the dialog has held still: Claude Code 2.1.332 draws it, then
                # probes the terminal and draws it again with the cursor back on "No, exit",
                # so a move made before that is undone and the Enter declines.
                self._recheck_in = STARTUP_SETTLE_S - quiet
            else:
                self._accept_trust()
                # A dialog that ignored the key prints nothing: look again rather than wait
                # for the safety net.
                self._recheck_in = AUTO_ACCEPT_GAP_S

    def _accept_trust(self) -> None:
        """``--auto-accept``: answer the folder-trust dialog with its trusting option (the one
        its adapter file names, wherever the cursor starts)."""
        if time.monotonic() - self._last_accept < AUTO_ACCEPT_GAP_S:
            return
        if self.pane.pane_id:
            self._last_accept = time.monotonic()
            log("auto-accepting the folder-trust dialog")
            with self.pane.typing:
                answer_dialog(self.pane, self.adapter, State.TRUST, log)

    # --- the agent's own events -----------------------------------------------------------

    def _agent_event(self, event: str, payload: dict[str, Any]) -> None:
        """An event from the agent's own stream (see :meth:`Adapter.start_watching`)."""
        if not self._pane_exited.is_set():
            self._on_hook(self.adapter.name, event, payload)

    def _on_hook(self, source: str, event: str, payload: dict[str, Any]) -> None:
        """A hook or stream event: noted for its conversation id, then read."""
        conversation = conversation_in(payload)
        if conversation is not None:
            self._note_conversation(conversation)
        self.hooks.on_hook(source, event, payload)

    def _note_conversation(self, conversation: str) -> None:
        """The CLI named its conversation: on the resume card, for ``harnex resume``."""
        card = self.card
        if card is not None and card.conversation != conversation:
            card.conversation = conversation
            card.save(self.paths.resume_card)

    def _check_pane(self) -> None:
        """The pane vanished or died without the exit watcher noticing: end the session;
        its transcript pipe ended: attach it again."""
        status = self.tmux.pane_status(self.record.pane_id or "")
        if status is None or status.dead:
            self._pane_exited.set()
        elif not status.piped and self.record.pane_id:
            # The transcript's writer ended (the disk was full): attach a new one, so output
            # is seen again once there is room.
            with contextlib.suppress(Exception):
                self.tmux.pipe_output(self.record.pane_id, self.paths.output_log)

    def _state_changed(self, previous: State, current: State) -> None:
        if current != State.EXITED:  # _finish records that one, before `exited`
            self.events.emit("state", **{"from": previous.value, "to": current.value})

    # --- ending -----------------------------------------------------------------------------

    def _finish(self) -> None:
        exit_record = ExitRecord.load(self.paths.exit_record)
        if exit_record is None:
            exit_record = self._exit_without_record()
        exit_record.locate(self.record)
        exit_record.extra["stopped"] = self._stopping.is_set()
        with contextlib.suppress(OSError):  # a full disk: the pane wrapper's record stays
            exit_record.save(self.paths.exit_record)
        if self.card is not None:
            self.card.ended_at = exit_record.ended_at
            self.card.stopped = self._stopping.is_set()
            self.card.exit_code = exit_record.code
            self.card.save(self.paths.resume_card)
        self.keeper.exit_record = exit_record
        # `exited` is the last event of a session: followers stop reading there.
        if self.watch is not None:
            self.watch.stop("exited")
        self.usage.finish()  # the last turn's usage event comes before `exited`
        self.budget.stop()
        self.events.emit("state", **{"from": self.readiness.state.value, "to": "exited"})
        self.events.emit("exited", **exit_record.event_payload())
        self.readiness.set(State.EXITED)
        if self._stopping.is_set() and self.record.window_id:
            self.tmux.kill_window(self.record.window_id)
        self.paths.launch_env.unlink(missing_ok=True)
        # Last: a stop returns once the registry record is gone (the window closed already).
        self.keeper.remove()
        self._finished.set()

    def _exit_without_record(self) -> ExitRecord:
        """The wrapper died before the agent: its pane was closed, which hung up on both.

        Give the agent a moment to act on the hangup, then make sure it is gone, and record
        the hangup as its end (the real status is not ours to read: it is not our child).
        """
        status = self.tmux.pane_status(self.record.pane_id or "")
        if status is not None and status.dead and status.dead_status is not None:
            code, sig = status.dead_status, status.dead_signal
        else:
            code, sig = 128 + signal.SIGHUP, int(signal.SIGHUP)
        pid = self.record.pid
        for escalate in (signal.SIGTERM, signal.SIGKILL, None):
            deadline = time.monotonic() + TERMINATE_GRACE_S / 2
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if escalate is None or not self._signal_agent(escalate):
                break
        ended = ExitRecord(id=self.record.id, code=code, signal=sig, ended_at=utc_now())
        ended.extra["reason"] = "pane closed"
        return ended

    def request_stop(self) -> bool:
        """Begin the adapter's stop sequence in the background; False if already stopping."""
        if self._stopping.is_set() or self._pane_exited.is_set():
            self._stopping.set()
            return False
        self._stopping.set()
        threading.Thread(target=self._stop_sequence, name="stop", daemon=True).start()
        return True

    def _stop_sequence(self) -> None:
        pane = self.pane
        for step in self.adapter.stop_steps:
            try:
                if step.text:
                    pane.type_text(step.text)
                    time.sleep(0.2)
                if step.keys:
                    pane.send_keys(*step.keys)
            except Exception:
                break
            if self._pane_exited.wait(step.wait_s):
                return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self._signal_agent(sig):
                break
            if self._pane_exited.wait(TERMINATE_GRACE_S):
                return
        if not self._pane_exited.is_set() and self.record.window_id:
            # Nothing left to signal (or it would not die): removing the window ends it.
            self.tmux.kill_window(self.record.window_id)

    def _signal_agent(self, sig: signal.Signals) -> bool:
        """Signal the agent and every process under it: Gemini CLI's outer process ignores
        SIGTERM and leaves its worker running when killed, and OpenCode keeps a server
        process of its own."""
        pid = self.record.pid
        if not pid or not process_alive(pid):
            return False
        signalled = False
        for target in [pid, *descendants(pid)]:
            try:
                os.kill(target, sig)
                signalled = True
            except ProcessLookupError:
                continue
        return signalled
