"""The dispatch loop end to end, with scripted programs standing in for agents.

A lead session A runs ``harnex run`` from inside its own pane for a worker B (the demo agent)
and a buddy C. A sends B work; C watches B through ``harnex status`` and ``harnex pane`` and,
once B has answered, reports to A's pane with ``harnex report``. Checked: B and C know A's pane
as their spawner, B got the work with A's relay header, A's pane shows C's report, and every
message carries exactly one relay header.

Inside a pane the ``harnex`` CLI finds the same tmux server and state directory because the
pane inherits ``HARNEX_TMUX_SOCKET`` and ``HARNEX_STATE_DIR`` from the ``harnex run`` caller.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from conftest import PYTHON, Harnex, recorded, wait_for

# Shared by the scripted lead and buddy: run the harnex CLI and log what happened, so a
# failure shows each step's output instead of a bare timeout.
PRELUDE = """\
import json, os, subprocess, sys, time

WORK = sys.argv[1]


def harnex(*args):
    result = subprocess.run(
        [sys.executable, "-m", "harnex_tmux", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    entry = {"args": list(args), "rc": result.returncode,
             "stdout": result.stdout[-2000:], "stderr": result.stderr[-2000:]}
    with open(os.path.join(WORK, os.environ["HARNEX_ID"] + "-log.jsonl"), "a") as log:
        log.write(json.dumps(entry) + "\\n")
    return result
"""

LEAD = """
harnex("run", "--id", "B", "--detach", "--description", "worker",
       sys.executable, "--", "-m", "harnex_tmux.demo_agent", "--busy", "0.3",
       "--record", os.path.join(WORK, "b.jsonl"))
harnex("run", "--id", "C", "--detach", "--description", "buddy of B",
       sys.executable, "--", os.path.join(WORK, "buddy.py"), WORK)
harnex("wait", "--id", "B", "--until", "prompt", "--timeout", "20")
harnex("send", "--id", "B", "--message", "work item 1: add the numbers", "--timeout", "20")
print("lead: waiting for reports", flush=True)
# Stay at a cooked-mode terminal: whatever is typed in shows once (the tty echo) and is kept.
while True:
    line = sys.stdin.readline()
    if not line:
        break
    with open(os.path.join(WORK, "a-received.txt"), "a") as out:
        out.write(line)
"""

BUDDY = """
with open(os.path.join(WORK, "c-env.json"), "w") as out:
    json.dump({k: v for k, v in os.environ.items() if k.startswith("HARNEX_")}, out)
deadline = time.monotonic() + 30
seen, state = "", None
while time.monotonic() < deadline:
    status = harnex("status", "--id", "B", "--json")
    pane = harnex("pane", "--id", "B", "--lines", "40")
    if status.returncode == 0 and pane.returncode == 0:
        state = json.loads(status.stdout)[0].get("state")
        seen = pane.stdout
        # The demo agent ends its reply with "(N chars, M lines)" and returns to its prompt.
        if "work item 1" in seen and "lines)" in seen and state == "prompt":
            break
    time.sleep(0.3)
done = "done" if "lines)" in seen else "not done"
harnex("report", "--message", f"buddy C: B is {done} with work item 1 (state {state})")
time.sleep(60)
"""


def read_log(work: Path, ident: str) -> list[dict[str, Any]]:
    path = work / f"{ident}-log.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lead_dispatches_worker_and_buddy_reports_back(harnex: Harnex, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "lead.py").write_text(PRELUDE + textwrap.dedent(LEAD))
    (work / "buddy.py").write_text(PRELUDE + textwrap.dedent(BUDDY))
    lead = harnex.start(
        "A", "--description", "lead", command=[PYTHON, str(work / "lead.py"), str(work)]
    )
    lead_pane = lead["pane_id"]

    received = work / "a-received.txt"

    def report_arrived() -> bool:
        return received.exists() and "buddy C:" in received.read_text()

    try:
        wait_for(report_arrived, timeout=45, interval=0.2)
    except AssertionError as exc:
        logs = {ident: read_log(work, ident) for ident in ("A", "C")}
        raise AssertionError(f"no report reached A: {json.dumps(logs, indent=1)}") from exc

    # Every harnex command the scripted agents ran succeeded.
    for ident in ("A", "C"):
        failed = [entry for entry in read_log(work, ident) if entry["rc"] != 0]
        assert not failed, failed

    # B and C were started from A's pane, and know it.
    sessions = {s["id"]: s for s in harnex.json("status", "--json")}
    assert {"A", "B", "C"} <= set(sessions)
    worker_env = _environ(sessions["B"]["pid"])
    assert worker_env.get("HARNEX_SPAWNER_PANE") == lead_pane
    assert worker_env.get("HARNEX_ID") == "B"
    buddy_env = json.loads((work / "c-env.json").read_text())
    assert buddy_env["HARNEX_SPAWNER_PANE"] == lead_pane
    assert buddy_env["HARNEX_ID"] == "C"
    # They opened in A's tmux session, next to it, in windows named after their ids.
    windows = harnex.tmux("list-windows", "-a", "-F", "#{session_id} #{window_name}").stdout
    lead_session = harnex.tmux("display", "-p", "-t", lead_pane, "#{session_id}").stdout.strip()
    assert f"{lead_session} B" in windows.splitlines()
    assert f"{lead_session} C" in windows.splitlines()

    # B received the work once, with A's relay header, once.
    (work_item,) = recorded(work / "b.jsonl")
    header, body = work_item.split("\n")
    assert header.startswith("[harnex relay from=") and " id=A at=" in header
    assert body == "work item 1: add the numbers"

    # C saw B through status and pane before reporting.
    buddy_steps = [entry["args"][0] for entry in read_log(work, "C")]
    assert "status" in buddy_steps and "pane" in buddy_steps
    assert buddy_steps[-1] == "report"

    # A got C's report: one relay header naming C, then the text; and its pane shows it once.
    lines = received.read_text().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("[harnex relay from=") and " id=C at=" in lines[0]
    assert lines[1] == "buddy C: B is done with work item 1 (state prompt)"
    pane = harnex.run("pane", "--id", "A", check=True).stdout
    assert pane.count("[harnex relay") == 1
    assert pane.count("buddy C: B is done with work item 1") == 1
    assert " id=C at=" in pane


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode(errors="replace").partition("=") for item in raw if b"=" in item)
    return {key: value for key, _, value in pairs}
