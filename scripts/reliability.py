"""Run the fault suite (tests/faults) and report what it measured.

Usage: python scripts/reliability.py [--write docs/reliability.md]

The tests decide pass or fail; each also records its figures (counts, times) through the
``figures`` fixture into a JSON-lines file named by ``$RELIABILITY_FIGURES_FILE``. This
script runs them once with that set and renders the figures as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

HEADER = """# Reliability

What the fault suite (`tests/faults/`) measured in its last recorded run. Every test drives
real sessions on a private tmux server with a recording demo agent and breaks something on
purpose; its asserts decide pass or fail (CI runs them with the rest of the suite), and the
figures below are what it saw while doing so. The network faults (`test_fault_network.py`,
and the kept channel's, `test_fault_channel.py`) reach a second host through a private
OpenSSH server on loopback, logging in as a second Unix user (`tests/sshd.py`; marked e2e,
they need root to start it and are skipped without).
Regenerate with `python scripts/reliability.py --write docs/reliability.md`.

Message statuses, as `harnex send` and `GET /messages/<id>` report them:
"""
STATUSES = [
    ("queued", "waiting in the inbox for the agent's prompt (`--no-wait`)", 0),
    (
        "delivered",
        "typed, and the submit visibly took (the agent's own report, busy, or the input line"
        " cleared)",
        0,
    ),
    (
        "unconfirmed",
        "typed and submitted, but no sign either way: the agent may have it; do not resend blindly",
        3,
    ),
    (
        "failed",
        "known not to have reached the agent as a prompt (dropped, the session ended, the"
        " text still in the input line after two presses, or the agent reported another text)",
        1,
    ),
    ("expired", "waited longer than the inbox TTL", 1),
]
REFUSED = (
    "A send the session's spent budget refuses (HTTP 402, nothing queued) prints status"
    " `failed` with the budget's one line and exits 4."
)


def run_suite(out: Path) -> tuple[int, float]:
    env = dict(os.environ, RELIABILITY_FIGURES_FILE=str(out))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/faults"],
        cwd=ROOT,
        env=env,
    )
    return result.returncode, time.monotonic() - started


def render(rows: list[dict[str, Any]], returncode: int, elapsed: float) -> str:
    by_test: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_test[row["test"]].append(row)
    lines = [HEADER, "| status | meaning | `send` exit |", "|---|---|---|"]
    lines += [f"| `{name}` | {meaning} | {code} |" for name, meaning, code in STATUSES]
    lines += ["", REFUSED, ""]
    outcome = "all passed" if returncode == 0 else f"pytest exited {returncode}"
    lines.append(
        f"Last run: {time.strftime('%Y-%m-%d')}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores; {outcome} "
        f"in {elapsed:.0f} s.\n"
    )
    for test, figures in by_test.items():
        name = test.split("::", 1)[1]
        lines.append(f"## {name.replace('_', ' ').removeprefix('test ')}\n")
        lines.append(f"`{test}`\n")
        lines.append("| figure | value |")
        lines.append("|---|---|")
        for figure in figures:
            if "note" in figure:
                continue
            unit = f" {figure['unit']}" if figure["unit"] else ""
            lines.append(f"| {figure['name']} | {figure['value']}{unit} |")
        lines.append("")
        lines += [f"{figure['note']}\n" for figure in figures if "note" in figure]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="Write the report here (else print it).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harnex-reliability-") as scratch:
        out = Path(scratch) / "figures.jsonl"
        returncode, elapsed = run_suite(out)
        rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    text = render(rows, returncode, elapsed)
    if args.write:
        args.write.write_text(text)
    else:
        print(text)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
