"""scripts/compat.py's reading of pytest's reports and the page it writes: the pins stay
compat.toml's, every cell says pass or why not, and docs/compat.md is what it would write."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.e2e.agents import VERSIONS_ENV, wanted_versions

ROOT = Path(__file__).resolve().parents[1]

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.e2e.test_harnex_agents" name="test_claude_walk_through"/>
<testcase classname="tests.e2e.test_harnex_agents" name="test_large_message_arrives_whole[claude]">
<failure message="AssertionError: one turn, the exact text | more&#10;assert [...] == [...]">
trace</failure></testcase>
<testcase classname="x" name="test_sidecar_killed_mid_session[claude-command-hooks]">
<skipped message="no npm"/></testcase>
</testsuite></testsuites>
"""


@pytest.fixture(scope="module")
def compat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compat_script", ROOT / "scripts" / "compat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compat_script"] = module
    spec.loader.exec_module(module)
    return module


def test_junit_outcomes_with_their_first_line(compat: ModuleType, tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(JUNIT)
    got = compat.read_junit(report)
    assert got["test_claude_walk_through"] == compat.Outcome("passed")
    failed = got["test_large_message_arrives_whole[claude]"]
    assert failed == compat.Outcome("failed", "AssertionError: one turn, the exact text | more")
    assert got["test_sidecar_killed_mid_session[claude-command-hooks]"].outcome == "skipped"


def test_scenario_names(compat: ModuleType) -> None:
    assert compat.scenario("test_claude_walk_through", "claude") == "walk through"
    assert (
        compat.scenario("test_sidecar_killed_mid_session[claude-command-hooks]", "claude")
        == "sidecar killed mid session (command hooks)"
    )
    assert compat.scenario("test_large_message_arrives_whole[codex]", "codex") == (
        "large message arrives whole"
    )


def test_page_has_the_pins_a_column_per_release_and_a_reason_per_red_cell(
    compat: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "r.xml"
    report.write_text(JUNIT)
    runs: dict[str, object] = {}
    monkeypatch.setattr(compat, "RUNS_FILE", tmp_path / "runs.json")
    compat.save_run(runs, "claude", "9.9.9", compat.read_junit(report), newest=True)
    page = compat.render(compat.load_compat(), runs)
    assert "| Claude Code | `claude` | `@anthropic-ai/claude-code` (npm) |" in page
    pinned = compat.load_compat()["claude"].tested
    assert f"| scenario | {pinned} (pinned, CI) | 9.9.9 (newest on " in page
    assert "| walk through | not run | pass |" in page
    # A "|" in a reason would split the cell.
    assert "| large message arrives whole | not run | **fail**: AssertionError: one turn" in page
    assert "exact text / more |" in page


def test_a_partial_run_keeps_the_newest_mark(
    compat: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running some tests of a release again (``-- -k ...``) updates their cells only, and
    does not forget that the release was the newest when it was checked."""
    report = tmp_path / "r.xml"
    report.write_text(JUNIT)
    runs: dict[str, object] = {}
    monkeypatch.setattr(compat, "RUNS_FILE", tmp_path / "runs.json")
    compat.save_run(runs, "claude", "9.9.9", compat.read_junit(report), newest=True)
    again = {"test_claude_walk_through": compat.Outcome("failed", "broke")}
    compat.save_run(runs, "claude", "9.9.9", again, newest=False)
    entry = compat.load_runs()["claude"]["9.9.9"]
    assert entry["newest"] is True
    assert entry["tests"]["test_claude_walk_through"] == ["failed", "broke"]
    assert entry["tests"]["test_large_message_arrives_whole[claude]"][0] == "failed"


def test_the_committed_page_is_what_the_script_writes(compat: ModuleType) -> None:
    page = compat.render(compat.load_compat(), compat.load_runs())
    assert (ROOT / "docs" / "compat.md").read_text() == page, "run scripts/compat.py --render"


def test_versions_env_asks_for_named_releases_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VERSIONS_ENV, raising=False)
    pins = wanted_versions()
    assert set(pins) >= {"claude", "codex", "opencode", "aider"}
    monkeypatch.setenv(VERSIONS_ENV, "codex=0.171.0, aider=0.90.0")
    assert wanted_versions() == {"codex": "0.171.0", "aider": "0.90.0"}
    monkeypatch.setenv(VERSIONS_ENV, "nosuchcli=1.0")
    with pytest.raises(ValueError, match="NAME=VERSION"):
        wanted_versions()
