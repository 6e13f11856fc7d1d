"""Messages under load and under failure: each arrives exactly once, in its sender's order."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

from conftest import Figures, Harnex, recorded, wait_for

from tests.procs import gone

SENDERS = 10
PER_SENDER = 20


def test_concurrent_senders_each_message_once_in_order(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    record = tmp_path / "rec.jsonl"
    harnex.start_demo("load", record=record, busy=0, env={"HARNEX_GENERIC_QUIET": "0.08"})
    harnex.run("wait", "--id", "load", "--until", "prompt", "--timeout", "30", check=True)
    client = harnex.sidecar("load")
    problems: list[str] = []

    def sender(n: int) -> None:
        for i in range(PER_SENDER):
            body = {"text": f"s{n} m{i:02d}", "wait": 30}
            answer = client.request("POST", "/send", body, timeout=60)
            if answer.body.get("status") != "delivered":
                problems.append(f"{n}/{i}: {answer.status} {answer.body}")

    started = time.monotonic()
    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = SENDERS * PER_SENDER
    wait_for(lambda: len(recorded(record)) >= total, timeout=180, interval=0.2)
    elapsed = time.monotonic() - started
    got = recorded(record)
    assert problems == []
    assert len(got) == total and len(set(got)) == total
    for n in range(SENDERS):
        assert [t for t in got if t.startswith(f"s{n} ")] == [
            f"s{n} m{i:02d}" for i in range(PER_SENDER)
        ]
    figures.record("messages sent", total)
    figures.record("recorded exactly once", len(set(got)))
    figures.record("out of sender order", 0)
    figures.record("all delivered in", round(elapsed, 2), "s")
    figures.record("throughput", round(total / elapsed, 1), "messages/s")


def test_a_message_to_an_idle_agent_goes_at_once(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    """An agent idle for seconds prints nothing: delivery must not wait for output (nor for
    the 5 s safety-net re-check)."""
    record = tmp_path / "rec.jsonl"
    harnex.start_demo("idle", record=record)
    harnex.run("wait", "--id", "idle", "--until", "prompt", "--timeout", "30", check=True)
    time.sleep(3)
    started = time.monotonic()
    answer = harnex.sidecar("idle").request("POST", "/send", {"text": "wake up", "wait": 4})
    took = time.monotonic() - started
    assert answer.body["status"] == "delivered", answer.body
    assert recorded(record) == ["wake up"]
    figures.record("idle before the message", 3.0, "s")
    figures.record("send to delivered", round(took * 1000), "ms")


def test_sidecar_killed_with_five_queued_then_recovered(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    record = tmp_path / "rec.jsonl"
    info = harnex.start_demo("crash", record=record)
    harnex.run("wait", "--id", "crash", "--until", "prompt", "--timeout", "30", check=True)
    harnex.json("send", "--id", "crash", "--message", "/sleep 4")
    harnex.run("wait", "--id", "crash", "--until", "busy", "--timeout", "10", check=True)
    queued = [f"queued {i}" for i in range(5)]
    for text in queued:
        answer = harnex.json("send", "--id", "crash", "--no-wait", "--message", text)
        assert answer["status"] == "queued"
    os.kill(info["sidecar_pid"], signal.SIGKILL)
    wait_for(lambda: gone(info["sidecar_pid"]), timeout=10)
    started = time.monotonic()
    harnex.json("recover", "--id", "crash")
    wait_for(lambda: len(recorded(record)) >= 6, timeout=60, interval=0.2)
    elapsed = time.monotonic() - started
    harnex.run("wait", "--id", "crash", "--until", "prompt", "--timeout", "30", check=True)
    time.sleep(0.5)
    assert recorded(record) == ["/sleep 4", *queued]
    figures.record("queued when the sidecar was killed", len(queued))
    figures.record("delivered after recover, in order, once", len(recorded(record)) - 1)
    figures.record("recover to last delivery", round(elapsed, 2), "s")


def test_window_killed_by_hand_is_recorded_as_exited(harnex: Harnex, figures: Figures) -> None:
    info = harnex.start_demo("window")
    harnex.run("wait", "--id", "window", "--until", "prompt", "--timeout", "30", check=True)
    started = time.monotonic()
    harnex.tmux("kill-window", "-t", info["window_id"])
    wait_for(lambda: any((harnex.state_dir / "exits").glob("*window.json")), timeout=15)
    recorded_after = time.monotonic() - started
    wait_for(lambda: gone(info["sidecar_pid"]), timeout=15)
    events = Path(info["events_log_path"]).read_text()
    assert '"type": "exited"' in events
    figures.record("window killed to exit recorded", round(recorded_after, 2), "s")
    figures.record("sidecars left behind", 0)


def test_tmux_server_killed_with_three_sessions(harnex: Harnex, figures: Figures) -> None:
    infos = [harnex.start_demo(f"srv{n}") for n in range(3)]
    for info in infos:
        harnex.run("wait", "--id", info["id"], "--until", "prompt", "--timeout", "30", check=True)
    started = time.monotonic()
    harnex.tmux("kill-server")

    def all_recorded() -> bool:
        exits = harnex.state_dir / "exits"
        return all(any(exits.glob(f"*{i['id']}.json")) for i in infos)

    wait_for(all_recorded, timeout=20)
    recorded_after = time.monotonic() - started
    wait_for(lambda: all(gone(i["sidecar_pid"]) for i in infos), timeout=20)
    left = [i["sidecar_pid"] for i in infos if not gone(i["sidecar_pid"])]
    assert left == []
    for info in infos:
        events = [
            json.loads(line) for line in Path(info["events_log_path"]).read_text().splitlines()
        ]
        assert any(e["type"] == "exited" for e in events), info["id"]
    figures.record("sessions on the killed server", len(infos))
    figures.record("exits recorded", len(infos))
    figures.record("server killed to all exits recorded", round(recorded_after, 2), "s")
    figures.record("sidecars left behind", len(left))


def test_an_interrupted_send_is_withdrawn_never_typed(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    """``harnex send`` gets SIGTERM while its message waits for a busy agent: it takes the
    message back before it ends (exit 130, the line says so), and the agent, back at its
    prompt, never types it."""

    record = tmp_path / "received.jsonl"
    harnex.start_demo("intr", record=record)
    harnex.run("wait", "--id", "intr", "--until", "prompt", "--timeout", "30", check=True)
    harnex.run("send", "--id", "intr", "--message", "/sleep 6", check=True)
    harnex.run("wait", "--id", "intr", "--until", "busy", "--timeout", "30", check=True)
    send = harnex.popen("send", "--id", "intr", "--message", "never")
    try:
        wait_for(lambda: harnex.json("status", "--id", "intr", "--json")[0]["inbox"] == 1)
        send.terminate()
        _, err = send.communicate(timeout=60)
    finally:
        if send.poll() is None:
            send.kill()
            send.wait(30)
    assert send.returncode == 130 and "withdrawn, never typed" in err, err
    harnex.run("wait", "--id", "intr", "--until", "prompt", "--timeout", "30", check=True)
    time.sleep(1.0)  # room for a queued copy to be typed, were there one
    assert recorded(record) == ["/sleep 6"]
    figures.record(
        "local sends ended by SIGTERM while queued, typed later", len(recorded(record)) - 1
    )
