"""The events log and ``harnex events``: envelope, order, snapshot, --from, follow, errors."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Harnex, wait_for

from harnex_tmux.errors import EventsUnreadable
from harnex_tmux.events import EventLog, start_new_log
from harnex_tmux.session.events import EventSource, parse_since, read_events
from harnex_tmux.state import ExitRecord, SessionPaths, repo_root_for

ENVELOPE = ["schema_version", "seq", "ts", "id", "type"]


def _lines(path: Path | str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in Path(path).read_text().splitlines()]


def _ended_session(harnex: Harnex, ident: str, events: list[dict[str, Any]]) -> Path:
    """An ended session's files as a sidecar leaves them: the events log and the exit record."""
    paths = SessionPaths.for_session(repo_root_for(harnex.repo), ident, root=harnex.state_dir)
    paths.create_dirs()
    paths.events_log.write_text("".join(json.dumps(e) + "\n" for e in events))
    ended = ExitRecord(id=ident, code=0, signal=None, ended_at="2025-01-01T00:00:09Z")
    ended.extra["cli"] = "codex"
    ended.save(paths.exit_record)
    return paths.events_log


def _event(seq: int, ts: str, event_type: str, **payload: Any) -> dict[str, Any]:
    return {"schema_version": 1, "seq": seq, "ts": ts, "id": "old", "type": event_type, **payload}


OLD = [
    _event(1, "2025-01-01T00:00:01Z", "started", pid=10),
    _event(2, "2025-01-01T00:00:02Z", "state", **{"from": "unknown", "to": "prompt"}),
    _event(3, "2025-01-01T00:00:03Z", "send", msg="hi", msg_truncated=False, forced=False),
    _event(4, "2025-01-01T00:00:04Z", "exited", code=0),
]


# --- the log itself ---------------------------------------------------------------------------


def test_envelope_and_order_of_a_real_session(harnex: Harnex) -> None:
    info = harnex.start_demo("env", "--watch", "--stall-after", "1h")
    harnex.run("wait", "--id", "env", "--until", "prompt", "--timeout", "10", check=True)
    sent = harnex.json("send", "--id", "env", "--message", "x" * 250)
    harnex.run("stop", "--id", "env", check=True)
    wait_for(lambda: _lines(info["events_log_path"])[-1]["type"] == "exited", timeout=10)
    events = _lines(info["events_log_path"])
    for event in events:
        assert list(event)[:5] == ENVELOPE
        assert event["schema_version"] == 1 and event["id"] == "env"
        assert time.strptime(event["ts"], "%Y-%m-%dT%H:%M:%SZ")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    types = [e["type"] for e in events]
    assert types[0] == "started" and events[0]["pid"] == info["pid"]
    assert types[-3:] == ["watch_stop", "state", "exited"]
    assert types.index("send") < types.index("delivered")
    send = events[types.index("send")]
    assert send["msg"] == "x" * 200 + "…" and send["msg_truncated"] is True
    assert events[types.index("delivered")]["message_id"] == sent["message_id"]
    states = [(e["from"], e["to"]) for e in events if e["type"] == "state"]
    assert states[-1][1] == "exited" and ("busy", "prompt") in states
    assert all(a[1] == b[0] for a, b in itertools.pairwise(states))


def test_a_new_run_with_the_same_id_starts_a_new_log(harnex: Harnex) -> None:
    first = harnex.start_demo("again")
    harnex.run("stop", "--id", "again", check=True)
    wait_for(lambda: not harnex.registry())
    old = Path(first["events_log_path"]).read_text()
    second = harnex.start_demo("again")
    assert second["events_log_path"] == first["events_log_path"]
    assert _lines(second["events_log_path"])[0]["seq"] == 1
    assert (
        Path(first["events_log_path"])
        .with_name(Path(first["events_log_path"]).stem + ".prev.jsonl")
        .read_text()
        == old
    )


def test_payload_never_overwrites_the_envelope(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "e.jsonl", "me")
    log.emit("custom", id="someone-else", type="other", seq=99, note="kept")
    (event,) = _lines(tmp_path / "e.jsonl")
    assert (event["id"], event["type"], event["seq"], event["note"]) == ("me", "custom", 1, "kept")


def test_an_unwritable_log_does_not_raise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "e.jsonl").mkdir()
    log = EventLog(tmp_path / "e.jsonl", "me")
    assert log.emit("one")["seq"] == 1 and log.emit("two")["seq"] == 2
    assert capsys.readouterr().err.count("cannot write events log") == 1


def test_start_new_log_keeps_the_previous_run(tmp_path: Path) -> None:
    path = tmp_path / "k.jsonl"
    start_new_log(path)  # nothing to keep: no error
    EventLog(path, "k").emit("started")
    start_new_log(path)
    assert not path.exists() and (tmp_path / "k.prev.jsonl").exists()
    assert EventLog(path, "k").emit("started")["seq"] == 1


# --- reading ----------------------------------------------------------------------------------


def test_snapshot_prints_the_file_as_it_is(harnex: Harnex) -> None:
    info = harnex.start_demo("snap")
    harnex.run("wait", "--id", "snap", "--until", "prompt", "--timeout", "10", check=True)
    start = time.monotonic()
    for flag in ("--snapshot", "--no-follow"):
        result = harnex.run("events", "--id", "snap", flag, check=True)
        stored = Path(info["events_log_path"]).read_text()
        assert result.stdout == stored and stored.startswith('{"schema_version": 1, "seq": 1,')
    assert time.monotonic() - start < 10


def test_ended_session_from_and_cli_filter(harnex: Harnex) -> None:
    _ended_session(harnex, "old", OLD)
    everything = harnex.run("events", "--id", "old", timeout=10, check=True).stdout
    assert [json.loads(x)["seq"] for x in everything.splitlines()] == [1, 2, 3, 4]
    later = harnex.run("events", "--id", "old", "--from", "2025-01-01T00:00:03Z", check=True)
    assert [json.loads(x)["type"] for x in later.stdout.splitlines()] == ["send", "exited"]
    naive = harnex.run("events", "--id", "old", "--from", "2025-01-01T00:00:04", check=True)
    assert [json.loads(x)["type"] for x in naive.stdout.splitlines()] == ["exited"]
    offset = harnex.run("events", "--id", "old", "--from", "2025-01-01T01:00:02+01:00", check=True)
    assert len(offset.stdout.splitlines()) == 3
    assert harnex.run("events", "--id", "old", "--from", "2030-01-01", check=True).stdout == ""
    assert len(harnex.run("events", "--id", "old", "--cli", "codex", check=True).stdout) > 0
    wrong_cli = harnex.run("events", "--id", "old", "--cli", "claude")
    assert wrong_cli.returncode == 1 and "no session 'old'" in wrong_cli.stderr
    other_repo = harnex.run("events", "--id", "old", "--snapshot", cwd=harnex.state_dir)
    assert other_repo.returncode == 0 and len(other_repo.stdout.splitlines()) == 4


def test_follow_ends_at_exited(harnex: Harnex) -> None:
    info = harnex.start_demo("fol")
    harnex.run("wait", "--id", "fol", "--until", "prompt", "--timeout", "10", check=True)
    follower = harnex.popen("events", "--id", "fol")
    try:
        time.sleep(1.0)
        assert follower.poll() is None  # still following a live session
        harnex.run("send", "--id", "fol", "--message", "while you watch", check=True)
        harnex.run("stop", "--id", "fol", check=True)
        out, err = follower.communicate(timeout=10)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    assert follower.returncode == 0, err
    printed = [json.loads(x) for x in out.splitlines()]
    assert printed[-1]["type"] == "exited"
    assert any(e["type"] == "send" and e["msg"] == "while you watch" for e in printed)
    assert out == Path(info["events_log_path"]).read_text()


def test_read_events_library(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in OLD) + '{"partial": ')
    source = EventSource("old", path, tmp_path / "gone.json", live=False)
    assert [e.type for e in read_events(source)] == ["started", "state", "send", "exited"]
    since = parse_since("2025-01-01T00:00:02Z")
    assert [e.data["seq"] for e in read_events(source, since, follow=False)] == [2, 3, 4]


# --- errors -----------------------------------------------------------------------------------


def test_unknown_id_and_bad_from(harnex: Harnex) -> None:
    result = harnex.run("events", "--id", "ghost")
    assert result.returncode == 1
    assert result.stderr.startswith("harnex: no session 'ghost'") and result.stderr.count("\n") == 1
    _ended_session(harnex, "old", OLD)
    bad = harnex.run("events", "--id", "old", "--from", "yesterday")
    assert bad.returncode == 2 and "ISO-8601" in bad.stderr


def test_invalid_or_unreadable_file_is_one_line(harnex: Harnex) -> None:
    path = _ended_session(harnex, "old", OLD)
    path.write_text(json.dumps(OLD[0]) + "\nnot json at all\n" + json.dumps(OLD[3]) + "\n")
    result = harnex.run("events", "--id", "old")
    assert result.returncode == 1
    assert result.stderr == f"harnex: events file {path}: line 2 is not a JSON event\n"
    assert result.stdout == json.dumps(OLD[0]) + "\n"  # what came before is still printed
    path.write_bytes(b"\xff\xfe binary \x00\n")
    assert "line 1 is not a JSON event" in harnex.run("events", "--id", "old").stderr
    path.write_text(json.dumps({**OLD[0], "ts": "noon"}) + "\n")
    result = harnex.run("events", "--id", "old", "--from", "2025-01-01")
    assert result.returncode == 1 and "has no valid ts" in result.stderr
    path.unlink()
    path.mkdir()
    result = harnex.run("events", "--id", "old")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr == f"harnex: cannot read events file {path}: it is a folder\n"
    path.rmdir()
    result = harnex.run("events", "--id", "old")
    assert result.returncode == 1 and result.stderr == f"harnex: no events file at {path}\n"


def test_read_errors_raise_events_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("[1, 2]\n")
    source = EventSource("x", path, tmp_path / "r.json", live=False)
    with pytest.raises(EventsUnreadable, match="line 1 is not a JSON event"):
        list(read_events(source))
