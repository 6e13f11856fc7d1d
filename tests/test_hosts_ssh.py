"""harnex across hosts, end to end through a real OpenSSH server (``tests/sshd.py``): the
second host is a second Unix user on this machine, reached on a loopback port.

``hosts add`` installs this checkout there (the first run builds the wheels, cached under
.cache/hosts), then sessions run on it with ``run --on`` and are driven by ``NAME:id``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import pwd
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harnex_tmux.hosts import ssh
from harnex_tmux.tmux import default_socket_path
from tests import sshd
from tests.conftest import PYTHON, Figures, Harnex, recorded, wait_for
from tests.remote_host import INSTALL_TIMEOUT, NAME, Remote

pytestmark = pytest.mark.e2e


def test_add_installs_this_build_and_lists_the_host(remote: Remote) -> None:
    h = remote.harnex
    listed = h.json("hosts", "list", "--json")
    assert [row["name"] for row in listed] == [NAME]
    assert listed[0]["reachable"] is True
    assert listed[0]["current"] is True
    assert listed[0]["tmux"].startswith("tmux ")
    assert h.run("hosts", "check", NAME).returncode == 0
    checked = h.json("hosts", "check", NAME, "--json")
    # This machine runs no systemd as init in CI containers; a desktop would say yes or no.
    assert checked["linger"] in ("yes", "no", "no-systemd")
    assert (checked["linger"] == "no") == bool(checked["warnings"])
    # Adding again finds this build there and installs nothing.
    again = h.json("hosts", "add", NAME, sshd.ALIAS, "--json")
    assert again["installed"] is False


def test_send_exactly_once_over_ssh(remote: Remote) -> None:
    h = remote.harnex
    remote.start_demo("w1")
    h.run("wait", "--id", f"{NAME}:w1", "--until", "prompt", "--timeout", "30", check=True)
    text = "first line\nsecond: héllo ✓ 日本\n  indented\n\n"
    sent = h.json("send", "--id", f"{NAME}:w1", input=text)
    assert sent["status"] == "delivered" and sent["id"] == f"{NAME}:w1"
    big = "".join(f"{i:07d} {'x' * 91}\n" for i in range(1001))[:-1]  # 100 KB in 100-byte lines
    assert len(big.encode()) >= 100_000
    sent = h.json("send", "--id", f"{NAME}:w1", "--message", big, timeout=120)
    assert sent["status"] == "delivered", sent
    got = wait_for(lambda: (r := recorded(remote.record("w1"))) and len(r) >= 2 and r)
    # The demo agent records what was typed; a piped message's trailing newlines are not
    # content (as locally), a --message is taken as given.
    assert got == [text.rstrip("\n"), big]
    retried = h.json("send", "--id", f"{NAME}:w1", "--message", big)
    assert retried["status"] == "delivered"
    again = h.json(
        "send", "--id", f"{NAME}:w1", "--message-id", retried["message_id"], "--message", big
    )
    assert again["message_id"] == retried["message_id"]
    time.sleep(1.0)
    assert len(recorded(remote.record("w1"))) == 3  # the resend with its id added nothing


def test_status_pane_wait_stop_across_hosts(remote: Remote) -> None:
    h = remote.harnex
    h.start_demo("here")
    remote.start_demo("there")
    h.run("wait", "--id", f"{NAME}:there", "--until", "prompt", "--timeout", "30", check=True)
    rows = h.json("status", "--json")
    where = {(row.get("machine"), row["id"]) for row in rows}
    assert {(None, "here"), (NAME, "there")} <= where
    table = h.run("status", check=True).stdout.splitlines()
    assert table[0].split()[:2] == ["HOST", "ID"]
    assert any(line.split()[:2] == [NAME, "there"] for line in table)
    only = h.json("status", "--host", NAME, "--json")
    assert [row["id"] for row in only] == ["there"]
    pane = h.json("pane", "--id", f"{NAME}:there", "--json")
    assert pane["id"] == f"{NAME}:there" and "demo>" in pane["text"]
    stopped = h.json("stop", "--id", f"{NAME}:there")
    assert stopped["ok"] is True
    assert h.json("status", "--host", NAME, "--json") == []


def test_bad_targets_are_one_line_errors(remote: Remote) -> None:
    h = remote.harnex
    for target, words in (
        ("nohost:w1", "unknown host 'nohost'"),
        (f"{NAME}:", "no session id"),
        (f"{NAME}:a:b", "cannot contain ':'"),
        (f"{NAME}:missing", f"host '{NAME}'"),
    ):
        result = h.run("pane", "--id", target)
        assert result.returncode in (1, 2), (target, result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (target, result.stderr)


def test_unreachable_host_is_down_and_status_still_works(remote: Remote) -> None:
    h = remote.harnex
    h.run("hosts", "add", "gone", "nobody@127.0.0.1", timeout=60)  # refused: not added
    assert [row["name"] for row in h.json("hosts", "list", "--json")] == [NAME]
    hosts_file = h.state_dir / "hosts.json"
    data = json.loads(hosts_file.read_text())
    # A host that was added once and is now down: a closed port on loopback.
    data["hosts"]["gone"] = {"dest": "nobody@127.0.0.1 -p 1"}
    data["hosts"]["gone"]["dest"] = "gone.invalid"
    hosts_file.write_text(json.dumps(data))
    h.start_demo("here")
    result = h.run("status", "--json")
    assert result.returncode == 0
    assert [row["id"] for row in json.loads(result.stdout) if row["machine"] is None] == ["here"]
    assert "gone" in result.stderr
    send = h.run("send", "--id", "gone:w1", "--message", "hi")
    assert send.returncode == 1 and "host 'gone'" in send.stderr


def test_another_build_is_warned_once_per_command_and_upgrade_fixes_it(remote: Remote) -> None:
    """A host whose harnex is another build: every command still works and says so once on
    stderr; ``hosts upgrade`` installs this build and the warnings stop."""
    h = remote.harnex
    remote.start_demo("v1")
    build = ".local/share/harnex/venv/harnex-build"
    assert remote.host.ssh(f"echo 0123456789abcdef > {build}").returncode == 0
    for args in (
        ("status", "--host", NAME, "--json"),
        ("pane", "--id", f"{NAME}:v1", "--json"),
        ("wait", "--id", f"{NAME}:v1", "--until", "prompt", "--timeout", "30"),
    ):
        result = h.run(*args, timeout=60)
        assert result.returncode == 0, (args, result.stderr)
        warnings = [line for line in result.stderr.splitlines() if "warning" in line]
        assert len(warnings) == 1, (args, result.stderr)
        assert f"host '{NAME}'" not in warnings[0]  # the host's own line, as it printed it
        assert "build 0123456789abcdef" in warnings[0], warnings
        assert f"harnex hosts upgrade {NAME}" in warnings[0], warnings
        json.loads(result.stdout or "{}")  # stdout stays clean JSON
    checked = h.run("hosts", "check", NAME)
    assert checked.returncode == 1 and f"harnex hosts upgrade {NAME}" in checked.stderr
    upgraded = h.json("hosts", "upgrade", NAME, "--json", timeout=INSTALL_TIMEOUT)
    assert upgraded["installed"] is True and upgraded["current"] is True
    after = h.run("status", "--host", NAME, "--json", timeout=60)
    assert after.returncode == 0 and "warning" not in after.stderr, after.stderr
    assert [row["id"] for row in json.loads(after.stdout)] == ["v1"]
    # Nothing to do the second time.
    assert h.json("hosts", "upgrade", NAME, "--json")["installed"] is False


@dataclass
class Follower:
    """A local ``harnex ... --follow`` in its own process group, its output collected."""

    process: subprocess.Popen[bytes]
    out: list[bytes]

    @classmethod
    def start(cls, h: Harnex, *args: str) -> Follower:
        process = subprocess.Popen(
            [PYTHON, "-m", "harnex_tmux", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=h.env,
            cwd=h.repo,
            start_new_session=True,
        )
        out: list[bytes] = []

        def read() -> None:
            assert process.stdout is not None
            while chunk := process.stdout.read1(65536):
                out.append(chunk)

        threading.Thread(target=read, daemon=True).start()
        return cls(process, out)

    @property
    def text(self) -> str:
        return b"".join(self.out).decode(errors="replace")

    def end(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


def remote_processes(words: str) -> list[str]:
    """The remote user's processes whose command line holds ``words`` (same machine)."""
    found = subprocess.run(
        ["pgrep", "-a", "-u", sshd.REMOTE_USER, "-f", "--", words],
        capture_output=True,
        text=True,
    )
    return found.stdout.splitlines()


@pytest.mark.parametrize(
    ("command", "how"),
    [
        (("logs", "--lines", "0", "--follow"), signal.SIGTERM),
        (("events", "--follow"), signal.SIGINT),
        (("pane", "--follow", "--interval", "0.2", "--json"), signal.SIGKILL),
    ],
)
def test_follow_over_ssh_streams_and_ends_the_remote_side(
    remote: Remote, command: tuple[str, ...], how: signal.Signals, figures: Figures
) -> None:
    """pane/logs/events --follow of NAME:id stream what the host's own follow prints; when
    the local command ends (SIGTERM, Ctrl-C to its process group, even SIGKILL), the
    remote follower ends too: no process is left on the host."""
    h = remote.harnex
    ident = f"fol-{command[0]}"
    remote.start_demo(ident)
    h.run("wait", "--id", f"{NAME}:{ident}", "--until", "prompt", "--timeout", "30", check=True)
    follower = Follower.start(h, command[0], "--id", f"{NAME}:{ident}", *command[1:])
    try:
        pattern = f"{command[0]} --id {ident}"
        wait_for(lambda: remote_processes(pattern), timeout=30)
        h.run("send", "--id", f"{NAME}:{ident}", "--message", "follow me ✓", check=True)
        wanted = {"logs": "follow me ✓", "events": '"delivered"', "pane": "follow me"}[command[0]]
        wait_for(lambda: wanted in follower.text, timeout=30)
        if command[0] == "pane":
            first = json.loads(follower.text.splitlines()[0])
            assert first["id"] == f"{NAME}:{ident}" and "demo>" in first["text"]
        if how == signal.SIGINT:
            os.killpg(follower.process.pid, how)  # a Ctrl-C at the terminal
        else:
            os.kill(follower.process.pid, how)
        follower.process.wait(30)
        started = time.monotonic()
        wait_for(lambda: not remote_processes(pattern), timeout=30)
        figures.record("local end to remote follower gone", round(time.monotonic() - started, 2))
    finally:
        follower.end()


def test_events_follow_over_ssh_ends_with_the_session(remote: Remote) -> None:
    h = remote.harnex
    remote.start_demo("fol-end")
    h.run("wait", "--id", f"{NAME}:fol-end", "--until", "prompt", "--timeout", "30", check=True)
    follower = Follower.start(h, "events", "--id", f"{NAME}:fol-end")
    try:
        wait_for(lambda: remote_processes("events --id fol-end"), timeout=30)
        h.run("stop", "--id", f"{NAME}:fol-end", check=True)
        assert follower.process.wait(60) == 0
        events = [json.loads(line) for line in follower.text.splitlines()]
        assert events[0]["type"] == "started" and events[-1]["type"] == "exited"
        snapshot = h.run("events", "--id", f"{NAME}:fol-end", "--snapshot", check=True)
        assert snapshot.stdout == follower.text
        missing = h.run("logs", "--id", f"{NAME}:nobody", "--follow")
        assert missing.returncode == 1 and "nobody" in missing.stderr
    finally:
        follower.end()


def test_more_commands_than_sshd_sessions_wait_for_a_channel(
    remote: Remote, figures: Figures
) -> None:
    """Twelve followers of one host at once, more than sshd's MaxSessions (10) allows on
    one connection: at most eight run over the master, the others wait for a channel
    instead of being refused, and start as soon as some end."""
    h = remote.harnex
    remote.start_demo("many")
    target = f"{NAME}:many"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    followers = [Follower.start(h, "logs", "--id", target, "--follow") for _ in range(12)]
    try:
        running = lambda: len(remote_processes("logs --id many"))  # noqa: E731
        wait_for(lambda: running() == 8, timeout=60)
        most = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            most = max(most, running())
            time.sleep(0.1)
        assert most == 8
        waiting = [f for f in followers if f.process.poll() is None and not f.out]
        assert len(waiting) == 4, [f.text for f in followers]
        for follower in [f for f in followers if f not in waiting][:4]:
            follower.process.terminate()
            follower.process.wait(30)
        wait_for(lambda: all(f.out for f in waiting), timeout=60)
        assert running() <= 8
        for follower in followers:
            assert follower.process.poll() in (None, -signal.SIGTERM), follower.text
        figures.record("followers started", len(followers))
        figures.record("most running over one master", most)
    finally:
        for follower in followers:
            follower.end()


def _remote_clients(remote: Remote, socket: str) -> list[str]:
    listed = remote.host.ssh("tmux", "-S", socket, "list-clients", "-F", "#{client_tty}")
    return [line for line in listed.stdout.splitlines() if line.strip()]


def test_attach_puts_a_terminal_on_the_remote_window(remote: Remote) -> None:
    """``attach NAME:id`` on a terminal becomes a tmux client on the host (ssh -t), showing
    the agent's window; ending it leaves the session running there."""
    h = remote.harnex
    info = remote.start_demo("att")
    target = f"{NAME}:att"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    socket = info["tmux_socket"]
    assert _remote_clients(remote, socket) == []
    leader, follower = pty.openpty()
    env = {k: v for k, v in h.env.items() if k not in ("TMUX", "TMUX_PANE")}
    process = subprocess.Popen(
        [PYTHON, "-m", "harnex_tmux", "attach", "--id", target],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=dict(env, TERM="xterm"),
        cwd=h.repo,
        start_new_session=True,
    )
    os.close(follower)
    seen: list[bytes] = []

    def read() -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(leader, 65536):
                seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: _remote_clients(remote, socket), timeout=30)
        wait_for(lambda: b"demo>" in b"".join(seen), timeout=30)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
        os.close(leader)
    wait_for(lambda: not _remote_clients(remote, socket), timeout=30)
    assert h.json("status", "--host", NAME, "--json")[0]["state"] != "exited"


def test_attach_inside_tmux_opens_a_local_window_running_it(remote: Remote) -> None:
    """Inside tmux, ``attach NAME:id`` opens a window of the caller's session that runs the
    ssh to the host's window (a terminal holds one client), and returns at once."""
    h = remote.harnex
    info = remote.start_demo("att2")
    target = f"{NAME}:att2"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    # The caller's tmux: this test's private server, one session.
    assert h.tmux("new-session", "-d", "-s", "caller").returncode == 0
    env = {k: v for k, v in h.env.items() if k != "TMUX_PANE"}
    env["TMUX"] = f"{default_socket_path(h.socket)},0,0"
    result = h.run("attach", "--id", target, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    windows = h.tmux("list-windows", "-t", "caller", "-F", "#{window_name} #{window_id}")
    opened = [line.split()[1] for line in windows.stdout.splitlines() if line.startswith("attach:")]
    assert len(opened) == 1, windows.stdout
    wait_for(lambda: _remote_clients(remote, info["tmux_socket"]), timeout=30)
    h.tmux("kill-window", "-t", opened[0])
    wait_for(lambda: not _remote_clients(remote, info["tmux_socket"]), timeout=30)


EVENTS_SCRIPT = """
import json, sys
from datetime import datetime, timedelta
from harnex_tmux.hosts import target

session = target.find(sys.argv[1])
events = session.events()
later = session.events(since=datetime.fromisoformat(events[-1].data["ts"]) + timedelta(days=1))
print(json.dumps({
    "types": [event.type for event in events],
    "raw_parses": all(json.loads(event.raw) == event.data for event in events),
    "later": len(later),
}))
"""


def test_library_events_of_a_remote_session(remote: Remote) -> None:
    """``Session.events()`` of ``NAME:id`` gives the same typed events as a local session:
    each line as stored on the host, parsed; ``since`` filters them there."""
    h = remote.harnex
    remote.start_demo("ev")
    target = f"{NAME}:ev"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "60", check=True)
    h.run("send", "--id", target, "--message", "an event", check=True)
    result = subprocess.run(
        [PYTHON, "-c", EVENTS_SCRIPT, target],
        capture_output=True,
        text=True,
        env=h.env,
        cwd=h.repo,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["types"][0] == "started" and "delivered" in got["types"], got
    assert got["raw_parses"] is True and got["later"] == 0


def test_budget_of_a_remote_session_shown_raised_and_cleared(remote: Remote) -> None:
    """``harnex budget NAME:id`` shows, raises (``--add``) and clears the budget the host's
    sidecar keeps, as locally; a bad amount is the host's one-line usage error."""
    h = remote.harnex
    started = h.run(
        "run", "--on", NAME, "--id", "bg", "--detach", "--budget", "2usd",
        "--prompt-regex", r"^demo> ?$", remote.python, "--", "-m", "harnex_tmux.demo_agent",
        timeout=60,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    target = f"{NAME}:bg"
    shown = h.json("budget", "--id", target, "--json")
    assert shown["ok"] is True, shown
    assert (shown["budget"]["kind"], shown["budget"]["limit"]) == ("usd", 2), shown
    raised = h.json("budget", "--id", target, "--add", "3usd", "--json")
    assert raised["budget"]["limit"] == 5, raised
    assert h.json("status", "--id", target, "--json")[0]["budget"]["limit"] == 5
    bad = h.run("budget", "--id", target, "--add", "5eur")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert f"host '{NAME}'" in bad.stderr and "5eur" in bad.stderr
    assert h.json("budget", "--id", target, "--clear", "--json") == {"ok": True, "budget": None}
    assert h.run("budget", "--id", target).stdout.strip() == "No budget."


def test_worktree_session_on_a_host_diff_and_clean(remote: Remote, remote_repo: Path) -> None:
    """``run --on NAME --worktree`` in a repository there: the agent works in its own
    worktree, ``diff NAME:id`` shows what it wrote, and ``clean NAME:id`` removes the
    worktree and its branch as a local clean does."""
    h = remote.harnex
    folder = f"{remote_repo}/wts"
    agent = f"echo feature > feature.txt; exec {remote.python} -m harnex_tmux.demo_agent"
    started = h.run(
        "run", "--on", NAME, "--id", "wt1", "--detach", "--worktree", "--worktree-dir", folder,
        "--prompt-regex", r"^demo> ?$", "sh", "--", "-c", agent,
        timeout=60,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    data = json.loads(started.stdout)
    path = f"{folder}/{remote_repo.name}/wt1"  # --worktree-dir holds a folder per repository
    assert data["worktree"]["path"] == path and data["worktree"]["branch"] == "harnex/wt1"
    target = f"{NAME}:wt1"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "60", check=True)
    info = h.json("diff", "--id", target, "--json")
    assert info["untracked"] == ["feature.txt"], info
    stat = h.run("diff", "--id", target, "--stat", check=True).stdout
    assert "untracked: feature.txt" in stat
    running = h.run("clean", "--id", target)
    assert running.returncode == 1 and "still running" in running.stdout
    h.run("stop", "--id", target, check=True)
    assert remote.host.ssh(f"test -f {path}/feature.txt").returncode == 0  # stop keeps it
    cleaned = h.json("clean", "--id", target, "--force", "--json")
    assert [(row["id"], row["removed"]) for row in cleaned] == [("wt1", True)], cleaned
    assert remote.host.ssh(f"test -e {path}").returncode == 1
    branches = remote.host.ssh("git branch --format='%(refname:short)'").stdout.split()
    assert branches == ["main"]


def test_run_on_a_host_in_a_folder_there_makes_the_worktree_from_its_repo(
    remote: Remote,
) -> None:
    """``run --on NAME --cwd ~/DIR --worktree``: ``~`` is the remote user's home, the
    worktree is made from the repository DIR is in (beside it, as locally: no
    ``--worktree-dir`` needed); a folder that is not there is one line naming the host,
    exit 1, and nothing is started there."""
    h = remote.harnex
    repo = f"proj-{h.socket}"
    setup = (
        f"mkdir -p {repo}/sub && cd {repo} && git init -q -b main . && echo x > sub/a && "
        "git add sub/a && git -c user.name=t -c user.email=t@t commit -q -m base"
    )
    assert remote.host.ssh(setup).returncode == 0
    try:
        agent = f"pwd > where.txt; exec {remote.python} -m harnex_tmux.demo_agent"
        started = h.run(
            "run", "--on", NAME, "--cwd", f"~/{repo}/sub", "--id", "cw1", "--detach",
            "--worktree", "--prompt-regex", r"^demo> ?$", "sh", "--", "-c", agent,
            timeout=60,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        data = json.loads(started.stdout)
        path = f"{remote.host.home}/{repo}.worktrees/cw1"
        assert data["worktree"]["path"] == path, data
        assert data["worktree"]["branch"] == "harnex/cw1"
        target = f"{NAME}:cw1"
        # NAME:id finds it there though it runs in another repository than the home.
        h.run("wait", "--id", target, "--until", "prompt", "--timeout", "60", check=True)
        sent = h.json("send", "--id", target, "--message", "in the folder there")
        assert sent["status"] == "delivered", sent
        # The agent starts in the same subfolder of its worktree.
        assert remote.host.ssh(f"cat {path}/sub/where.txt").stdout.strip() == f"{path}/sub"
        branches = remote.host.ssh(f"git -C {repo} branch --format='%(refname:short)'")
        assert sorted(branches.stdout.split()) == ["harnex/cw1", "main"]
        h.run("stop", "--id", target, check=True)
        h.json("clean", "--id", target, "--force", "--json")

        before = remote.host.ssh("tmux list-windows -a -F '#{window_name}'").stdout
        missing = h.run(
            "run", "--on", NAME, "--cwd", "~/no-such-folder", "--id", "cw2", "--detach",
            remote.python, "--", "-m", "harnex_tmux.demo_agent",
            timeout=60,
        )  # fmt: skip
        assert missing.returncode == 1, missing.stderr
        lines = missing.stderr.strip().splitlines()
        assert lines == [
            f"harnex: host '{NAME}': no folder '~/no-such-folder' to start in (--cwd)"
        ], lines
        assert missing.stdout == ""
        assert remote.host.ssh("tmux list-windows -a -F '#{window_name}'").stdout == before
        assert "cw2" not in [row["id"] for row in h.json("status", "--host", NAME, "--json")]
    finally:
        remote.host.ssh(f"rm -rf {repo} {repo}.worktrees")


def test_ops_go_over_the_kept_channel(remote: Remote) -> None:
    """With forwarding allowed, status, pane, send and wait are run by the host's op server
    through the master's forwarded socket: its count of requests run goes up by one per op
    (a command run the per-call way would not be counted), its pid stays, and the sockets
    at both ends are private."""
    h = remote.harnex
    remote.start_demo("kept")
    target = f"{NAME}:kept"
    checked = h.json("hosts", "check", NAME, "--json")
    kept = checked["channel"]
    assert kept["in_use"] is True and kept["reason"] is None, kept
    server = kept["server"]
    text = h.run("hosts", "check", NAME, check=True).stdout
    assert f"kept channel: in use (op server pid {server['pid']})" in text
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "30", check=True)
    assert [row["id"] for row in h.json("status", "--host", NAME, "--json")] == ["kept"]
    assert "demo>" in h.json("pane", "--id", target, "--json")["text"]
    sent = h.json("send", "--id", target, "--message", "over the kept channel ✓")
    assert sent["status"] == "delivered", sent
    after = h.json("hosts", "check", NAME, "--json")["channel"]["server"]
    assert after["pid"] == server["pid"]
    assert after["served"] == server["served"] + 4, (server, after)
    assert recorded(remote.record("kept")) == ["over the kept channel ✓"]
    # The host's socket: 0600 in a 0700 folder of the remote user; this side's: 0600.
    remote_socket = Path(server["socket"])
    assert stat.S_IMODE(remote_socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(remote_socket.parent.stat().st_mode) == 0o700
    assert remote_socket.stat().st_uid == pwd.getpwnam(sshd.REMOTE_USER).pw_uid
    local = Path(ssh.forward_path(sshd.ALIAS))
    assert stat.S_ISSOCK(local.stat().st_mode) and stat.S_IMODE(local.stat().st_mode) == 0o600
    # Turned off, the same ops take the per-call path and the server counts none of them.
    h.env["HARNEX_HOST_CHANNEL"] = "off"
    assert [row["id"] for row in h.json("status", "--host", NAME, "--json")] == ["kept"]
    off = h.json("hosts", "check", NAME, "--json")["channel"]
    assert off["in_use"] is False and "HARNEX_HOST_CHANNEL" in off["reason"]
    del h.env["HARNEX_HOST_CHANNEL"]
    again = h.json("hosts", "check", NAME, "--json")["channel"]["server"]
    assert again["served"] == after["served"], (after, again)
