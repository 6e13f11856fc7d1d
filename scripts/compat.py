"""Check agent CLI releases other than the pinned ones, side by side, and write docs/compat.md.

    python scripts/compat.py --cli opencode --newest      # the newest OpenCode
    python scripts/compat.py --cli claude --version 2.1.300
    python scripts/compat.py --cli codex                  # the pinned release (what CI runs)
    python scripts/compat.py --render                     # only rewrite docs/compat.md

Each asked release is installed into its own folder, ``.cache/compat/<cli>-<version>/``
(never over the pins), by the end-to-end suite's own installers: ``HARNEX_E2E_AGENTS_DIR``
points them there and ``HARNEX_E2E_VERSIONS`` names the release. The same end-to-end tests
the pins pass then run against it (that CLI's tests only), one CLI at a time, and pytest's
per-test outcomes (``--junitxml``) are kept in ``docs/compat-runs.json``. docs/compat.md is
written from that record and ``harnex_tmux/data/compat.toml``, which stays the one list of
pins: a release moves to pinned by changing its ``tested`` there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harnex_tmux.compat import TestedRelease, load_compat, parse_version  # noqa: E402

RUNS_FILE = ROOT / "docs" / "compat-runs.json"
DOC_FILE = ROOT / "docs" / "compat.md"
CACHE = ROOT / ".cache" / "compat"
E2E = "tests/e2e"

# Which end-to-end tests are "that CLI's": the files, and the -k expression within them.
SELECTION: dict[str, tuple[tuple[str, ...], str]] = {
    "claude": (
        ("test_harnex_agents.py", "test_harnex_hooks.py", "test_permission_dialogs.py"),
        "claude",
    ),
    "codex": (
        ("test_harnex_agents.py", "test_harnex_hooks.py", "test_permission_dialogs.py"),
        "codex",
    ),
    "gemini": (
        ("test_harnex_agents.py", "test_harnex_hooks.py", "test_permission_dialogs.py"),
        "gemini",
    ),
    "opencode": (
        ("test_harnex_agents.py", "test_harnex_hooks.py", "test_permission_dialogs.py"),
        "opencode",
    ),
    "qwen": (("test_qwen.py",), "qwen"),
    "aider": (("test_aider.py",), "aider"),
}


class RunEntry(TypedDict):
    """One release's run: when, whether it was the newest then, each test's outcome and why."""

    date: str
    newest: bool
    tests: dict[str, list[str]]


Runs = dict[str, dict[str, RunEntry]]  # CLI -> version -> run


@dataclass(frozen=True)
class Outcome:
    """One test's result against one release: passed, failed, error or skipped, and why."""

    outcome: str
    reason: str = ""


def newest_version(release: TestedRelease) -> str:
    """The newest release the package registry offers, asked with its own client."""
    if release.installer == "pip":
        out = _run([sys.executable, "-m", "pip", "index", "versions", release.package])
        found = re.search(r"\((\d[^)]*)\)", out)
    else:
        out = _run(["npm", "view", release.package, "version"])
        found = re.search(r"\d+(?:\.\d+)+\S*", out)
    if found is None:
        raise SystemExit(f"no version of {release.package} in: {out.strip()[:200]}")
    return found.group(1) if release.installer == "pip" else found.group(0)


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()[:300]}")
    return done.stdout


def run_release(release: TestedRelease, version: str, pytest_args: list[str]) -> dict[str, Outcome]:
    """Install ``version`` of ``release`` side by side and run its end-to-end tests."""
    files, expression = SELECTION[release.adapter]
    env = dict(os.environ)
    if version != release.tested:
        env["HARNEX_E2E_AGENTS_DIR"] = str(CACHE / f"{release.adapter}-{version}")
        env["HARNEX_E2E_VERSIONS"] = f"{release.adapter}={version}"
    else:  # the pins: the suite's own (maybe shared) install
        env.pop("HARNEX_E2E_VERSIONS", None)
    CACHE.mkdir(parents=True, exist_ok=True)
    report = CACHE / f"{release.adapter}-{version}.xml"
    report.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *(f"{E2E}/{name}" for name in files),
        "-m",
        "e2e",
        "-k",
        expression,
        f"--junitxml={report}",
        "-p",
        "no:cacheprovider",
        "-q",
        *pytest_args,
    ]
    print(f"== {release.name} {version}: {' '.join(argv[3:])}", flush=True)
    subprocess.run(argv, cwd=ROOT, env=env, check=False)
    if not report.exists():
        raise SystemExit(f"pytest wrote no report for {release.name} {version}")
    return read_junit(report)


def read_junit(path: Path) -> dict[str, Outcome]:
    """Each test case's outcome in a pytest ``--junitxml`` report, with the first line of
    its failure or skip message as the reason."""
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "?")
        outcome = Outcome("passed")
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                message = found.get("message") or (found.text or "")
                outcome = Outcome(tag if tag != "failure" else "failed", _first_line(message))
                break
        outcomes[name] = outcome
    return outcomes


def _first_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return text if len(text) <= 200 else text[:197] + "..."


# --- the record and the page --------------------------------------------------------------


def load_runs() -> Runs:
    """What earlier runs found, from docs/compat-runs.json."""
    if not RUNS_FILE.exists():
        return {}
    data: Runs = json.loads(RUNS_FILE.read_text())
    return data


def save_run(
    runs: Runs,
    cli: str,
    version: str,
    outcomes: dict[str, Outcome],
    newest: bool,
) -> None:
    """Record a run; a run of some tests only (``-- -k ...``) updates just their cells."""
    earlier = runs.get(cli, {}).get(version)
    tests = dict(earlier["tests"]) if earlier else {}
    tests.update({name: [o.outcome, o.reason] for name, o in outcomes.items()})
    entry = RunEntry(
        date=datetime.date.today().isoformat(),
        # A later run of some of its tests (the pin, say) does not unlearn that the release
        # was the registry's newest.
        newest=newest or bool(earlier and earlier["newest"]),
        tests=dict(sorted(tests.items())),
    )
    runs.setdefault(cli, {})[version] = entry
    RUNS_FILE.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n")


def scenario(test: str, cli: str) -> str:
    """A test's name as a scenario: ``test_claude_walk_through`` -> "walk through",
    ``test_sidecar_killed_mid_session[claude-command-hooks]`` -> "sidecar killed mid
    session (command hooks)"."""
    base, _, param = test.partition("[")
    param = param.rstrip("]").removeprefix(cli).strip("-")
    words = base.removeprefix("test_").removeprefix(f"{cli}_").replace("_", " ")
    return f"{words} ({param.replace('-', ' ')})" if param else words


def _cell(result: list[str] | None) -> str:
    if result is None:
        return "not run"
    outcome, reason = result
    if outcome == "passed":
        return "pass"
    text = f"**{'fail' if outcome in ('failed', 'error') else outcome}**"
    return f"{text}: {reason.replace('|', '/')}" if reason else text


def _sorted_versions(versions: list[str]) -> list[str]:
    return sorted(versions, key=lambda v: parse_version(v) or (0,))


def render(releases: dict[str, TestedRelease], runs: Runs) -> str:
    out = [
        "# Tested CLI releases",
        "",
        "<!-- Written by scripts/compat.py from harnex_tmux/data/compat.toml and",
        "     docs/compat-runs.json; edit those, then run `python scripts/compat.py --render`. -->",
        "",
        "harnex reads each agent CLI's screen and wires its hooks against one release of it: the",
        "one the end-to-end suite (`tests/e2e/`) installs and drives, and CI runs. The list lives",
        "in `harnex_tmux/data/compat.toml`, shipped with the package; the suite's installers",
        "read their pins from it and `harnex doctor` places each installed CLI against it (the",
        "tested release, newer than tested, or older).",
        "",
        "| CLI | adapter | package | tested | what the end-to-end suite runs |",
        "|---|---|---|---|---|",
    ]
    for r in releases.values():
        where = "PyPI" if r.installer == "pip" else "npm"
        out.append(
            f"| {r.name} | `{r.adapter}` | `{r.package}` ({where}) | {r.tested} | "
            f"{'; '.join(r.scenarios)} |"
        )
    out += [
        "",
        "A newer release usually works: `harnex doctor` says so as a warning, not a failure.",
        "When it does not (a changed screen text is the usual cause), install the tested one",
        "with the command `harnex doctor` prints, or patch the CLI's adapter file (`harnex",
        "adapters show NAME`, then a copy in `~/.config/harnex/adapters/`; see",
        "[adapters.md](adapters.md)).",
        "",
        "## Other releases, checked side by side",
        "",
        "`python scripts/compat.py --cli NAME --newest` (or `--version V`) installs a release into",
        "`.cache/compat/<cli>-<version>/`, runs the same end-to-end tests the pin passes against",
        "it, and records each test's outcome in `docs/compat-runs.json`, from which this page is",
        "written. The pinned column is the release CI runs; a cell says `pass`, or what failed",
        "(the test's first assertion line); `not run` means that test was not run against that",
        "release.",
    ]
    for adapter, release in releases.items():
        by_version = runs.get(adapter, {})
        if not by_version:
            continue
        versions = _sorted_versions(list(by_version))
        if release.tested not in versions:
            versions.insert(0, release.tested)
        tests: dict[str, None] = {}
        for v in versions:
            if v in by_version:
                tests.update(dict.fromkeys(by_version[v]["tests"]))
        heads = []
        for v in versions:
            tags = ["pinned, CI"] if v == release.tested else []
            if v in by_version:
                run = by_version[v]
                tags.append(f"{'newest' if run['newest'] else 'run'} on {run['date']}")
            heads.append(f"{v} ({', '.join(tags)})")
        out += ["", f"### {release.name}", "", "| scenario | " + " | ".join(heads) + " |"]
        out.append("|---|" + "---|" * len(versions))
        for test in sorted(tests, key=lambda t: scenario(t, adapter)):
            cells = [
                _cell(by_version[v]["tests"].get(test) if v in by_version else None)
                for v in versions
            ]
            out.append(f"| {scenario(test, adapter)} | " + " | ".join(cells) + " |")
        notes = NOTES.get(adapter)
        if notes:
            out += ["", notes]
    out += [
        "",
        "To move to a new release: change its `tested` in compat.toml, run the end-to-end suite",
        '(`tests/e2e/README.md`, "Bumping a version"), then `python scripts/compat.py --render`.',
        "",
    ]
    return "\n".join(out)


# What a red cell means, found by hand when the matrix was made (kept with the script that
# writes the page, so a rewrite keeps them).
NOTES: dict[str, str] = {
    "claude": (
        "Claude Code 2.1.332 lists `No, exit` first in its folder-trust dialog, with the"
        " cursor on it; harnex chooses `Yes, I trust this folder` by its text (Down, then"
        " Enter), and so do the screen smoke tests. A paste of more than two lines reaches the"
        ' model inside `<pasted_content id="…">` tags, and the hook reports it so: harnex reads'
        " the text inside as the prompt (proven delivery holds) and the tests check the model"
        " gets exactly the text in the tags (docs/adapters.md). `auto` is its default"
        " permission mode (footer `⏵⏵ auto mode on`, an idle marker in claude.toml); there each"
        " risky tool call is checked by the API server, which a gateway that does not pass the"
        " check on (the mock) cannot do: the turn stops at \"Auto mode can't check actions in"
        ' this session". The end-to-end homes therefore name the `default` mode in the user'
        " settings, as a user behind such a gateway would; that brings a one-time launch"
        ' dialog, "Make auto mode your default permission mode?", which claude.toml knows as'
        " a dialog answered by `No, keep manual mode` (tests/test_dialog_choice.py) and the"
        " homes pre-answer (`hasSeenAutoDefaultNudge`). It refuses `sleep 300` as a tool call"
        " (the budget test's long tool is now `timeout 300 tail -f .git/HEAD`), and offers MCP"
        " tools by name only, to be loaded with its `ToolSearch` tool: the MCP tests set its"
        " `ENABLE_TOOL_SEARCH=false` so the mock, which calls only tools it is offered, sees"
        " harnex's. With those, every Claude Code end-to-end test passes on 2.1.332, which is"
        " the pin; 2.1.197 still passes them (`harnex doctor` calls it older)."
    ),
    "gemini": (
        "A 100 KB paste takes Gemini CLI a while to take, and for 40 ms after it has, an"
        " Enter inserts a new line instead of submitting: before harnex waited for the input"
        " line to show the paste (`[paste] shown`), 2 of 3 runs left the message in the"
        " input, reported `delivered`."
    ),
    "qwen": (
        "Qwen Code 0.24.4 does not take a 100 KB message: it reads the paste a few KiB at a"
        " time, shows it collapsed, then ignores the submit key. harnex waits for the paste"
        " (`[paste] pending`), presses submit twice and reports `failed`; the model gets"
        ' nothing. Before that wait, the collapsed marker ("[Pasted Content 104747 chars]")'
        " reached the model as the prompt and the message was reported `delivered`. The"
        " cell is green because the test asserts that honest failure."
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", action="append", help="adapter name (repeatable; default all)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", help="this release (default: the pinned one)")
    which.add_argument("--newest", action="store_true", help="the registry's newest release")
    parser.add_argument("--render", action="store_true", help="only rewrite docs/compat.md")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args(argv)
    releases = load_compat()
    runs = load_runs()
    if not args.render:
        for cli in args.cli or list(releases):
            if cli not in releases:
                parser.error(f"unknown CLI {cli!r}; known: {', '.join(releases)}")
            release = releases[cli]
            version = newest_version(release) if args.newest else args.version or release.tested
            outcomes = run_release(release, version, args.pytest_args)
            save_run(runs, cli, version, outcomes, newest=args.newest)
            failed = [n for n, o in outcomes.items() if o.outcome in ("failed", "error")]
            print(f"== {release.name} {version}: {len(outcomes)} tests, {len(failed)} failed")
    DOC_FILE.write_text(render(releases, runs))
    print(f"wrote {DOC_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
