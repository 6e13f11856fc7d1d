"""The state directory on a real 300 KiB file system, filled by queued messages.

What must hold: a message that does not fit is refused (507, one line), the ones before it
are kept whole; delivery goes on, each claim and outcome recorded; a sidecar killed and
recovered on that full disk types nothing twice; and once there is room, new messages go.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Figures, Harnex, recorded, wait_for
from small_disk import mounted_tmpfs

from harnex_tmux.session.client import SidecarClient
from harnex_tmux.state import SessionRecord
from tests.procs import gone

SIZE_KIB = 300
MESSAGE_BYTES = 36_000


@pytest.fixture
def small_state(tmp_path: Path) -> Iterator[Path]:
    """The harnex fixture's state directory, as a small tmpfs (requested before ``harnex``,
    so it is unmounted after the sessions were ended)."""
    with mounted_tmpfs(tmp_path / "state", SIZE_KIB) as folder:
        yield folder


def test_full_state_dir_refuses_new_messages_and_repeats_none_after_recover(
    small_state: Path, harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    record = tmp_path / "rec.jsonl"
    info = harnex.start_demo("disk", record=record, busy=1.5)
    harnex.run("wait", "--id", "disk", "--until", "prompt", "--timeout", "30", check=True)
    harnex.json("send", "--id", "disk", "--message", "/sleep 3")
    harnex.run("wait", "--id", "disk", "--until", "busy", "--timeout", "10", check=True)

    texts: list[str] = []
    ids: list[str] = []
    refused = None
    for n in range(20):
        text = f"big {n} " + "x" * MESSAGE_BYTES
        result = harnex.run("send", "--id", "disk", "--no-wait", "--message", text)
        if result.returncode != 0:
            refused = result
            break
        answer = json.loads(result.stdout)
        assert answer["status"] == "queued"
        texts.append(text)
        ids.append(answer["message_id"])
    assert refused is not None, "the disk never filled"
    assert refused.stderr == f"harnex: the state directory is full: {small_state}\n"
    client = SidecarClient.for_record(SessionRecord.from_dict(harnex.registry()[0]), 5.0)
    refusal = client.request("POST", "/send", {"text": "one more " + "y" * MESSAGE_BYTES})
    assert refusal.status == 507 and refusal.body["error"] == refused.stderr[8:-1]
    (row,) = harnex.json("status", "--json")
    assert row["state_dir_problem"] == f"the state directory is full: {small_state}"
    table = harnex.run("status")
    assert table.stderr == (
        f"harnex: the state directory is full: {small_state}; "
        "new messages are refused until there is room\n"
    )
    doctor = harnex.run("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["state-dir/space"]["status"] == "fail"
    assert "the state directory is full" in checks["state-dir/space"]["detail"]
    # What was queued before is whole: a fresh read of the journal finds every one.
    from harnex_tmux.sidecar.journal import Journal

    journal = next((small_state / "inbox").glob("*.jsonl"))
    queued = [r["text"] for r in Journal(journal).read() if r.get("op") == "queued"]
    assert queued[-len(texts) :] == texts

    # Nothing freed: the first queued messages are delivered, then the sidecar is killed
    # while the agent works on one, and recovered on the same full disk.
    wait_for(lambda: len(recorded(record)) >= 3, timeout=60, interval=0.1)
    os.kill(info["sidecar_pid"], signal.SIGKILL)
    wait_for(lambda: gone(info["sidecar_pid"]), timeout=10)
    # The one message the sidecar may have been typing when it died: claimed, no outcome.
    in_flight: set[str] = set()
    for entry in Journal(journal).read():
        if entry.get("op") == "claimed":
            in_flight.add(entry["id"])
        elif entry.get("op") in ("released", "finished"):
            in_flight.discard(entry["id"])
    delivered_before = len(recorded(record)) - 1
    started = time.monotonic()
    harnex.json("recover", "--id", "disk")
    wait_for(lambda: len(recorded(record)) >= len(texts) + 1, timeout=120, interval=0.2)
    elapsed = time.monotonic() - started
    harnex.run("wait", "--id", "disk", "--until", "prompt", "--timeout", "60", check=True)
    time.sleep(1.0)
    got = recorded(record)
    assert got == ["/sleep 3", *texts], [t[:12] for t in got]

    # Once every message has an outcome the journal is compacted: there is room again.
    wait_for(lambda: harnex.json("status", "--json")[0]["inbox"] == 0, timeout=30, interval=0.3)
    client = SidecarClient.for_record(SessionRecord.from_dict(harnex.registry()[0]), 5.0)
    outcomes = [client.request("GET", f"/messages/{i}").body["status"] for i in ids]
    # The transcript cannot grow on the full disk, so the screen tells that each submit
    # took: every message is `delivered`, but one the killed sidecar was typing (claimed
    # on disk, no outcome): that one is honestly `unconfirmed`.
    expected = ["unconfirmed" if i in in_flight else "delivered" for i in ids]
    assert outcomes == expected
    # The transcript pipe, ended by the full disk, is attached again by the sidecar.
    pane = info["pane_id"]
    wait_for(lambda: harnex.tmux("display", "-p", "-t", pane, "#{pane_pipe}").stdout == "1\n")
    after = harnex.json("send", "--id", "disk", "--message", "room again")
    assert after["status"] == "delivered"
    assert recorded(record)[-1] == "room again"
    (row,) = harnex.json("status", "--json")
    assert "state_dir_problem" not in row
    figures.record("file system", SIZE_KIB, "KiB")
    figures.record("queued before the refusal", len(texts))
    figures.record("message size", MESSAGE_BYTES, "bytes")
    figures.record("answer to the refused message", "507, one line")
    figures.record("delivered before the kill", delivered_before)
    figures.record("typed twice after recover", len(got) - len(set(got)))
    figures.record("lost", len(texts) + 1 - len(set(got)))
    figures.record("recover to last delivery", round(elapsed, 2), "s")
    shown = outcomes.count("delivered")
    figures.record("recorded delivered (the screen showed the submit take)", shown)
    figures.record("recorded unconfirmed (being typed when the sidecar was killed)", len(in_flight))
    figures.note(
        "The tmpfs holds the whole state directory, so the transcript (`output/`) cannot grow "
        "either: tmux's pipe into it ends. While the file system is full the sidecar watches "
        "the agent's screen instead (a capture every 50 ms, compared with the last), so a "
        "submit that took is still seen and recorded `delivered`; once there is room the "
        "pipe is attached again at once."
    )
