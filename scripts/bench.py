"""Benchmarks for harnex-tmux, run on a private tmux server and a throw-away state dir.

Usage: python scripts/bench.py [--quick] [--write docs/benchmarks.md]

Every figure is a median/p95 over repeated runs, measured side by side in one run with a
baseline (a bare ``python -c pass`` and a bare ``tmux`` command), because absolute times on
shared machines are noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    name: str
    unit: str
    median: float
    p95: float
    runs: int
    target: str = ""

    def row(self) -> str:
        return (
            f"| {self.name} | {self.median:.1f} {self.unit} | {self.p95:.1f} {self.unit} "
            f"| {self.runs} | {self.target} |"
        )


def summarize(name: str, samples: list[float], unit: str, target: str = "") -> Figure:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Figure(name, unit, statistics.median(ordered), p95, len(ordered), target)


# A program that shows its prompt at once and then blocks reading its terminal.
PROMPT_PROGRAM = ["sh", "-c", "printf '> '; read line; exec sleep 600"]
# Figures the issue measured for the Ruby harnex 0.4.0 on its machine (not re-measured here:
# Ruby is not installed); the CLI figures are ratios to ours as the issue gives them.
RUBY_BASELINE = [
    # (what, Ruby's figure, our figure of the same thing in this run)
    ("sidecar RSS, idle session", 18.2, "MB", "sidecar RSS (idle generic session)"),
    ("run --detach to its JSON line", 188.0, "ms", "run --detach to its JSON line"),
    (
        "send -> delivered from the CLI, 1 line, agent at prompt",
        88.0,
        "ms",
        "send -> delivered, CLI (1 line, program reading)",
    ),
]


class Bench:
    def __init__(self, workdir: Path, tree: Path = ROOT) -> None:
        self.socket = f"harnex-bench-{secrets.token_hex(4)}"
        self.repo = workdir / "repo"
        (self.repo / ".git").mkdir(parents=True)
        self.state = workdir / "state"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "HARNEX_"))}
        # Measured as an installed package runs: with its compiled bytecode cached.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env.update(
            HARNEX_STATE_DIR=str(self.state),
            HARNEX_TMUX_SOCKET=self.socket,
            HARNEX_GENERIC_QUIET="0.2",
            PYTHONPATH=str(tree),
        )
        script = Path(sys.executable).with_name("harnex")
        self.harnex = [str(script)] if script.exists() else [sys.executable, "-m", "harnex_tmux"]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.harnex, *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.repo,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"harnex {' '.join(args)}: {result.stderr.strip()}")
        return result

    def timed(self, argv: list[str], runs: int) -> list[float]:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, env=self.env, cwd=self.repo, check=False)
            samples.append((time.perf_counter() - start) * 1000)
        return samples

    def start(self, ident: str, command: list[str]) -> dict[str, Any]:
        out = self.cli("run", "--id", ident, "--detach", command[0], "--", *command[1:])
        data: dict[str, Any] = json.loads(out.stdout)
        return data

    def client(self, ident: str) -> Any:
        from harnex_tmux.session.client import SidecarClient

        path = next((self.state / "sessions").glob(f"*--{ident}.json"))
        record = json.loads(path.read_text())
        return SidecarClient(record["host"], record["port"], record["token"], timeout=60)

    def demo_agent(self, record: Path | None = None, busy: float = 0.0) -> list[str]:
        argv = [sys.executable, "-m", "harnex_tmux.demo_agent", "--busy", str(busy)]
        return argv + (["--record", str(record)] if record else [])

    def stop_all(self) -> None:
        from harnex_tmux.tmux import default_socket_path

        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        Path(default_socket_path(self.socket)).unlink(missing_ok=True)


def measure(bench: Bench, quick: bool, label: str) -> list[Figure]:
    """Every figure for the code tree ``bench`` runs, each name prefixed with ``label``."""
    n = 5 if quick else 20
    figures = [
        summarize("harnex --version", bench.timed([*bench.harnex, "--version"], n), "ms"),
    ]
    bench.start("bench-0", PROMPT_PROGRAM)
    figures.append(
        summarize("harnex status (1 session)", bench.timed([*bench.harnex, "status"], n), "ms")
    )
    figures += starting(bench, 3 if quick else 10)
    first = bench.start("idle", PROMPT_PROGRAM)
    bench.client("idle").request("GET", "/wait?until=prompt&timeout=20", timeout=30)
    figures += sidecar_footprint(first["sidecar_pid"], 3 if quick else 10)
    figures += messaging(bench, quick)
    figures += mcp_round_trips(bench, quick)

    many = 10 if quick else 50
    pids = [bench.start(f"many-{i}", PROMPT_PROGRAM)["sidecar_pid"] for i in range(many)]
    figures.append(
        summarize(
            f"harnex status ({many + 3} sessions)",
            bench.timed([*bench.harnex, "status"], 3 if quick else 10),
            "ms",
            "<= 150 ms (50 sessions)",
        )
    )
    totals = [memory(pid) for pid in pids]
    for key in ("Rss", "Pss", "USS"):
        total = sum(t[key] for t in totals) / 1024
        figures.append(Figure(f"{many} idle sidecars, total {key}", "MB", total, total, 1))
    for figure in figures:
        figure.name = f"{label}: {figure.name}"
    return figures


def claude_transcript(path: Path, lines: int) -> None:
    """A Claude Code transcript of ``lines`` lines in 2.1.197's shape: a prompt, then the
    answer's content blocks, each repeating the request's usage."""
    rows = []
    for i in range(lines):
        if i % 4 == 0:
            rows.append({"type": "user", "promptId": f"p{i}", "message": {"content": "x" * 200}})
            continue
        usage = {
            "input_tokens": 1000 + i,
            "cache_read_input_tokens": 500,
            "cache_creation_input_tokens": 20,
            "output_tokens": 40,
        }
        message = {"id": f"msg{i // 2}", "model": "claude-sonnet-4-5", "usage": usage}
        rows.append(
            {
                "type": "assistant",
                "requestId": f"req{i // 2}",
                "timestamp": "2026-12-05T10:00:00.000Z",
                "message": {**message, "content": [{"type": "text", "text": "y" * 300}]},
            }
        )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def usage_figures(bench: Bench, quick: bool) -> list[Figure]:
    """``harnex status`` over 50 sessions whose sidecars each read a 10,000-line Claude Code
    transcript (told of it as Claude's SessionStart hook tells it), against 50 sessions
    without usage on a second tmux server and state dir, the two timed in turn so that load
    from other jobs hits both alike. The sidecars keep their offsets, so a refresh reads
    nothing old (target: within 1.2x)."""
    many, runs = (10, 5) if quick else (50, 15)
    lines = 2_000 if quick else 10_000
    plain = Bench(bench.state.parent / "plain")
    try:
        for i in range(many):
            bench.start(f"use-{i}", PROMPT_PROGRAM)
            plain.start(f"use-{i}", PROMPT_PROGRAM)
        folder = bench.state.parent / "transcripts"
        folder.mkdir(exist_ok=True)
        clients = [bench.client(f"use-{i}") for i in range(many)]
        for i in range(many):
            claude_transcript(folder / f"use-{i}.jsonl", lines)
        start = time.perf_counter()
        for i, client in enumerate(clients):
            path = str(folder / f"use-{i}.jsonl")
            payload = {"hook_event_name": "SessionStart", "transcript_path": path}
            client.request("POST", "/hook/claude", payload)
        # Each sidecar reads its whole transcript once, in its usage thread; /usage waits.
        for client in clients:
            client.request("GET", "/usage")
        first = [(time.perf_counter() - start) * 1000]
        without: list[float] = []
        with_usage: list[float] = []
        for _ in range(runs + 1):
            without += plain.timed([*plain.harnex, "status"], 1)
            with_usage += bench.timed([*bench.harnex, "status"], 1)
        without, with_usage = without[1:], with_usage[1:]  # the first warms the disk cache
    finally:
        plain.stop_all()
    ratio = statistics.median(with_usage) / statistics.median(without)
    return [
        summarize(f"harnex status ({many} sessions, no usage)", without, "ms"),
        summarize(f"harnex status ({many} sessions, {lines}-line transcripts)", with_usage, "ms"),
        Figure("status with usage / without (medians)", "x", ratio, ratio, runs, "<= 1.2x"),
        summarize(f"first read of {many} {lines}-line transcripts (all sidecars)", first, "ms"),
    ]


FLEET = 5


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _at_prompt(bench: Bench, ident: str) -> bool:
    """The resumed session's sidecar says its agent is at its prompt (asked over the API:
    a CLI call per poll would cost more than what is measured)."""
    try:
        return bool(bench.client(ident).request("GET", "/status").body.get("state") == "prompt")
    except Exception:  # not registered yet, or its sidecar still binding: not ready
        return False


def resume_round(bench: Bench) -> tuple[float, float, float]:
    """One restart of a fleet: :data:`FLEET` demo agents, each busy with one message queued
    behind it, lose their tmux server; ``harnex resume --all`` brings them back. Seconds
    from the command's start to its return, to every agent at its prompt, and to every
    queued message delivered (each once, in order, or this raises)."""
    idents = [f"fleet-{i}" for i in range(FLEET)]
    records = {i: bench.state.parent / f"{i}.jsonl" for i in idents}
    sidecars = []
    for ident in idents:
        sidecars.append(bench.start(ident, bench.demo_agent(records[ident]))["sidecar_pid"])
    for ident in idents:
        bench.cli("wait", "--id", ident, "--until", "prompt", "--timeout", "60")
        bench.cli("send", "--id", ident, "--message", "/sleep 600")
        bench.cli("wait", "--id", ident, "--until", "busy", "--timeout", "30")
        bench.cli("send", "--id", ident, "--no-wait", "--message", f"queued for {ident}")
    subprocess.run(["tmux", "-L", bench.socket, "kill-server"], capture_output=True)
    deadline = time.monotonic() + 60
    while not all(_pid_gone(pid) for pid in sidecars):
        if time.monotonic() > deadline:
            raise RuntimeError("bench: sidecars outlived their tmux server")
        time.sleep(0.05)
    start = time.perf_counter()
    resumed = json.loads(bench.cli("resume", "--all", "--timeout", "60").stdout)
    returned = time.perf_counter() - start
    if sorted(r["id"] for r in resumed) != idents:
        raise RuntimeError(f"bench: resume --all brought back {resumed}")
    ready = math.inf
    waiting = set(idents)
    deadline = time.monotonic() + 120
    while waiting and time.monotonic() < deadline:
        waiting = {i for i in waiting if not _at_prompt(bench, i)}
        ready = time.perf_counter() - start
        time.sleep(0.01)
    for ident in idents:
        got = wait_received(records[ident], 2, timeout=120)
        if got != ["/sleep 600", f"queued for {ident}"]:
            raise RuntimeError(f"bench: {ident} received {got}")
    delivered = time.perf_counter() - start
    if waiting:
        raise RuntimeError(f"bench: never at the prompt after resume: {sorted(waiting)}")
    return returned, ready, delivered


def resume_figures(workdir: Path, quick: bool) -> list[Figure]:
    """Time to the fleet back after its tmux server was killed (see :func:`resume_round`),
    each round on a new tmux server and state directory."""
    runs = 2 if quick else 5
    samples: tuple[list[float], list[float], list[float]] = ([], [], [])
    for n in range(runs):
        bench = Bench(workdir / f"round-{n}")
        try:
            for into, value in zip(samples, resume_round(bench), strict=True):
                into.append(value * 1000)
        finally:
            bench.stop_all()
    returned, ready, delivered = samples
    return [
        summarize(f"resume --all: the command returns ({FLEET} sessions)", returned, "ms"),
        summarize(f"resume --all to every agent at its prompt ({FLEET} sessions)", ready, "ms"),
        summarize(
            f"resume --all to every queued message delivered ({FLEET} sessions)", delivered, "ms"
        ),
    ]


def dash_figures(bench: Bench, quick: bool, before: Path | None = None) -> list[Figure]:
    """``harnex dash`` in a real tmux pane over 50 live sessions, read with capture-pane as a
    person sees it: opening time, idle CPU, how soon a state change shows, CPU per refresh.

    A state change is one ``state`` line appended to a session's events log, as the sidecar
    writes it, so the figure is the dashboard's own part (watch, read, redraw); the sidecar's
    own time to see the agent change is measured elsewhere.

    With ``before`` (the package exported at an older revision), that tree's dashboard is
    measured over the same fleet in the same run, in turns with this one (old, new, old,
    new), so load from other jobs hits both alike; the figures then carry each tree's label
    and a ratio row compares the CPU per refresh."""
    many = 10 if quick else 50
    for i in range(many):
        bench.start(f"d{i:02d}", PROMPT_PROGRAM)
    _with_usage(bench)
    if before is None:
        return _dash_pass(bench, ROOT, many, quick)
    passes: dict[str, list[list[Figure]]] = {"before": [], "now": []}
    for _ in range(1 if quick else 2):
        passes["before"].append(_dash_pass(bench, before, many, quick))
        passes["now"].append(_dash_pass(bench, ROOT, many, quick))
    found: list[Figure] = []
    medians: dict[str, float] = {}
    for label, runs in passes.items():
        for n, first in enumerate(runs[0]):
            values = [run[n].median for run in runs]
            found.append(
                Figure(
                    f"{label}: {first.name}",
                    first.unit,
                    statistics.median(values),
                    max(values),
                    sum(run[n].runs for run in runs),
                    first.target,
                )
            )
        medians[label] = found[-1].median  # the last figure of a pass: CPU per refresh
    ratio = medians["before"] / medians["now"] if medians["now"] else float("nan")
    found.append(
        Figure(f"dash: CPU per refresh, before / now ({many} sessions)", "x", ratio, ratio, 1)
    )
    return found


def _with_usage(bench: Bench) -> None:
    """A ``usage`` event in every session's events log, as a sidecar writes one when a turn
    ends: the dashboard then shows its TOKENS and COST columns for all of them."""
    for n, log in enumerate(sorted((bench.state / "events").glob("*--d*.jsonl"))):
        ident = log.stem.split("--", 1)[1]
        total = {"input": 1000 * (n + 1), "output": 50 * n, "tokens": 1000 * (n + 1) + 50 * n}
        event = {"schema_version": 1, "seq": 9_000, "ts": "2030-01-01T00:00:00Z", "id": ident}
        event.update(type="usage", turn=1, total=dict(total, cost_usd=0.01 * (n + 1)))
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")


def _counted(screen: str) -> int:
    """How many sessions the dashboard's banner counts (-1 before it shows them)."""
    found = re.search(r"(\d+) need you · (\d+) busy · (\d+) idle", screen)
    return sum(int(n) for n in found.groups()) if found else -1


def _dash_pass(bench: Bench, tree: Path, many: int, quick: bool) -> list[Figure]:
    """One dashboard of ``tree`` opened, measured and closed."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in bench.env.items() if k.startswith("HARNEX_"))
    command = f"exec env {env} PYTHONPATH={shlex.quote(str(tree))} "
    command += f"TERM=xterm-256color {shlex.quote(sys.executable)} -m harnex_tmux dash"
    tmux = ["tmux", "-L", bench.socket]
    subprocess.run([*tmux, "set", "-g", "default-size", "200x70"], capture_output=True)

    def screen() -> str:
        out = subprocess.run([*tmux, "capture-pane", "-p", "-t", pane], capture_output=True)
        return out.stdout.decode(errors="replace")

    start = time.perf_counter()
    out = subprocess.run(
        [*tmux, "new-window", "-P", "-F", "#{pane_id} #{pane_pid}", "-t", "harnex:", command],
        capture_output=True,
        text=True,
        cwd=bench.repo,
    )
    pane, pid_text = out.stdout.split()
    subprocess.run([*tmux, "resize-window", "-t", pane, "-x", "200", "-y", "70"])
    while _counted(screen()) != many:
        if time.perf_counter() - start > 30:
            raise RuntimeError("the dashboard did not show the fleet within 30 s")
        time.sleep(0.01)
    opening = (time.perf_counter() - start) * 1000
    pid = int(pid_text)
    time.sleep(2)  # its first look at every sidecar has settled

    def cpu_s() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    idle_s = 3.0 if quick else 10.0
    before, t0 = cpu_s(), time.perf_counter()
    time.sleep(idle_s)
    idle_rate = (cpu_s() - before) / (time.perf_counter() - t0)

    logs = sorted((bench.state / "events").glob("*--d*.jsonl"))
    latencies = []
    before, t0 = cpu_s(), time.perf_counter()
    rounds = 5 if quick else 20
    for n in range(rounds):
        log = logs[n % len(logs)]
        ident = log.stem.split("--", 1)[1]
        # Each change flips the session from what the last one left: it moves to the other
        # group every time, whichever pass this is.
        shown = next(line for line in screen().splitlines() if line.lstrip().startswith(ident))
        to, back = ("prompt", "busy") if "* busy" in shown else ("busy", "prompt")
        event = {"schema_version": 1, "seq": 10_000 + n, "ts": "2030-01-01T00:00:00Z"}
        event.update({"id": ident, "type": "state", "from": back, "to": to})
        glyph = "* busy" if to == "busy" else "> prompt"
        sent = time.perf_counter()
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")
        while not any(
            line.lstrip().startswith(ident) and glyph in line for line in screen().splitlines()
        ):
            if time.perf_counter() - sent > 10:
                raise RuntimeError(f"the change of {ident} did not show within 10 s")
            time.sleep(0.005)
        latencies.append((time.perf_counter() - sent) * 1000)
        time.sleep(0.3)
    spent = cpu_s() - before - idle_rate * (time.perf_counter() - t0)
    per_refresh = max(0.0, spent) / rounds * 1000
    subprocess.run([*tmux, "send-keys", "-t", pane, "q"], capture_output=True)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # closed before the next pass opens
    return [
        Figure(f"dash: opening with {many} sessions", "ms", opening, opening, 1, "<= 1000 ms"),
        Figure(
            f"dash: idle CPU with {many} sessions",
            "%",
            idle_rate * 100,
            idle_rate * 100,
            1,
            "< 2 %",
        ),
        summarize(
            f"dash: state change to the list on screen ({many} sessions)",
            latencies,
            "ms",
            "<= 200 ms",
        ),
        Figure(
            f"dash: CPU per refresh ({many} sessions)",
            "ms",
            per_refresh,
            per_refresh,
            rounds,
            "<= 20 ms",
        ),
    ]


def starting(bench: Bench, runs: int) -> list[Figure]:
    """``run --detach`` until its JSON line, and on until the sidecar reports the program's
    prompt (seen through a ``/wait`` long-poll, so no polling interval is in the figure)."""
    detach, ready = [], []
    for i in range(runs):
        start = time.perf_counter()
        bench.start(f"ready-{i}", PROMPT_PROGRAM)
        detach.append((time.perf_counter() - start) * 1000)
        answer = bench.client(f"ready-{i}").request(
            "GET", "/wait?until=prompt&timeout=20", timeout=30
        )
        ready.append((time.perf_counter() - start) * 1000)
        if not answer.body.get("reached"):
            raise RuntimeError(f"ready-{i} never showed its prompt: {answer.body}")
        bench.cli("stop", "--id", f"ready-{i}")
    return [
        summarize("run --detach to its JSON line", detach, "ms", "<= 150 ms"),
        summarize("run to ready (program prompting at once)", ready, "ms", "<= 300 ms"),
    ]


def memory(pid: int) -> dict[str, int]:
    """Rss, Pss and USS (private pages) of a process in KiB, from ``smaps_rollup``."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        fields[key] = int(rest.split()[0])
    fields["USS"] = fields["Private_Clean"] + fields["Private_Dirty"]
    return fields


def sidecar_footprint(pid: int, seconds: float) -> list[Figure]:
    def cpu_ticks() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    hz = os.sysconf("SC_CLK_TCK")
    time.sleep(1.0)
    mem = memory(pid)
    before, start = cpu_ticks(), time.monotonic()
    time.sleep(seconds)
    used = (cpu_ticks() - before) / hz
    percent = 100 * used / (time.monotonic() - start)
    rss, pss, uss = mem["Rss"] / 1024, mem["Pss"] / 1024, mem["USS"] / 1024
    return [
        Figure("sidecar RSS (idle generic session)", "MB", rss, rss, 1, "<= 20 MB"),
        Figure("sidecar PSS (idle generic session)", "MB", pss, pss, 1),
        Figure("sidecar USS (idle generic session)", "MB", uss, uss, 1),
        Figure(f"sidecar idle CPU over {seconds:g}s", "%", percent, percent, 1, "< 0.3 %"),
    ]


def messaging(bench: Bench, quick: bool) -> list[Figure]:
    """Messages to the demo agent at its prompt: through the CLI, through the API, a big one,
    and back to back; at the end the agent must have received each exactly once."""
    record = Path(tempfile.mkdtemp()) / "received.jsonl"
    bench.start("msg", bench.demo_agent(record))
    client = bench.client("msg")
    sent: list[str] = []

    def at_prompt() -> None:
        client.request("GET", "/wait?until=prompt&timeout=20", timeout=30)

    def through_api(text: str) -> float:
        at_prompt()
        start = time.perf_counter()
        answer = client.request("POST", "/send", {"text": text, "wait": 30}, timeout=60)
        elapsed = (time.perf_counter() - start) * 1000
        if answer.body.get("status") != "delivered":
            raise RuntimeError(f"not delivered: {answer.body}")
        sent.append(text)
        return elapsed

    def through_cli(text: str) -> float:
        at_prompt()
        start = time.perf_counter()
        bench.cli("send", "--id", "msg", "--message", text)
        elapsed = (time.perf_counter() - start) * 1000
        sent.append(text)
        return elapsed

    runs = 5 if quick else 30
    cli = [through_cli(f"cli {i}") for i in range(runs)]
    api = [through_api(f"api {i}") for i in range(runs)]
    big_text = ("0123456789abcdef" * 64 + "\n") * 100  # ~100 KiB
    big = [through_api(big_text) for _ in range(2 if quick else 5)]
    big_sent = len(big)
    del sent[-big_sent:]
    count = 100 if quick else 300
    at_prompt()
    start = time.perf_counter()
    for i in range(count):
        text = f"bulk {i}"
        answer = client.request("POST", "/send", {"text": text, "wait": 30}, timeout=60)
        if answer.body.get("status") != "delivered":
            raise RuntimeError(f"not delivered: {answer.body}")
        sent.append(text)
    rate = count / (time.perf_counter() - start)
    figures = reader_messaging(bench, runs, count)
    received = wait_received(record, len(sent) + big_sent)
    big_received = sum(1 for text in received if text.startswith("0123456789abcdef"))
    received = [text for text in received if not text.startswith("0123456789abcdef")]
    if received != sent or big_received != big_sent:
        raise RuntimeError(f"the agent did not receive each message once, in order: {received}")
    return [
        summarize("send -> delivered, CLI (1 line, demo agent)", cli, "ms", "median <= 60 ms"),
        summarize("send -> delivered, API (1 line, demo agent)", api, "ms", "median <= 15 ms"),
        summarize("send -> delivered, API (100 KiB message, demo agent)", big, "ms", "< 1000 ms"),
        Figure(
            f"throughput, {count} messages back to back (demo agent)",
            "msg/s",
            rate,
            rate,
            1,
            "report",
        ),
        *figures,
    ]


def reader_messaging(bench: Bench, runs: int, count: int) -> list[Figure]:
    """The same through a program blocked reading its terminal (a shell ``read`` loop, the
    terminal echoing): the kernel tells harnex when it is at its prompt."""
    record = Path(tempfile.mkdtemp()) / "lines.txt"
    loop = (
        f'printf "> "; while IFS= read -r l; do printf "%s\\n" "$l" >> {shlex.quote(str(record))}; '
        'printf "> "; done'
    )
    bench.start("reader", ["sh", "-c", loop])
    client = bench.client("reader")
    sent: list[str] = []

    def one(text: str) -> float:
        start = time.perf_counter()
        answer = client.request("POST", "/send", {"text": text, "wait": 30}, timeout=60)
        elapsed = (time.perf_counter() - start) * 1000
        if answer.body.get("status") != "delivered":
            raise RuntimeError(f"not delivered: {answer.body}")
        sent.append(text)
        return elapsed

    api, cli = [], []
    for i in range(runs):
        client.request("GET", "/wait?until=prompt&timeout=20", timeout=30)
        api.append(one(f"api {i}"))
    for i in range(runs):
        client.request("GET", "/wait?until=prompt&timeout=20", timeout=30)
        start = time.perf_counter()
        bench.cli("send", "--id", "reader", "--message", f"cli {i}")
        cli.append((time.perf_counter() - start) * 1000)
        sent.append(f"cli {i}")
    client.request("GET", "/wait?until=prompt&timeout=20", timeout=30)
    start = time.perf_counter()
    for i in range(count):
        one(f"bulk {i}")
    rate = count / (time.perf_counter() - start)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(record.read_text().splitlines()) < len(sent):
        time.sleep(0.1)
    if record.read_text().splitlines() != sent:
        raise RuntimeError("the reading program did not receive each message once, in order")
    return [
        summarize("send -> delivered, CLI (1 line, program reading)", cli, "ms", "median <= 60 ms"),
        summarize("send -> delivered, API (1 line, program reading)", api, "ms", "median <= 15 ms"),
        Figure(
            f"throughput, {count} messages back to back (program reading)",
            "msg/s",
            rate,
            rate,
            1,
            "report",
        ),
    ]


def wait_received(record: Path, count: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = record.read_text().splitlines() if record.exists() else []
        received = [json.loads(line)["text"] for line in lines]
        if len(received) >= count or time.monotonic() > deadline:
            return received
        time.sleep(0.1)


def mcp_round_trips(bench: Bench, quick: bool) -> list[Figure]:
    """The same two operations as a CLI call (a process each) and as a tool call to one
    running ``harnex mcp`` (over stdio, the way an agent talks to it)."""
    import anyio
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from harnex_tmux.session.client import SidecarClient

    n = 5 if quick else 20
    bench.start("mcp-target", bench.demo_agent())
    bench.cli("wait", "--id", "mcp-target", "--until", "prompt", "--timeout", "20")
    registry = json.loads(
        next(
            (Path(bench.env["HARNEX_STATE_DIR"]) / "sessions").glob("*--mcp-target.json")
        ).read_text()
    )
    sidecar = SidecarClient(registry["host"], registry["port"], registry["token"], timeout=60)

    def at_prompt() -> None:
        sidecar.request("GET", "/wait?until=prompt&timeout=20", timeout=30)

    status_argv = [*bench.harnex, "status", "--id", "mcp-target", "--json"]
    cli_status = bench.timed(status_argv, n)
    cli_send = []
    for i in range(n):
        at_prompt()
        cli_send += bench.timed([*bench.harnex, "send", "--id", "mcp-target", "-m", f"c{i}"], 1)

    params = StdioServerParameters(
        command=bench.harnex[0], args=[*bench.harnex[1:], "mcp"], env=bench.env, cwd=bench.repo
    )
    tool_status: list[float] = []
    tool_send: list[float] = []

    async def calls() -> None:
        async with Client(params, mode="legacy") as client:
            for samples, name in ((tool_status, "status"), (tool_send, "send")):
                for i in range(n):
                    args = {"id": "mcp-target"}
                    if name == "send":
                        args["message"] = f"m{i}"
                        await anyio.to_thread.run_sync(at_prompt)
                    start = time.perf_counter()
                    result = await client.call_tool(name, args)
                    samples.append((time.perf_counter() - start) * 1000)
                    if result.is_error:
                        raise RuntimeError(f"mcp {name}: {result.content}")

    anyio.run(calls)
    return [
        summarize("harnex status --id X --json (CLI)", cli_status, "ms"),
        summarize("MCP tool call: status (one id)", tool_status, "ms", "below the CLI's"),
        summarize("harnex send to delivered (CLI)", cli_send, "ms"),
        summarize("MCP tool call: send to delivered", tool_send, "ms", "below the CLI's"),
    ]


def mcp_under_load(bench: Bench, quick: bool) -> list[Figure]:
    """``status`` from one client of ``harnex mcp --http`` while 4 other clients hold 200
    ``wait`` calls in flight (more than the server's worker threads): waits hold no thread,
    so status answers as fast as with nothing waiting."""
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    n = 5 if quick else 20
    bench.start("load-target", bench.demo_agent())
    bench.cli("wait", "--id", "load-target", "--until", "prompt", "--timeout", "20")
    server = subprocess.Popen(
        [*bench.harnex, "mcp", "--http", "0"],
        env=bench.env,
        cwd=bench.repo,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    samples: list[float] = []
    try:
        assert server.stderr is not None
        words = server.stderr.readline().split()  # harnex mcp: serving URL token TOKEN
        url, token = words[3], words[5]

        async def session(body: Any) -> None:
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=300)
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                await body(client)

        async def waits(client: Any) -> None:
            async with anyio.create_task_group() as group:
                for _ in range(50):
                    args = {"id": "load-target", "until": "busy", "timeout": 120}
                    group.start_soon(client.call_tool, "wait", args)

        async def main() -> None:
            async with anyio.create_task_group() as group:
                for _ in range(4):
                    group.start_soon(session, waits)

                async def measure(client: Any) -> None:
                    await anyio.sleep(3)  # every wait is at the sidecar by now
                    for _ in range(n):
                        start = time.perf_counter()
                        result = await client.call_tool("status", {"id": "load-target"})
                        samples.append((time.perf_counter() - start) * 1000)
                        if result.is_error:
                            raise RuntimeError(f"mcp status: {result.content}")
                    await client.call_tool("stop", {"id": "load-target", "timeout": 20})

                await session(measure)

        anyio.run(main)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return [summarize("MCP status with 200 waits in flight", samples, "ms", "<= 100 ms")]


AGENTS = ("claude", "codex", "gemini", "opencode")


def agent_figures(workdir: Path, quick: bool, names: tuple[str, ...] = AGENTS) -> list[Figure]:
    """Per real CLI (the pinned npm packages, against the e2e mock servers): launch to prompt,
    and readiness lag from the mock writing the last byte of its reply to /status saying
    ``prompt`` (seen through a /wait long-poll, so the figure is not a polling interval)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from e2e.agents import (
        claude_launch,
        codex_launch,
        gemini_launch,
        install_agents,
        opencode_launch,
    )
    from e2e.mock_anthropic import MockAnthropic
    from e2e.mock_gemini import MockGemini
    from e2e.mock_openai import MockOpenAI

    from harnex_tmux.session.client import SidecarClient

    agents = install_agents()
    mocks: dict[str, Any] = {
        "claude": MockAnthropic,
        "codex": MockOpenAI,
        "gemini": MockGemini,
        "opencode": MockOpenAI,
    }

    def launch_for(name: str, url: str, home: Path, repo: Path) -> Any:
        if name == "claude":
            return claude_launch(agents.claude, url, home, repo, trust=True)
        if name == "codex":
            return codex_launch(agents.codex, url + "/v1", home, repo, trust=True)
        if name == "gemini":
            return gemini_launch(agents.gemini, url, home, repo, trust=True)
        return opencode_launch(agents.opencode, url + "/v1", home, repo, ask_bash=False)

    figures: list[Figure] = []
    runs = 2 if quick else 5
    for name, hooks in [(n, h) for n in names for h in (True, False)]:
        label = f"{name} ({'hooks' if hooks else 'screen only'})"
        launches, lags = [], []
        mock: Any = mocks[name]()
        mock.start()
        try:
            for run in range(runs):
                tag = f"{name}-{'h' if hooks else 's'}-{run}"
                home, repo = workdir / f"{tag}-home", workdir / f"{tag}-repo"
                (repo / ".git").mkdir(parents=True)
                launch = launch_for(name, mock.url, home, repo)
                bench = Bench(workdir / f"{tag}-bench")
                bench.env = {
                    **launch.env,
                    **{k: v for k, v in bench.env.items() if k.startswith("HARNEX_")},
                }
                bench.env["PATH"] = f"{Path(sys.executable).parent}:{launch.env['PATH']}"
                # The agent's clean environment has no PYTHONPATH: measure this checkout.
                bench.env["PYTHONPATH"] = str(ROOT)
                if not hooks:
                    bench.env["HARNEX_NO_HOOKS"] = "1"
                bench.repo = repo
                try:
                    start = time.perf_counter()
                    info = bench.start(f"{name}-{run}", launch.argv)
                    bench.cli("wait", "--id", info["id"], "--until", "prompt", "--timeout", "90")
                    launches.append((time.perf_counter() - start) * 1000)
                    record = json.loads(
                        next(
                            (Path(bench.env["HARNEX_STATE_DIR"]) / "sessions").glob("*.json")
                        ).read_text()
                    )
                    client = SidecarClient(record["host"], record["port"], record["token"], 60)
                    mock.delay_s = 0.5  # long enough to see busy before the reply ends
                    for i in range(3):
                        done = len(mock.reply_finished_at)
                        client.request(
                            "POST", "/send", {"text": f"lag probe {i}", "wait": 30}, timeout=40
                        )
                        client.request("GET", "/wait?until=busy&timeout=10", timeout=20)
                        client.request("GET", "/wait?until=prompt&timeout=30", timeout=40)
                        seen = time.monotonic()
                        if len(mock.reply_finished_at) > done:
                            lags.append((seen - mock.reply_finished_at[done][0]) * 1000)
                finally:
                    mock.delay_s = 0.0
                    bench.stop_all()
                    launch.cleanup()
        finally:
            mock.stop()
        figures.append(summarize(f"{label}: launch to prompt", launches, "ms"))
        figures.append(
            summarize(
                f"{label}: readiness lag (reply done -> prompt)",
                lags,
                "ms",
                "median < 50 ms" if hooks else "median < 100 ms",
            )
        )
    figures.append(hook_cost(workdir, 5 if quick else 20))
    return figures


HOST = "box"


def host_figures(workdir: Path, quick: bool) -> list[Figure]:
    """A session on another host (the tests' OpenSSH server on loopback, a second Unix user:
    tests/sshd.py) next to a local one, in one run: send to delivered through the CLI, and
    status with that host known against status of this machine alone, over the kept channel
    and, for comparison, per call (HARNEX_HOST_CHANNEL=off). The ratios are the figures that
    travel; loopback has no network delay, so they price ssh and the remote side, not a link."""
    sys.path.insert(0, str(ROOT))
    from tests import sshd

    host = sshd.start()
    bench = Bench(workdir)
    runs = 5 if quick else 20
    remote_python = f"{host.home}/.local/share/harnex/venv/bin/python"
    local_record = workdir / "local.jsonl"
    remote_record = host.home / "records" / f"bench-{bench.socket}.jsonl"
    try:
        host.ssh("mkdir", "-p", "records")
        # The same agent and readiness rule on both sides.
        agent = ["-m", "harnex_tmux.demo_agent", "--busy", "0"]
        ready = ["--detach", "--prompt-regex", r"^demo> ?$"]
        bench.cli(
            "run", "--id", "here", *ready, sys.executable, "--", *agent,
            "--record", str(local_record),
        )  # fmt: skip
        alone = bench.timed([*bench.harnex, "status"], runs)
        bench.env["HARNEX_SSH_CONFIG"] = str(host.ssh_config)
        bench.cli("hosts", "add", HOST, sshd.ALIAS)
        bench.cli(
            "run", "--on", HOST, "--id", "there", *ready, remote_python, "--", *agent,
            "--record", str(remote_record),
        )  # fmt: skip
        # The kept channel is set up by the first command (then warm, like the master), and
        # must be in use: a silent fall back to the per-call path would measure that.
        bench.cli("status")
        kept = json.loads(bench.cli("hosts", "check", HOST, "--json").stdout)["channel"]
        if not kept["in_use"]:
            raise RuntimeError(f"the kept channel is not in use: {kept['reason']}")
        both = bench.timed([*bench.harnex, "status"], runs)

        def send(target: str, text: str) -> float:
            bench.cli("wait", "--id", target, "--until", "prompt", "--timeout", "30")
            start = time.perf_counter()
            bench.cli("send", "--id", target, "--message", text)
            return (time.perf_counter() - start) * 1000

        # Taken in turns, so that the shared machine's load drifting over the run weighs on
        # both alike (the difference is the figure).
        local, remote = [], []
        for i in range(runs):
            local.append(send("here", f"local {i}"))
            remote.append(send(f"{HOST}:there", f"remote {i}"))
        served = json.loads(bench.cli("hosts", "check", HOST, "--json").stdout)["channel"]
        if served["server"]["served"] - kept["server"]["served"] < 3 * runs:
            raise RuntimeError("ops went around the kept channel")
        # The same with one ssh command and one new harnex on the host per op.
        bench.env["HARNEX_HOST_CHANNEL"] = "off"
        both_per_call = bench.timed([*bench.harnex, "status"], runs)
        per_call = [send(f"{HOST}:there", f"remote {runs + i}") for i in range(runs)]
        del bench.env["HARNEX_HOST_CHANNEL"]
        expected = [f"remote {i}" for i in range(2 * runs)]
        if wait_received(remote_record, 2 * runs) != expected:
            raise RuntimeError("the remote agent did not receive each message once, in order")
        if wait_received(local_record, runs) != [f"local {i}" for i in range(runs)]:
            raise RuntimeError("the local agent did not receive each message once, in order")
    finally:
        bench.cli("stop", "--id", f"{HOST}:there", check=False)
        bench.cli("hosts", "remove", HOST, check=False)
        bench.stop_all()
        sshd.finish(host)
    figures = [
        summarize("send -> delivered, CLI, local (demo agent)", local, "ms"),
        summarize(
            "send -> delivered, CLI, over ssh (warm master, kept channel)",
            remote,
            "ms",
            "<= local + 30 ms",
        ),
        summarize("send -> delivered, CLI, over ssh, per call (channel off)", per_call, "ms"),
        summarize("status, this machine alone (1 session)", alone, "ms"),
        summarize(
            "status, this machine + 1 host (2 sessions, kept channel)", both, "ms", "<= 1.5x alone"
        ),
        summarize("status, this machine + 1 host, per call (channel off)", both_per_call, "ms"),
    ]
    ratio_send = statistics.median(remote) / statistics.median(local)
    ratio_status = statistics.median(both) / statistics.median(alone)
    figures.append(Figure("ratio: send over ssh / local (medians)", "x", ratio_send, ratio_send, 1))
    figures.append(
        Figure("ratio: status + host / alone (medians)", "x", ratio_status, ratio_status, 1)
    )
    return figures


def hook_cost(workdir: Path, runs: int) -> Figure:
    """Wall time of one hook run as the agents run it (no sidecar listening: the connection
    attempt fails at once on loopback, so this is the cost of starting and reporting)."""
    from harnex_tmux import hook

    registry = workdir / "hook-registry.json"
    registry.write_text(json.dumps({"host": "127.0.0.1", "port": 9, "token": "x"}))
    argv = [sys.executable, "-S", "-P", hook.__file__, "claude", "Stop"]
    env = {"HARNEX_REGISTRY": str(registry), "PATH": os.environ.get("PATH", "")}
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, input=b'{"last_assistant_message": "x"}', env=env, check=False)
        samples.append((time.perf_counter() - start) * 1000)
    return summarize("hook run (python -S -P hook.py)", samples, "ms", "< 50 ms")


def baselines(bench: Bench, quick: bool) -> list[Figure]:
    n = 5 if quick else 20
    return [
        summarize("baseline: python -c pass", bench.timed([sys.executable, "-c", "pass"], n), "ms"),
        summarize("baseline: tmux -V", bench.timed(["tmux", "-V"], n), "ms"),
    ]


def export_tree(rev: str, into: Path) -> Path:
    """The package as it was at git revision ``rev``, for a side-by-side run."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "harnex_tmux"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def run_tree(tree: Path, workdir: Path, quick: bool, label: str) -> list[Figure]:
    bench = Bench(workdir, tree)
    try:
        return measure(bench, quick, label)
    finally:
        bench.stop_all()
        time.sleep(0.5)  # sidecars finishing their last writes into the state folder


def ratios(before: list[Figure], after: list[Figure]) -> list[str]:
    old = {f.name.split(": ", 1)[1]: f for f in before}
    rows = []
    for figure in after:
        name = figure.name.split(": ", 1)[1]
        if name in old and old[name].median:
            rows.append(
                f"| {name} | {old[name].median:.1f} {figure.unit} | {figure.median:.1f} "
                f"{figure.unit} | {figure.median / old[name].median:.2f}x | {figure.target} |"
            )
    return rows


def render(
    figures: list[Figure], quick: bool, before: list[Figure], after: list[Figure], rev: str
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python scripts/bench.py"
        f"{' --quick' if quick else ''}{f' --before {rev}' if rev else ''}` on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{subprocess.run(['tmux', '-V'], capture_output=True, text=True).stdout.strip()}.",
        "The machine is shared with other jobs, so absolute times are noisy: read them against "
        "the baselines and the side-by-side figures measured in the same run.",
        "",
    ]
    lines += targets(after)
    if before:
        lines += [
            f"## This tree against `{rev}`, side by side in one run",
            "",
            f"| what | {rev} | now | ratio | target |",
            "|---|---|---|---|---|",
            *ratios(before, after),
            "",
        ]
    lines += [
        "## All figures",
        "",
        "| what | median | p95 | runs | target |",
        "|---|---|---|---|---|",
        *(figure.row() for figure in figures),
        "",
        "## Baseline: Ruby harnex 0.4.0 (from the issue, not measured here)",
        "",
        "Ruby is not installed on the machine these figures come from, so the figures the "
        "issue measured side by side (same machine, same fake agent) are kept as the "
        "baseline:",
        "",
        "| what | Ruby harnex 0.4.0 | now | now / Ruby |",
        "|---|---|---|---|",
        *ruby_rows(after),
        "",
        "Ruby's send figure is derived from the issue (our 86 ms was 0.98x of Ruby's); which "
        "fake agent the issue used is not recorded, so ours is the program-reading one.",
        "",
        READING,
        VARIATION,
    ]
    return "\n".join(lines)


def ruby_rows(after: list[Figure]) -> list[str]:
    found = {f.name.split(": ", 1)[1]: f for f in after}
    rows = []
    for what, ruby, unit, ours in RUBY_BASELINE:
        figure = found.get(ours)
        now = f"{figure.median:.1f} {unit}" if figure else "-"
        ratio = f"{figure.median / ruby:.2f}x" if figure else "-"
        rows.append(f"| {what} | {ruby:g} {unit} | {now} | {ratio} |")
    return rows


# The targets of issue 16: (figure name, the most it may be, unit).
TARGETS = [
    ("sidecar RSS (idle generic session)", 20.0, "MB"),
    ("run --detach to its JSON line", 150.0, "ms"),
    ("run to ready (program prompting at once)", 300.0, "ms"),
    ("send -> delivered, CLI (1 line, program reading)", 60.0, "ms"),
    ("send -> delivered, CLI (1 line, demo agent)", 60.0, "ms"),
    ("send -> delivered, API (1 line, program reading)", 15.0, "ms"),
    ("send -> delivered, API (1 line, demo agent)", 15.0, "ms"),
    ("harnex status (53 sessions)", 150.0, "ms"),
]


def targets(after: list[Figure]) -> list[str]:
    found = {f.name.split(": ", 1)[1]: f for f in after}
    rows = []
    for name, limit, unit in TARGETS:
        figure = found.get(name)
        if figure is None:
            continue
        verdict = "met" if figure.median <= limit else "**not met** (see below)"
        rows.append(f"| {name} | <= {limit:g} {unit} | {figure.median:.1f} {unit} | {verdict} |")
    if not rows:
        return []
    return [
        "## Targets (issue 16), medians of this run",
        "",
        "| what | target | measured | |",
        "|---|---|---|---|",
        *rows,
        "",
        WHY,
    ]


WHY = """### What bounds the figures that miss their target

- **run --detach** runs two interpreters one after the other. Traced (`strace -f -tt`), the
  CLI starts the sidecar as soon as it sees `run` (`harnex_tmux.early_sidecar`), after its
  interpreter, `site` (~40 ms here, see the `python -c pass` baseline) and click; the
  sidecar then needs ~90 ms to start its interpreter and import its modules (~55 ms of
  imports even with compiled bytecode), overlapping only the CLI's remaining checks; then
  4 tmux runs (~25 ms) and the agent's pid. Starting the sidecar without `site`
  (`python -S`) was measured and gained ~2 ms (the sidecar imports most of what `site`
  does anyway), so it was left out. Well under 150 ms would need a resident process (a
  server that forks sidecars), which the design does not have.
- **send from the CLI** is an interpreter start with click (`harnex --version` alone is
  ~60 ms) plus the delivery: even an instant delivery cannot make 60 ms here.
- **send to the demo agent through the API**: the demo agent, like Claude Code and Codex,
  waits for keys in an event loop (`select`), so the kernel cannot say it has taken the
  typed text; the text counts as landed once its output has been quiet for 30 ms
  (`LANDED_QUIET_S` in `sidecar/delivery.py`), which keeps a TUI from taking the submit key
  as part of a paste. That wait is the floor of this figure. A program blocked reading its
  terminal is confirmed by the kernel instead (`_landed_in_reader`): what is left is 4 tmux
  runs and the program's echo, a few ms each, which load on this shared machine stretches
  (11.9 ms median in an earlier full run the same day, 18.6 ms in a busier one).
- **throughput** is one message after another, each waiting until delivered and for the
  next prompt: for a program reading its terminal that is the 50 ms its output must pause
  before it counts as at its prompt (`PROMPT_SETTLE_S` in `adapters/generic.py`) plus the
  delivery; for the event-loop demo agent the generic quiet window (0.2 s in this run,
  `HARNEX_GENERIC_QUIET`; 0.5 s by default).
"""

VARIATION = """## How much the figures move between runs on this machine

Three full runs of this script on 2026-11-30, one after the other, with other jobs on the
machine (medians, this tree; in brackets the branch base `995c303` in the same run). The
doc above is the last of them; a target that one run misses by a little, another meets:

| what | run 1 | run 2 | run 3 |
|---|---|---|---|
| sidecar RSS (idle generic session) | 18.2 MB (26.3) | 18.3 MB (26.3) | 18.3 MB (26.3) |
| run --detach to its JSON line | 192.9 ms (361.7) | 246.7 ms (311.7) | 163.0 ms (311.5) |
| run to ready | 219.6 ms (376.5) | 275.9 ms (337.1) | 192.8 ms (340.3) |
| send -> delivered, API (program reading) | 11.9 ms (46.8) | 18.6 ms (48.5) | 16.1 ms (46.6) |
| send -> delivered, API (demo agent) | 45.2 ms (47.4) | 48.6 ms (46.4) | 42.8 ms (45.9) |
| send -> delivered, CLI (program reading) | 86.7 ms (117.9) | 124.9 ms (132.2) | 110.0 ms (132.0) |
| harnex status (53 sessions) | 117.0 ms (142.8) | 116.5 ms (151.4) | 180.3 ms (125.3) |
| baseline: python -c pass | 45.5 ms | 42.9 ms | 39.1 ms |

`harnex status` with 53 sessions asks every sidecar at once (a thread each): its figure is
mostly 53 sidecar processes being scheduled on 2 shared cores, so it moves most with the
load. Handing the sessions to 4 or 16 worker threads instead was measured and was no faster.
"""

READING = """## Reading the figures

- The side-by-side table runs the same measurements on both trees, one after the other;
  the real Claude Code and Codex figures (in "All figures", unprefixed) are of this tree
  only.
- CLI and sidecar run with their compiled bytecode cached, as an installed package does
  (this machine's environment sets `PYTHONDONTWRITEBYTECODE=1`, which made every CLI and
  sidecar compile harnex from source: ~40 ms more per sidecar start; bench.py unsets it for
  what it measures).
- CLI times include the interpreter's own start-up: compare them with the `python -c pass`
  baseline of the same run.
- "run to ready" starts a program that prints `> ` and blocks reading its terminal, and ends
  when the sidecar's `/wait` long-poll reports `prompt`: the kernel says it reads, and its
  output has paused for 50 ms.
- Memory comes from `/proc/PID/smaps_rollup`: RSS counts shared pages (the interpreter,
  libraries) in full in every process, PSS shares them out among the processes using them,
  USS is what the process alone holds (what one more session really costs).
- The send figures run from the request to the sidecar confirming the submit; the CLI
  figure adds the interpreter start, the registry lookup and a connection. "demo agent" is
  `harnex_tmux.demo_agent` (raw mode, waits for keys in `select` like the real agent CLIs);
  "program reading" is a shell `read` loop, blocked reading its terminal (canonical mode).
  Throughput sends one message after another, each waiting until delivered; at the end
  each agent must have received each message exactly once, in order.
- Readiness lag is the time from the mock model server writing the last byte of its reply to
  the sidecar reporting `prompt`, seen through a `/wait` long-poll. Claude Code posts its
  `Stop` event to the sidecar itself (an http hook, no process start-up); Codex runs harnex's
  notify script without waiting, so its screen and the hook race and the earlier wins.
- A hook run (what Codex starts after each turn, and Claude with
  `HARNEX_CLAUDE_HOOKS=command`) is dominated by the interpreter starting without
  site-packages: compare it with the `python -c pass` baseline.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke check")
    parser.add_argument("--write", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--before",
        metavar="REV",
        default="",
        help="also measure the package at this git revision, side by side",
    )
    parser.add_argument(
        "--no-agents",
        action="store_true",
        help="skip the real agent CLIs' figures (they need npm)",
    )
    parser.add_argument(
        "--agents",
        default=",".join(AGENTS),
        help=f"which real CLIs to measure, comma-separated (default: {','.join(AGENTS)})",
    )
    parser.add_argument(
        "--dash", action="store_true", help="only the dashboard's figures (harnex dash)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"only the time to {FLEET} sessions back after their tmux server was killed",
    )
    parser.add_argument(
        "--hosts",
        action="store_true",
        help="only the figures of a session on another host (the tests' sshd on loopback; root)",
    )
    parser.add_argument(
        "--usage",
        action="store_true",
        help="only status with and without usage (50 sessions, 10,000-line transcripts)",
    )
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("bench: tmux not found", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    if args.resume:
        with tempfile.TemporaryDirectory(prefix="harnex-bench-", ignore_cleanup_errors=True) as tmp:
            found = resume_figures(Path(tmp), args.quick)
        print("| what | median | p95 | runs | target |\n|---|---|---|---|---|")
        print("\n".join(f.row() for f in found))
        return 0
    if args.hosts:
        with tempfile.TemporaryDirectory(prefix="harnex-bench-", ignore_cleanup_errors=True) as tmp:
            found = host_figures(Path(tmp), args.quick)
        print("| what | median | p95 | runs | target |\n|---|---|---|---|---|")
        print("\n".join(f.row() for f in found))
        return 0
    if args.dash or args.usage:
        with tempfile.TemporaryDirectory(prefix="harnex-bench-", ignore_cleanup_errors=True) as tmp:
            bench = Bench(Path(tmp))
            try:
                if args.usage:
                    found = usage_figures(bench, args.quick)
                else:
                    old = None
                    if args.before:
                        old = export_tree(args.before, Path(tmp) / "before-tree")
                    found = dash_figures(bench, args.quick, old)
            finally:
                bench.stop_all()
        print("| what | median | p95 | runs | target |\n|---|---|---|---|---|")
        print("\n".join(f.row() for f in found))
        return 0
    with tempfile.TemporaryDirectory(prefix="harnex-bench-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        figures = baselines(Bench(work / "base"), args.quick)
        before: list[Figure] = []
        if args.before:
            tree = export_tree(args.before, work / "before-tree")
            before = run_tree(tree, work / "before", args.quick, args.before)
        after = run_tree(ROOT, work / "now", args.quick, "now")
        figures += before + after
        # MCP exists in this tree only: measured apart from the side-by-side runs.
        mcp_bench = Bench(work / "mcp")
        try:
            figures += mcp_round_trips(mcp_bench, args.quick)
            figures += mcp_under_load(mcp_bench, args.quick)
        finally:
            mcp_bench.stop_all()
        if not args.no_agents:
            names = tuple(n for n in args.agents.split(",") if n)
            unknown = sorted(set(names) - set(AGENTS))
            if unknown:
                print(f"bench: unknown agent {', '.join(unknown)}", file=sys.stderr)
                return 2
            figures += agent_figures(work, args.quick, names)
    text = render(figures, args.quick, before, after, args.before)
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
