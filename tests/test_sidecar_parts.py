"""The sidecar's parts, each built alone from real components: the pane handle (on a private
tmux server), the ledger and its hold, the record keeper, the hook desk, the API's router and
the watch's parts. None needs a Sidecar or a stand-in for one."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from conftest import wait_for

from harnex_tmux.adapters import HookReport, State, adapter_for
from harnex_tmux.events import EventLog
from harnex_tmux.foreground import TerminalUse
from harnex_tmux.sidecar.api import ApiParts, build_router
from harnex_tmux.sidecar.hooks import HookDesk
from harnex_tmux.sidecar.inbox import (
    DELIVERED,
    FAILED,
    Inbox,
    Message,
)
from harnex_tmux.sidecar.ledger import HOOK_HOLD_S, Hold, Ledger
from harnex_tmux.sidecar.pane import MIN_CAPTURE_GAP_S, TmuxPane
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.sidecar.record import RecordKeeper
from harnex_tmux.sidecar.server import Request
from harnex_tmux.sidecar.turns import Turns
from harnex_tmux.sidecar.watch import WatchParts, queue_file_hook, send_resume
from harnex_tmux.state import SessionRecord
from harnex_tmux.tmux import Tmux


def _state(readiness: Readiness) -> State:
    """The state now (a call, so the type checker does not keep an earlier comparison)."""
    return readiness.state


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- the pane ---------------------------------------------------------------------------------


def test_tmux_pane_types_reads_and_throttles_its_captures(tmp_path: Path) -> None:
    socket = str(tmp_path / "tmux.sock")
    tmux = Tmux(socket)
    # The pane's shell runs the program, as the pane wrapper does: the kernel's view counts
    # only the shell's descendants.
    program = tmp_path / "program.sh"
    program.write_text("printf '> '; read line; echo \"got $line\"; exec sleep 60\n")
    try:
        out = tmux._run(
            "new-session", "-d", "-P", "-F", "#{pane_id} #{pane_pid}", "-x", "80", "-y", "10",
            "sh", "-c", f"sh {program}; sleep 60",
        )  # fmt: skip
        pane_id, pane_pid = out[0].split()
        pane = TmuxPane(tmux, pane_id, int(pane_pid))
        wait_for(lambda: pane.terminal_use() == TerminalUse.READING)
        pane.type_text("hello")
        pane.send_keys("Enter")
        assert wait_for(lambda: "got hello" in (pane.capture_screen() or ""))
        started = time.monotonic()
        for _ in range(3):
            assert pane.capture_screen() is not None
        assert time.monotonic() - started >= 2 * MIN_CAPTURE_GAP_S
        assert "got hello" in pane.read(scrollback=5)
        gone = TmuxPane(tmux, "%999", None)
        assert gone.capture_screen() is None  # tmux's error is not the caller's
        assert TmuxPane(tmux, None, None).capture_screen() is None
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)


# --- the ledger and its hold ------------------------------------------------------------------


def test_a_held_state_wins_over_the_screen_until_it_agrees_or_times_out() -> None:
    readiness = Readiness()
    hold = Hold(readiness)
    assert hold.left() is None and hold.apply(State.BUSY) == State.BUSY
    hold.report(State.PROMPT)
    assert _state(readiness) == State.PROMPT
    assert hold.apply(State.BUSY) == State.PROMPT  # the screen is a redraw behind
    left = hold.left()
    assert left is not None and 0 < left <= HOOK_HOLD_S
    assert hold.apply(State.PROMPT) == State.PROMPT and hold.left() is None  # it agreed
    hold.report(State.BUSY)
    assert hold.apply(State.CONFIRMATION) == State.CONFIRMATION  # a dialog always shows
    hold.report(State.BUSY)
    hold.release()
    assert hold.apply(State.PROMPT) == State.PROMPT


def test_the_ledger_records_outcomes_and_wakes_on_turns(tmp_path: Path) -> None:
    delivered: list[bool] = []
    woken: list[bool] = []
    readiness = Readiness()
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    ledger = Ledger(
        inbox,
        EventLog(tmp_path / "events.jsonl", "s1"),
        readiness,
        wake=lambda: woken.append(True),
        on_delivered=lambda: delivered.append(True),
    )
    first = inbox.add(Message(text="first"))
    ledger.typing_begins(first, awaits_report=True)
    ledger.finish(first, DELIVERED)
    assert first.status == DELIVERED and delivered == [True]
    assert not ledger.typed_since(first)
    ledger.turn_started()
    assert _state(readiness) == State.BUSY and woken == [True]
    assert ledger.match_delivered("first\r\n") is first
    second = inbox.add(Message(text="second"))
    ledger.typing_begins(second, awaits_report=True)
    assert ledger.typed_since(first) and not ledger.typed_since(second)
    # The first turn's report comes after the second message was typed: the reply is
    # attached, but the state stays busy (the agent works on the second one).
    ledger.complete_turn("reply one")
    assert first.reply == "reply one" and first.completed_at is not None
    assert _state(readiness) == State.BUSY and len(woken) == 2
    ledger.complete_turn("reply two")
    assert second.reply == "reply two" and _state(readiness) == State.PROMPT
    assert ledger.turns.turn_count == 2
    types = [e["type"] for e in _events(tmp_path / "events.jsonl")]
    assert types == ["send", "delivered", "turn_complete", "turn_complete"]


def test_a_late_prompt_report_proves_or_fails_what_the_screen_confirmed(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    ledger = Ledger(inbox, EventLog(tmp_path / "events.jsonl", "s1"), Readiness())
    good, bad = inbox.add(Message(text="alpha beta")), inbox.add(Message(text="gamma delta"))
    for message in (good, bad):
        inbox.finish(message, DELIVERED)
        ledger.note_report(message, ledger.turns.prompt_count)
    ledger.prompt_reported("alpha beta")
    assert good.proven is True and bad.status == DELIVERED
    ledger.note_report(bad, ledger.turns.prompt_count)
    ledger.prompt_reported("gamma")  # a part of it: the agent got a damaged copy
    assert bad.status == FAILED and bad.received == "gamma"
    assert ledger.turns.prompts_after(0) == ["alpha beta", "gamma"]


# --- the record -------------------------------------------------------------------------------


def _record() -> SessionRecord:
    return SessionRecord(
        id="s1",
        cli="demo",
        repo_root="/r",
        host="127.0.0.1",
        port=1,
        token="secret",
        session_id="abc",
        started_at="2025-01-01T00:00:00Z",
        output_log_path="/r/output.log",
        events_log_path="/r/events.jsonl",
    )


def test_the_record_keeper_saves_while_the_registry_file_exists(tmp_path: Path) -> None:
    path = tmp_path / "s1.json"
    record = _record()
    record.save(path)
    keeper = RecordKeeper(record, path, tmp_path / "output.log")
    keeper.remember("hooks_seen", True)
    keeper.note_injected()
    saved = json.loads(path.read_text())
    assert saved["hooks_seen"] is True and saved["injected_count"] == 1
    status = keeper.status(State.PROMPT, inbox_size=2)
    assert "token" not in status and status["state"] == "prompt" and status["inbox"] == 2
    assert "exit" not in status
    keeper.remove()
    keeper.note_injected()  # after the session ended: nothing is written back
    assert not path.exists() and record.injected_count == 2


# --- the hook desk ----------------------------------------------------------------------------


def _desk(tmp_path: Path, adapter: str) -> tuple[HookDesk, Ledger, list[str], dict[str, Any]]:
    readiness = Readiness()
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    ledger = Ledger(inbox, EventLog(tmp_path / "events.jsonl", "s1"), readiness)
    lines: list[str] = []
    facts: dict[str, Any] = {}
    desk = HookDesk(
        adapter_for(adapter), ledger, readiness, log=lines.append, remember=facts.__setitem__
    )
    return desk, ledger, lines, facts


def test_claude_reports_move_the_state_unheld_and_log_notifications(tmp_path: Path) -> None:
    desk, ledger, lines, facts = _desk(tmp_path, "claude")
    desk.on_hook("claude", "UserPromptSubmit", {"prompt": "go"})
    assert facts == {"hooks_seen": True} and ledger.turns.hooks_seen
    assert _state(desk.readiness) == State.BUSY and ledger.hold.left() is None
    notice = {"message": "Claude needs your permission", "notification_type": "permission_prompt"}
    desk.on_hook("claude", "Notification", notice)
    assert _state(desk.readiness) == State.CONFIRMATION and ledger.hold.left() is None
    assert lines == [
        "Notification hook (permission_prompt, state busy): 'Claude needs your permission'"
    ]
    desk.on_hook("claude", "Notification", {"message": "idle"})
    assert _state(desk.readiness) == State.CONFIRMATION  # only logged
    assert lines[-1] == "Notification hook (None, state confirmation): 'idle'"
    desk.on_hook("claude", "Stop", {"last_assistant_message": "done"})
    assert _state(desk.readiness) == State.PROMPT and ledger.hold.left() is not None
    assert ledger.turns.wait_turn(0, 0) is not None


def test_claude_hooks_count_in_a_session_of_another_adapter(tmp_path: Path) -> None:
    desk, ledger, _, _ = _desk(tmp_path, "generic")
    desk.on_hook("claude", "Stop", {"last_assistant_message": "done"})
    turn = ledger.turns.wait_turn(0, 0)
    assert turn is not None and turn.reply == "done"
    desk.on_hook("gemini", "AfterAgent", {"prompt_response": "x"})  # not this session's
    assert ledger.turns.turn_count == 1


def test_codex_turns_count_on_the_thread_of_a_typed_message(tmp_path: Path) -> None:
    desk, ledger, _, _ = _desk(tmp_path, "codex")
    message = ledger.inbox.add(Message(text="run the tests"))
    ledger.typing_begins(message, awaits_report=True)
    ledger.inbox.finish(message, DELIVERED)

    def turn(thread: str, text: str) -> None:
        desk.on_hook(
            "codex",
            "agent-turn-complete",
            {"thread-id": thread, "input-messages": [text], "last-assistant-message": "ok"},
        )

    turn("titles", "write a title for: run the tests")  # a side call: not a typed message
    assert ledger.turns.turn_count == 0
    turn("main", "run the tests")
    assert ledger.turns.turn_count == 1 and message.proven is True and message.reply == "ok"
    turn("titles", "run the tests")  # another thread than the one followed
    assert ledger.turns.turn_count == 1


def test_a_held_dialog_report_is_logged_as_the_agents(tmp_path: Path) -> None:
    desk, ledger, lines, _ = _desk(tmp_path, "qwen")
    desk.apply(HookReport("dialog", "run ls?"))
    assert _state(desk.readiness) == State.CONFIRMATION and ledger.hold.left() is not None
    assert lines == ["dialog reported by the agent: 'run ls?'"]


# --- the API's parts and the watch's ----------------------------------------------------------


def test_the_router_serves_from_the_parts_it_is_given(tmp_path: Path) -> None:
    readiness = Readiness()
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    typed: list[Message] = []
    hooks: list[tuple[str, str]] = []

    def deliver_now(message: Message) -> bool:
        typed.append(message)
        inbox.finish(message, DELIVERED)
        return True

    router = build_router(
        ApiParts(
            ident="s1",
            pane_id="%1",
            read_pane=lambda lines: "line\n> \n",
            readiness=readiness,
            inbox=inbox,
            turns=Turns(),
            deliver_now=deliver_now,
            status_payload=lambda: {"id": "s1"},
            request_stop=lambda: True,
            on_hook=lambda source, event, payload: hooks.append((source, event)),
        )
    )

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        handler, rest = router.resolve(method, path.split("?")[0])
        query = dict(p.split("=") for p in path.split("?")[1].split("&")) if "?" in path else {}
        return handler(Request(method, path, query, json.dumps(body or {}).encode()), rest)

    readiness.set(State.BUSY)
    status, body = call("POST", "/send", {"text": "now", "force": True})
    assert status == 200 and body["status"] == "delivered" and typed[0].text == "now"
    status, body = call("POST", "/send", {"text": "later"})
    assert status == 202 and body["queued"] and len(inbox) == 1
    assert call("GET", "/pane")[1]["pane_id"] == "%1"
    assert call("GET", "/status")[1] == {"ok": True, "id": "s1"}
    assert call("POST", "/hook/claude", {"hook_event_name": "Stop"}) == (200, {})
    assert hooks == [("claude", "Stop")]


def test_the_watch_parts_queue_a_file_hook_once_and_nudge_now(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    emitted: list[tuple[str, dict[str, Any]]] = []
    nudged = threading.Event()

    def deliver_now(message: Message) -> bool:
        nudged.set()
        return message.force

    parts = WatchParts(
        state=lambda: State.PROMPT,
        quiet_for=lambda: 0.0,
        inbox=inbox,
        deliver_now=deliver_now,
        emit=lambda kind, **data: emitted.append((kind, data)),
        log=lambda line: None,
        remember=lambda key, value: None,
    )
    queue_file_hook(parts, tmp_path / "notes.md")
    queue_file_hook(parts, tmp_path / "notes.md")
    assert len(inbox) == 1 and [kind for kind, _ in emitted] == ["file_change"] * 2
    assert emitted[0][1]["message_id"] == emitted[1][1]["message_id"]
    assert send_resume(parts) and nudged.is_set()
