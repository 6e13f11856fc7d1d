"""``harnex resume`` with the recording demo agent on a private tmux server: the server is
killed with messages queued, and resume starts the session again and delivers them once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from conftest import PYTHON, Figures, Harnex, recorded, wait_for
from test_worktree import git, repo, start_in_worktree  # noqa: F401 - the repo fixture

from tests.procs import gone


def _kill_server_with_queued(harnex: Harnex, info: dict[str, Any], texts: list[str]) -> None:
    """The agent busy, ``texts`` queued behind it, then the whole tmux server killed."""
    ident = info["id"]
    harnex.json("send", "--id", ident, "--message", "/sleep 30")
    harnex.run("wait", "--id", ident, "--until", "busy", "--timeout", "10", check=True)
    for text in texts:
        assert harnex.json("send", "--id", ident, "--no-wait", "-m", text)["status"] == "queued"
    harnex.tmux("kill-server")
    wait_for(lambda: gone(info["sidecar_pid"]), timeout=20)


def test_killed_tmux_server_resumed_delivers_the_queue_once_in_order(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    record = tmp_path / "rec.jsonl"
    info = harnex.start_demo("keep", record=record)
    harnex.run("wait", "--id", "keep", "--until", "prompt", "--timeout", "30", check=True)
    _kill_server_with_queued(harnex, info, ["first queued", "second queued"])
    (row,) = harnex.json("status", "--json")
    assert row["id"] == "keep" and row["state"] == "resumable"
    assert "resumable" in harnex.run("status").stdout
    started = time.monotonic()
    (resumed,) = harnex.json("resume", "--all")
    assert resumed["id"] == "keep" and resumed["queued"] == 2
    # The demo agent has no conversation to continue: it starts fresh, and says so.
    assert resumed["continued"] is False and "started fresh" in resumed["note"]
    wait_for(lambda: len(recorded(record)) >= 3, timeout=30, interval=0.2)
    elapsed = time.monotonic() - started
    harnex.run("wait", "--id", "keep", "--until", "prompt", "--timeout", "30", check=True)
    assert recorded(record) == ["/sleep 30", "first queued", "second queued"]
    figures.record("queued when the tmux server was killed", 2)
    figures.record("delivered after resume, in order, once", len(recorded(record)) - 1)
    figures.record("resume to last delivery", round(elapsed, 2), "s")
    (row,) = harnex.json("status", "--json")
    assert row["state"] == "prompt" and row["inbox"] == 0
    again = harnex.run("resume", "--id", "keep")
    assert again.returncode == 1
    assert again.stderr == "harnex: session 'keep' is running; there is nothing to resume\n"
    assert harnex.json("resume", "--all") == []  # nothing else ended


def test_five_sessions_on_a_killed_server_all_come_back(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    """A fleet: five agents each busy with a message queued behind it lose their tmux
    server; one ``resume --all`` brings every one back and delivers each its message once."""
    idents = [f"fleet-{n}" for n in range(5)]
    records = {ident: tmp_path / f"{ident}.jsonl" for ident in idents}
    infos = [harnex.start_demo(ident, record=records[ident]) for ident in idents]
    for ident in idents:
        harnex.run("wait", "--id", ident, "--until", "prompt", "--timeout", "30", check=True)
        harnex.json("send", "--id", ident, "--message", "/sleep 60")
        harnex.run("wait", "--id", ident, "--until", "busy", "--timeout", "10", check=True)
        queued = harnex.json("send", "--id", ident, "--no-wait", "-m", f"for {ident}")
        assert queued["status"] == "queued"
    harnex.tmux("kill-server")
    wait_for(lambda: all(gone(info["sidecar_pid"]) for info in infos), timeout=30)
    assert sorted(r["id"] for r in harnex.json("status", "--json")) == idents

    started = time.monotonic()
    resumed = harnex.json("resume", "--all")
    returned = time.monotonic() - started
    assert sorted(r["id"] for r in resumed) == idents
    assert all(r["queued"] == 1 for r in resumed), resumed

    def at_prompt() -> bool:
        rows = harnex.json("status", "--json")
        return sorted(r["id"] for r in rows if r["state"] == "prompt") == idents

    wait_for(at_prompt, timeout=60, interval=0.05)
    ready = time.monotonic() - started
    for ident in idents:
        wait_for(lambda i=ident: len(recorded(records[i])) >= 2, timeout=60, interval=0.1)
    delivered = time.monotonic() - started
    for ident in idents:
        harnex.run("wait", "--id", ident, "--until", "prompt", "--timeout", "30", check=True)
    time.sleep(0.5)  # a repeat would show by now: each agent is at its prompt again
    got = {ident: recorded(records[ident]) for ident in idents}
    assert got == {ident: ["/sleep 60", f"for {ident}"] for ident in idents}
    figures.record("sessions on the killed server", len(idents))
    figures.record("brought back by one resume --all", len(resumed))
    figures.record("queued messages delivered once each", len(idents))
    figures.record("resume --all returned after", round(returned, 2), "s")
    figures.record("to every session at its prompt (status polled)", round(ready, 2), "s")
    figures.record("to the last queued message delivered", round(delivered, 2), "s")
    figures.note(
        "The time to the fleet back counts from the start of `harnex resume --all` (which "
        "starts the sessions several at once) and includes the `harnex status` calls that "
        "look; `python scripts/bench.py --resume` measures the same over repeated rounds, "
        "asking the sidecars directly (docs/benchmarks.md)."
    )


def test_a_reboot_sidecar_and_tmux_gone_alike_is_resumable(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    """As after a reboot: the sidecar dies first (nothing is recorded as ended), then the
    tmux server with the agent; the registry record is left naming dead processes."""
    record = tmp_path / "rec.jsonl"
    info = harnex.start_demo("boot", record=record)
    harnex.run("wait", "--id", "boot", "--until", "prompt", "--timeout", "30", check=True)
    harnex.json("send", "--id", "boot", "--message", "/sleep 30")
    harnex.run("wait", "--id", "boot", "--until", "busy", "--timeout", "10", check=True)
    assert (
        harnex.json("send", "--id", "boot", "--no-wait", "-m", "after boot")["status"] == "queued"
    )
    os.kill(info["sidecar_pid"], signal.SIGKILL)
    wait_for(lambda: gone(info["sidecar_pid"]), timeout=10)
    harnex.tmux("kill-server")
    wait_for(lambda: gone(info["pid"]), timeout=10)
    assert harnex.registry()  # left behind, as a reboot leaves it
    (row,) = harnex.json("status", "--json")
    assert row["state"] == "resumable"
    (resumed,) = harnex.json("resume", "--all")
    assert resumed["id"] == "boot" and resumed["queued"] == 1
    wait_for(lambda: len(recorded(record)) >= 2, timeout=30, interval=0.2)
    harnex.run("wait", "--id", "boot", "--until", "prompt", "--timeout", "30", check=True)
    assert recorded(record) == ["/sleep 30", "after boot"]
    figures.record("queued when sidecar and tmux died", 1)
    figures.record("delivered after resume, once", recorded(record).count("after boot"))


def test_the_login_line_brings_back_every_repos_sessions_once(
    harnex: Harnex, tmp_path: Path
) -> None:
    """What the README's login line runs, from a folder that is no repository:
    ``resume --all --all-repos`` brings back the sessions of two repositories, and running it
    a second time (a second login) starts nothing."""
    other = tmp_path / "other-repo"
    (other / ".git").mkdir(parents=True)
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    records = {"mine": tmp_path / "mine.jsonl", "theirs": tmp_path / "theirs.jsonl"}
    mine = harnex.start_demo("mine", record=records["mine"])
    agent = [PYTHON, "-m", "harnex_tmux.demo_agent", "--busy", "0.3"]
    theirs = harnex.json(
        "run",
        "--id",
        "theirs",
        "--detach",
        agent[0],
        "--",
        *agent[1:],
        "--record",
        str(records["theirs"]),
        cwd=other,
    )
    for info, cwd in ((mine, harnex.repo), (theirs, other)):
        harnex.run(
            "wait",
            "--id",
            info["id"],
            "--until",
            "prompt",
            "--timeout",
            "30",
            check=True,
            cwd=cwd,
        )
    harnex.tmux("kill-server")
    for info in (mine, theirs):
        wait_for(lambda info=info: gone(info["sidecar_pid"]), timeout=20)
    # From the repository alone, only its own session is resumable.
    assert [r["id"] for r in harnex.json("status", "--json")] == ["mine"]
    resumed = harnex.json("resume", "--all", "--all-repos", cwd=elsewhere)
    assert sorted(r["id"] for r in resumed) == ["mine", "theirs"]
    assert all(r.get("ok", True) for r in resumed), resumed
    for ident, cwd in (("mine", harnex.repo), ("theirs", other)):
        harnex.run(
            "wait", "--id", ident, "--until", "prompt", "--timeout", "30", check=True, cwd=cwd
        )
    again = harnex.json("resume", "--all", "--all-repos", cwd=elsewhere)
    assert again == []
    assert [r["id"] for r in harnex.json("status", "--json", cwd=other)] == ["theirs"]
    harnex.run("send", "--id", "theirs", "-m", "after login", check=True, cwd=other)
    wait_for(lambda: recorded(records["theirs"]) == ["after login"], timeout=30)


def test_a_stopped_session_is_resumed_only_when_named(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    harnex.start_demo("done", record=record)
    harnex.run("wait", "--id", "done", "--until", "prompt", "--timeout", "30", check=True)
    harnex.run("stop", "--id", "done", check=True)
    wait_for(lambda: not harnex.registry(), timeout=20)
    assert harnex.json("status", "--json") == []
    assert harnex.json("resume", "--all") == []
    named = harnex.json("resume", "--id", "done", "--fresh")
    assert named["id"] == "done" and named["queued"] == 0
    assert named["continued"] is False and named["note"] == "started fresh, as asked (--fresh)"
    harnex.run("wait", "--id", "done", "--until", "prompt", "--timeout", "30", check=True)
    # An agent that exits with code 0 by itself ended on purpose too.
    harnex.run("send", "--id", "done", "-m", "/exit 0")
    wait_for(lambda: not harnex.registry(), timeout=20)
    assert harnex.json("status", "--json") == []
    assert harnex.json("resume", "--all") == []


def test_bad_resumes_are_one_line_errors_and_start_nothing(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    # A live agent whose sidecar died is recovered, not resumed.
    orphan = harnex.start_demo("orphan")
    os.kill(orphan["sidecar_pid"], signal.SIGKILL)
    wait_for(lambda: gone(orphan["sidecar_pid"]), timeout=10)
    live = harnex.run("resume", "--id", "orphan")
    assert live.returncode == 1 and live.stderr == (
        "harnex: the agent of session 'orphan' still runs (its sidecar died): "
        "harnex recover --id orphan gives it a new one\n"
    )
    harnex.json("recover", "--id", "orphan")
    harnex.run("stop", "--id", "orphan", check=True)
    wait_for(lambda: not harnex.registry(), timeout=20)

    unknown = harnex.run("resume", "--id", "nobody")
    assert unknown.returncode == 1
    assert unknown.stderr == f"harnex: no session 'nobody' to resume in {harnex.repo}\n"
    assert harnex.run("resume").returncode == 2

    # Its working directory removed, then its CLI gone.
    folder = harnex.repo / "sub"
    folder.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    agent = bin_dir / "myagent"
    agent.symlink_to(sys.executable)
    data = harnex.json(
        "run",
        "--id",
        "gone",
        "--detach",
        str(agent),
        "--",
        "-m",
        "harnex_tmux.demo_agent",
        cwd=folder,
    )
    harnex.run("wait", "--id", "gone", "--until", "prompt", "--timeout", "30", check=True)
    harnex.tmux("kill-server")
    wait_for(lambda: gone(data["sidecar_pid"]), timeout=20)
    shutil.rmtree(folder)
    moved = harnex.run("resume", "--id", "gone")
    assert moved.returncode == 1
    assert moved.stderr == f"harnex: the working directory of session 'gone' is gone: {folder}\n"
    folder.mkdir()
    agent.unlink()
    missing = harnex.run("resume", "--id", "gone")
    assert missing.returncode == 1
    assert missing.stderr == (
        f"harnex: {agent} is no longer installed (not on PATH): cannot resume 'gone'\n"
    )
    assert not harnex.registry()  # nothing was started
    agent.symlink_to(sys.executable)

    # Two resumes at once: one starts it, the other says why it did not.
    racers = [harnex.popen("resume", "--id", "gone") for _ in range(2)]
    outcomes = [(p.wait(60), *p.communicate()) for p in racers]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1], outcomes
    (loser,) = [err for code, _, err in outcomes if code == 1]
    assert loser in (
        "harnex: session 'gone' is being resumed by another harnex resume\n",
        "harnex: session 'gone' is running; there is nothing to resume\n",
    )
    (winner,) = [json.loads(out) for code, out, _ in outcomes if code == 0]
    assert winner["id"] == "gone"
    assert len(harnex.registry()) == 1
    figures.record(
        "refusals checked (running, sidecar only dead, unknown, folder gone, CLI gone, race)", 6
    )
    figures.record("sessions started by two racing resumes", len(harnex.registry()))


def test_a_worktree_session_resumes_in_its_worktree_until_it_is_removed(
    harnex: Harnex,
    repo: Path,  # noqa: F811 - the fixture
) -> None:
    data = start_in_worktree(harnex, "tree", "true")
    folder = Path(data["worktree"]["path"])
    harnex.tmux("kill-server")
    wait_for(lambda: gone(data["sidecar_pid"]), timeout=20)
    resumed = harnex.json("resume", "--id", "tree")
    assert resumed["worktree"]["path"] == str(folder)
    harnex.run("wait", "--id", "tree", "--until", "prompt", "--timeout", "30", check=True)
    pane = harnex.json("pane", "--id", "tree", "--json")
    assert "harnex demo agent" in pane["text"]
    harnex.tmux("kill-server")
    wait_for(lambda: not harnex.registry(), timeout=20)
    git(repo, "worktree", "remove", "--force", str(folder))
    refused = harnex.run("resume", "--id", "tree")
    assert refused.returncode == 1
    assert refused.stderr == f"harnex: the worktree of session 'tree' was removed: {folder}\n"
    assert not harnex.registry()
