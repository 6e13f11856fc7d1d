"""The watch babysitter, the file hook, and the run options that turn them on.

The babysitter and the file hook are driven in-process with stand-ins where the real session
cannot show the case (the generic adapter never shows a dialog); the rest runs the real CLI
against the demo agent with a 2 s stall window.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import PYTHON, Harnex, recorded, wait_for

from harnex_tmux.adapters.base import State
from harnex_tmux.cli.watch_options import build_watch, rewrite_legacy_watch
from harnex_tmux.errors import UsageError
from harnex_tmux.sidecar.filehook import FileHook
from harnex_tmux.sidecar.output_clock import OutputClock
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.sidecar.watch import Babysitter, WatchConfig

# --- the babysitter, in-process ---------------------------------------------------------------


class Stand:
    """A stand-in session: real readiness and output clock, recorded events and nudges."""

    def __init__(self, stall_after_s: float, max_resumes: int, nudge_ok: bool = True) -> None:
        self.readiness = Readiness()
        self.readiness.set(State.PROMPT)
        self.clock = OutputClock()
        self.events: list[dict[str, Any]] = []
        self.nudges: list[float] = []
        self.nudge_ok = nudge_ok
        self.sitter = Babysitter(
            WatchConfig(stall_after_s, max_resumes),
            state=lambda: self.readiness.state,
            quiet_for=lambda: self.clock.quiet_for,
            nudge=self._nudge,
            emit=self._emit,
        )

    def _nudge(self) -> bool:
        self.nudges.append(time.monotonic())
        self.clock.tick()  # the agent reacts to a nudge by printing
        return self.nudge_ok

    def _emit(self, event_type: str, **payload: Any) -> None:
        self.events.append({"type": event_type, **payload})

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def __enter__(self) -> Stand:
        self.sitter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sitter.stop("test over")
        self.sitter.join(5)


def test_nudges_up_to_the_cap_then_escalates() -> None:
    with Stand(0.3, 2) as stand:
        started = time.monotonic()
        wait_for(lambda: not stand.sitter.active, timeout=15)
        assert stand.types() == ["stall", "resume", "stall", "resume", "stall", "watch_stop"]
        assert [e["n"] for e in stand.events if e["type"] == "resume"] == [1, 2]
        assert stand.events[-1]["reason"] == "escalated" and stand.events[-1]["resumes"] == 2
        assert all(e["idle_s"] >= 0.3 for e in stand.events if e["type"] == "stall")
        # Each stall needs a full quiet window after the previous nudge.
        assert stand.nudges[0] - started >= 0.3 and stand.nudges[1] - stand.nudges[0] >= 0.3
        assert len(stand.nudges) == 2


def test_observe_only_never_nudges() -> None:
    with Stand(0.2, 0) as stand:
        wait_for(lambda: not stand.sitter.active, timeout=15)
        assert stand.types() == ["stall", "watch_stop"] and stand.nudges == []
        assert stand.sitter.stop_reason == "escalated"


def test_output_keeps_it_from_nudging() -> None:
    # A window far longer than the gaps between outputs, so a busy machine's late wake-up
    # does not open a quiet window by itself.
    with Stand(1.0, 1) as stand:
        for _ in range(40):  # two seconds of steady output
            stand.clock.tick()
            time.sleep(0.05)
        assert stand.events == []
        quiet_from = time.monotonic()
        wait_for(lambda: stand.nudges, timeout=15)
        assert stand.nudges[0] - quiet_from >= 0.9
        assert stand.types() == ["stall", "resume"]


def test_a_dialog_is_never_nudged() -> None:
    with Stand(0.2, 1) as stand:
        stand.readiness.set(State.CONFIRMATION)
        time.sleep(1.3)  # quiet far longer than the window, but a person is being asked
        assert stand.events == [] and stand.nudges == []
        answered = time.monotonic()
        stand.readiness.set(State.PROMPT)
        wait_for(lambda: stand.nudges, timeout=15)
        # The window counts from when the dialog was last seen, not from the last output.
        assert stand.nudges[0] - answered >= 0.0
        assert stand.types() == ["stall", "resume"]


def test_exit_stops_watching_once() -> None:
    # The sidecar says so when the session ends...
    with Stand(30, 1) as stand:
        assert stand.sitter.stop("exited") is True
        assert stand.sitter.stop("exited") is False
        assert stand.events == [{"type": "watch_stop", "reason": "exited", "resumes": 0}]
        stand.sitter.join(2)
    # ...and a babysitter that wakes to find the session gone stops on its own, no stall.
    with Stand(0.3, 1) as stand:
        stand.readiness.set(State.EXITED)
        wait_for(lambda: not stand.sitter.active, timeout=15)
        assert stand.events == [{"type": "watch_stop", "reason": "exited", "resumes": 0}]


def test_a_failed_nudge_still_counts() -> None:
    with Stand(0.2, 1, nudge_ok=False) as stand:
        wait_for(lambda: not stand.sitter.active, timeout=15)
        assert stand.types() == ["stall", "resume", "stall", "watch_stop"]


def test_watch_config_from_record() -> None:
    assert WatchConfig.from_record(None) is None
    assert WatchConfig.from_record({"file": "/x"}) is None
    config = WatchConfig.from_record({"preset": "plan", "stall_after_s": 180, "max_resumes": 2})
    assert config == WatchConfig(180.0, 2, "plan")


# --- the file hook, in-process ----------------------------------------------------------------


def test_file_hook_debounces_a_burst(tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    fired: list[tuple[float, Path]] = []
    hook = FileHook(target, lambda p: fired.append((time.monotonic(), p)))
    hook.start()
    try:
        time.sleep(0.3)  # let the watcher settle
        (tmp_path / "other.md").write_text("not watched")
        for i in range(10):
            target.write_text(f"write {i}\n")
            time.sleep(0.1)
        last_write = time.monotonic()
        wait_for(lambda: fired, timeout=15)
        time.sleep(1.5)
        assert len(fired) == 1 and fired[0][1] == target
        assert fired[0][0] - last_write >= 0.8  # a trailing debounce of about 1 s
        target.write_text("later\n")
        wait_for(lambda: len(fired) == 2, timeout=15)
    finally:
        hook.stop()
        hook.join(5)


# --- the run options --------------------------------------------------------------------------


def test_legacy_watch_path_spelling() -> None:
    assert rewrite_legacy_watch(["claude", "--watch", "--preset", "impl"]) == [
        "claude",
        "--watch",
        "--preset",
        "impl",
    ]
    assert rewrite_legacy_watch(["claude", "--watch", "./notes.md"]) == [
        "claude",
        "--watch-file",
        "./notes.md",
    ]
    assert rewrite_legacy_watch(["--watch", "tmp/tick.jsonl", "codex"])[:2] == [
        "--watch-file",
        "tmp/tick.jsonl",
    ]
    assert rewrite_legacy_watch(["--watch", "claude"]) == ["--watch", "claude"]
    assert rewrite_legacy_watch(["--watch", PYTHON]) == ["--watch", PYTHON]
    assert rewrite_legacy_watch(["--watch=notes.md", "claude"]) == [
        "--watch-file",
        "notes.md",
        "claude",
    ]
    after = ["claude", "--", "--watch", "./x.md"]
    assert rewrite_legacy_watch(after) == after


def test_build_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert build_watch(False, None, None, None, None) is None
    assert build_watch(True, None, None, None, None) == {
        "preset": "impl",
        "stall_after_s": 480.0,
        "max_resumes": 1,
    }
    assert build_watch(True, "gate", 5.0, None, None) == {
        "preset": "gate",
        "stall_after_s": 5.0,
        "max_resumes": 0,
    }
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    # As 0.4.0: relative to the repo root (not the current folder), named as given.
    assert build_watch(False, None, None, None, "n.md") == {
        "file": str(repo / "n.md"),
        "file_shown": "n.md",
    }
    # Its folder is created.
    assert build_watch(False, None, None, None, "tmp/deep/tick.jsonl")["file"] == str(
        repo / "tmp" / "deep" / "tick.jsonl"
    )
    assert (repo / "tmp" / "deep").is_dir()
    with pytest.raises(UsageError, match="is a folder"):
        build_watch(False, None, None, None, "sub")
    with pytest.raises(UsageError, match="needs --watch"):
        build_watch(False, "plan", None, None, None)
    # 0.4.0 ignored the limits without --watch; scripts pass them anyway.
    assert build_watch(False, None, 60.0, 2, None) is None


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--watch", "--preset", "nope"], "unknown preset 'nope'; valid presets: gate, impl, plan"),
        (["--watch", "--stall-after", "-5s"], "must not be negative"),
        (["--watch", "--stall-after", "soon"], "invalid duration"),
        (["--watch", "--stall-after", "0"], "more than zero"),
        (["--watch", "--max-resumes", "-1"], "--max-resumes"),
        (["--preset", "impl"], "needs --watch"),
    ],
)
def test_bad_watch_options_are_usage_errors(harnex: Harnex, args: list[str], problem: str) -> None:
    result = harnex.run("run", "--id", "bad", "--detach", *args, PYTHON, "--", "-c", "pass")
    assert result.returncode == 2, result.stderr
    assert problem in result.stderr
    assert not harnex.registry()


def test_limits_without_watch_are_accepted_and_ignored(harnex: Harnex) -> None:
    args = ("--stall-after", "5m", "--max-resumes", "2")
    info = harnex.start("calm", *args, command=["sh", "-c", "sleep 60"])
    assert info["ok"] is True
    (record,) = harnex.registry()
    assert record["watch"] is None


def test_a_broken_user_preset_file_is_one_clear_line(harnex: Harnex, tmp_path: Path) -> None:
    folder = tmp_path / "cfg" / "harnex" / "presets"
    folder.mkdir(parents=True)
    (folder / "impl.toml").write_text("max_resumes = [\n")
    env = dict(harnex.env, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    result = harnex.run("run", "--id", "bad", "--detach", "--watch", PYTHON, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"harnex: preset file {folder / 'impl.toml'}: not valid TOML")
    assert result.stderr.count("\n") == 1


# --- the real thing: the demo agent with a 2 s stall window -----------------------------------


def _events(info: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(info["events_log_path"])
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _types(info: dict[str, Any], *wanted: str) -> list[str]:
    return [e["type"] for e in _events(info) if e["type"] in wanted]


WATCH_TYPES = ("stall", "resume", "send", "delivered", "watch_stop")


def test_stalled_agent_is_nudged_then_escalated(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "received.jsonl"
    info = harnex.start_demo(
        "nudge", "--watch", "--stall-after", "2s", "--max-resumes", "1", record=record
    )
    (entry,) = harnex.registry()
    assert entry["watch"] == {"preset": "impl", "stall_after_s": 2.0, "max_resumes": 1}
    wait_for(lambda: "watch_stop" in _types(info, "watch_stop"), timeout=20, interval=0.2)
    assert recorded(record) == ["resume"]
    assert _types(info, *WATCH_TYPES) == [
        "stall",
        "resume",
        "send",
        "delivered",
        "stall",
        "watch_stop",
    ]
    events = _events(info)
    send = next(e for e in events if e["type"] == "send")
    assert send["msg"] == "resume" and send["forced"] is True
    stop = next(e for e in events if e["type"] == "watch_stop")
    assert stop["reason"] == "escalated" and stop["resumes"] == 1
    # It stopped watching: no more stalls however long the agent stays quiet.
    time.sleep(2.5)
    assert _types(info, "stall") == ["stall", "stall"] and recorded(record) == ["resume"]


def test_recovered_sidecar_keeps_the_nudge_count(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "received.jsonl"
    info = harnex.start_demo(
        "again", "--watch", "--stall-after", "2s", "--max-resumes", "2", record=record
    )
    wait_for(lambda: recorded(record) == ["resume"], timeout=20, interval=0.2)
    (entry,) = harnex.registry()
    assert entry["watch_resumes"] == 1
    os.kill(entry["sidecar_pid"], 9)
    harnex.json("recover", "--id", "again")
    wait_for(lambda: "watch_stop" in _types(info, "watch_stop"), timeout=30, interval=0.2)
    assert recorded(record) == ["resume", "resume"]
    assert [e["n"] for e in _events(info) if e["type"] == "resume"] == [1, 2]
    stop = next(e for e in _events(info) if e["type"] == "watch_stop")
    assert stop["reason"] == "escalated" and stop["resumes"] == 2
    (entry,) = harnex.registry()
    assert entry["watch_escalated"] is True


def test_busy_agent_is_not_nudged(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "received.jsonl"
    info = harnex.start_demo(
        "busy",
        "--watch",
        "--stall-after",
        "2s",
        "--context",
        "/sleep 4",
        record=record,
    )
    wait_for(lambda: len(recorded(record)) == 2, timeout=25, interval=0.2)
    assert recorded(record) == ["[harnex session id=busy] /sleep 4", "resume"]
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    # Four seconds of spinner output, then a full quiet window before the nudge.
    assert lines[1]["ts"] - lines[0]["ts"] >= 4 + 2 - 0.3
    assert _types(info, "stall", "resume") == ["stall", "resume"]


def test_watch_file_queues_one_hook_message(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "received.jsonl"
    notes = harnex.repo / "notes.md"
    # The 0.4.0 spelling: --watch PATH.
    info = harnex.start_demo("hooked", "--watch", "./notes.md", record=record)
    (entry,) = harnex.registry()
    assert entry["watch"] == {"file": str(notes), "file_shown": "./notes.md"}
    harnex.run("wait", "--id", "hooked", "--until", "prompt", "--timeout", "10", check=True)
    time.sleep(0.3)
    for i in range(10):
        notes.write_text(f"tick {i}\n")
        time.sleep(0.1)
    wait_for(lambda: recorded(record), timeout=10, interval=0.1)
    time.sleep(1.5)
    assert recorded(record) == ["file-change-hook: read ./notes.md"]  # as given, like 0.4.0
    changes = [e for e in _events(info) if e["type"] == "file_change"]
    assert len(changes) == 1 and changes[0]["path"] == str(notes)
    assert "watch_stop" not in _types(info, "watch_stop")  # no babysitter without --watch


def test_hook_message_waits_while_the_agent_is_busy(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "received.jsonl"
    notes = tmp_path / "tick.jsonl"
    harnex.start_demo("queued", "--watch-file", str(notes), record=record)
    harnex.run("wait", "--id", "queued", "--until", "prompt", "--timeout", "10", check=True)
    harnex.run("send", "--id", "queued", "--message", "/sleep 3", check=True)
    notes.write_text("{}\n")
    sent = time.time()
    wait_for(lambda: len(recorded(record)) == 2, timeout=15, interval=0.1)
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert [x["text"] for x in lines] == ["/sleep 3", f"file-change-hook: read {notes}"]
    assert lines[1]["ts"] - lines[0]["ts"] >= 3 - 0.2 and lines[1]["ts"] >= sent


def test_status_idle_comes_from_the_transcript(harnex: Harnex) -> None:
    info = harnex.start_demo("idle")
    assert harnex.registry()[0]["watch"] is None  # no babysitter unless asked for
    harnex.run("wait", "--id", "idle", "--until", "prompt", "--timeout", "10", check=True)
    time.sleep(2.2)
    (row,) = harnex.json("status", "--json")
    mtime = Path(info["output_log_path"]).stat().st_mtime
    # ISO-8601 to the second, as 0.4.0 reported it.
    assert datetime.fromisoformat(row["log_mtime"]).timestamp() == int(mtime)
    assert 2 <= row["log_idle_s"] < 30
    table = harnex.run("status", check=True).stdout.splitlines()
    header, line = table[0].split(), table[2].split()
    assert line[header.index("IDLE")] in {"2s", "3s", "4s", "5s"}
    harnex.run("send", "--id", "idle", "--message", "wake up", check=True)
    (row,) = harnex.json("status", "--json")
    assert row["log_idle_s"] < 2


def test_watch_stop_on_exit_comes_before_exited(harnex: Harnex) -> None:
    info = harnex.start_demo("ends", "--watch", "--preset", "gate")
    harnex.run("wait", "--id", "ends", "--until", "prompt", "--timeout", "10", check=True)
    harnex.run("stop", "--id", "ends", check=True)
    wait_for(lambda: "exited" in _types(info, "exited"), timeout=10)
    tail = _events(info)[-3:]
    assert [e["type"] for e in tail] == ["watch_stop", "state", "exited"]
    assert tail[0]["reason"] == "exited" and tail[1]["to"] == "exited"


def test_babysitter_does_not_spin(harnex: Harnex) -> None:
    """While the agent works and waits the sidecar stays near idle (no busy loop)."""
    info = harnex.start_demo("calm", "--watch", "--stall-after", "1h")
    harnex.run("wait", "--id", "calm", "--until", "prompt", "--timeout", "10", check=True)
    pid = info["sidecar_pid"]

    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    before = cpu()
    time.sleep(2)
    assert cpu() - before < 0.3


def test_foreground_watch_exits_2_when_it_gives_up(harnex: Harnex) -> None:
    """As 0.4.0's watch mode: a foreground ``run --watch`` returns 2 on escalation, so a
    script can call for help, and the agent keeps running."""
    result = harnex.run(
        "run",
        "--id",
        "fg",
        "--watch",
        "--stall-after",
        "1s",
        "--max-resumes",
        "0",
        PYTHON,
        "--",
        "-m",
        "harnex_tmux.demo_agent",
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert "watch gave up" in result.stderr
    (entry,) = harnex.json("status", "--id", "fg", "--json")
    assert entry["watch_escalated"] is True and entry["state"] != "exited"
