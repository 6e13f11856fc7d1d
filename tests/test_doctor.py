"""``harnex doctor``: a healthy set-up, and one broken environment per check.

Everything is real: the CLIs are small scripts on a PATH built for the test (they answer
``--version`` the way the real ones do, or hang, or print junk), tmux is the machine's own or
a stand-in script earlier on PATH, configuration files are written into a throw-away HOME,
and sessions are real harnex sessions of the demo agent on the test's private tmux server.
Each test runs the ``harnex doctor`` command as a user would, except the one that needs a
short ``--version`` timeout, which calls the library.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harnex_tmux.compat import Placement, load_compat, parse_version, place
from harnex_tmux.doctor import Status, run_doctor
from harnex_tmux.mcp.config import client_config
from tests.conftest import Harnex, wait_for
from tests.procs import alive

ROOT = Path(__file__).resolve().parents[1]
RELEASES = load_compat()
# How each CLI prints its version (0.169.0's codex prefixes its name, Claude Code appends its).
VERSION_LINES = {
    "claude": "{} (Claude Code)",
    "codex": "codex-cli {}",
    "gemini": "{}",
    "opencode": "{}",
    "qwen": "{}",
    "aider": "aider {}",
}
# Variables that would point the CLIs' configuration away from the test's HOME.
FOREIGN = (
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "GEMINI_CLI_HOME",
    "GEMINI_CLI_TRUSTED_FOLDERS_PATH",
    "GEMINI_CLI_TRUST_WORKSPACE",
    "GEMINI_CLI_SYSTEM_SETTINGS_PATH",
    "QWEN_CODE_SYSTEM_DEFAULTS_PATH",
    "QWEN_CODE_SYSTEM_SETTINGS_PATH",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
)


class Machine:
    """A HOME, a PATH of CLI stand-ins, and the harnex CLI pointed at both."""

    def __init__(self, harnex: Harnex, root: Path) -> None:
        self.harnex = harnex
        self.home = root / "home"
        self.bin = root / "bin"
        self.tmux_dir = root / "tmux-bin"
        for folder in (self.home, self.bin, self.tmux_dir):
            folder.mkdir(parents=True)
        real_tmux = shutil.which("tmux")
        assert real_tmux is not None
        (self.tmux_dir / "tmux").symlink_to(real_tmux)
        self.env = {k: v for k, v in harnex.env.items() if k not in FOREIGN}
        # The stand-ins first; then only tmux: no real agent CLI the machine may have.
        self.env.update(HOME=str(self.home), PATH=f"{self.bin}:{self.tmux_dir}")
        # tmux finds its own socket folder from TMUX_TMPDIR or /tmp either way.

    def script(self, name: str, body: str, folder: Path | None = None) -> Path:
        path = (folder or self.bin) / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
        return path

    def cli(self, adapter: str, version: str | None = None, body: str | None = None) -> None:
        """A stand-in for ``adapter``'s CLI that prints ``version`` (default: the tested
        one) as the real CLI does, or runs ``body``."""
        text = VERSION_LINES[adapter].format(version or RELEASES[adapter].tested)
        self.script(adapter, body if body is not None else f"echo '{text}'")

    def all_clis(self) -> None:
        for adapter in RELEASES:
            self.cli(adapter)

    def write(self, relative: str, text: str) -> Path:
        path = self.home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def register_mcp_everywhere(self) -> None:
        """``harnex mcp`` registered with each CLI the way its fix line says."""
        self.write(".claude.json", client_config("claude"))
        self.write(".codex/config.toml", client_config("codex") + "\n")
        self.write(".gemini/settings.json", client_config("gemini"))
        self.write(".qwen/settings.json", client_config("qwen"))
        self.write(".config/opencode/opencode.json", client_config("opencode"))

    def trust_repo_for_gemini(self) -> None:
        self.write(
            ".gemini/trustedFolders.json", json.dumps({str(self.harnex.repo): "TRUST_FOLDER"})
        )

    def doctor(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.harnex.run("doctor", *args, env=env or self.env)

    def checks(self, env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
        result = self.doctor("--json", env=env)
        assert result.returncode == 0, result.stderr
        listed: list[dict[str, str]] = json.loads(result.stdout)
        names = [c["name"] for c in listed]
        assert len(names) == len(set(names)), names
        return {c["name"]: c for c in listed}


@pytest.fixture
def machine(harnex: Harnex, tmp_path: Path) -> Machine:
    return Machine(harnex, tmp_path / "machine")


def problems(checks: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {n: c for n, c in checks.items() if c["status"] in ("warn", "fail")}


# --- healthy ------------------------------------------------------------------------------


def test_healthy_machine_has_no_problem_and_exit_code_zero(machine: Machine) -> None:
    machine.all_clis()
    machine.register_mcp_everywhere()
    machine.trust_repo_for_gemini()
    started = machine.harnex.start_demo("healthy")
    checks = machine.checks()
    assert problems(checks) == {}
    assert [n for n, c in checks.items() if c["status"] == "skip"] == []
    assert checks["tmux"]["status"] == "ok"
    for adapter, release in RELEASES.items():
        assert checks[f"cli/{adapter}"]["detail"].startswith(f"{release.tested}, the tested")
    for adapter in ("claude", "codex", "gemini", "opencode", "qwen"):
        assert checks[f"mcp/{adapter}"]["status"] == "ok"
        assert checks[f"hooks/{adapter}" if adapter != "opencode" else "cli/opencode"]
    assert checks["trust/gemini"]["status"] == "ok"
    session = checks["session/healthy"]
    assert session["status"] == "ok" and str(started["port"]) in session["detail"]
    result = machine.doctor("--exit-code")
    assert result.returncode == 0, result.stdout
    assert result.stdout.rstrip().endswith("all good")


# --- tmux -----------------------------------------------------------------------------------


def test_old_tmux_earlier_on_path_fails(machine: Machine) -> None:
    """doctor asks the tmux harnex would run: the first on PATH, here a stand-in saying 3.1."""
    machine.script("tmux", "echo 'tmux 3.1'")
    check = machine.checks()["tmux"]
    assert check["status"] == "fail"
    assert "tmux 3.1" in check["detail"] and str(machine.bin / "tmux") in check["detail"]
    assert "3.2 or newer" in check["fix"]
    assert machine.doctor().returncode == 0  # without --exit-code a failure is only reported
    result = machine.doctor("--exit-code")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("fail  tmux"))
    assert lines[row + 1].lstrip().startswith("fix: install tmux 3.2 or newer")
    # The fix line sits under the detail column.
    assert lines[row + 1].index("fix:") == lines[row].index("tmux 3.1")


def test_tmux_printing_junk_or_missing(machine: Machine) -> None:
    machine.script("tmux", "echo 'what version?'")
    junk = machine.checks()["tmux"]
    assert junk["status"] == "warn" and "no version number" in junk["detail"]
    (machine.bin / "tmux").unlink()
    (machine.tmux_dir / "tmux").unlink()
    missing = machine.checks()["tmux"]
    assert missing["status"] == "fail" and "not found on PATH" in missing["detail"]


# --- CLIs and their versions -----------------------------------------------------------------


def test_missing_clis_are_skipped_with_how_to_install(machine: Machine) -> None:
    checks = machine.checks()
    for adapter, release in RELEASES.items():
        check = checks[f"cli/{adapter}"]
        assert check["status"] == "skip"
        assert f"{adapter} is not on PATH" == check["detail"]
        assert release.package in check["fix"] and release.tested in check["fix"]
    assert checks["cli"]["status"] == "warn"
    assert not [n for n in checks if n.startswith(("hooks/", "mcp/", "trust/"))]
    assert machine.doctor("--exit-code").returncode == 0  # nothing is broken


def test_versions_are_placed_against_the_tested_ones(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newer, older, junk and a hang, each one warning line; one tested CLI stays ok."""
    machine.cli("claude")
    newer = _bump(RELEASES["codex"].tested)
    machine.cli("codex", body=f"echo 'WARNING: no PATH aliases' >&2\necho 'codex-cli {newer}'")
    # Older, though "0.9.0" sorts after "0.61.0" as text: versions compare as numbers.
    older = "0.9.0"
    assert (parse_version(RELEASES["gemini"].tested) or ()) > (0, 9, 0)
    machine.cli("gemini", older)
    machine.cli("qwen", body="echo 'Usage: something else'")
    machine.cli("opencode", body=f"exec {shutil.which('sleep')} 30")  # PATH has no sleep
    monkeypatch.chdir(machine.harnex.repo)
    checks = {c.name: c for c in run_doctor(env=machine.env, version_timeout=5.0)}
    assert checks["cli/claude"].status is Status.OK
    assert checks["cli/codex"].status is Status.WARN
    assert f"{newer}, newer than tested {RELEASES['codex'].tested}" in checks["cli/codex"].detail
    assert checks["cli/gemini"].status is Status.WARN
    assert f"{older}, older than tested" in checks["cli/gemini"].detail
    assert RELEASES["gemini"].install_command in checks["cli/gemini"].fix
    assert "no version number: 'Usage: something else'" in checks["cli/qwen"].detail
    assert "did not answer within 5s" in checks["cli/opencode"].detail
    assert checks["cli/aider"].status is Status.SKIP


def _bump(version: str) -> str:
    """``version`` with its last number one higher."""
    *head, last = version.split(".")
    return ".".join([*head, str(int(last) + 1)])


def test_versions_compare_as_numbers() -> None:
    assert parse_version("codex-cli 0.169.0") == (0, 169, 0)
    assert parse_version("2.1.197 (Claude Code)") == (2, 1, 197)
    assert parse_version("no digits. 3 alone") is None
    assert place((0, 10, 0), (0, 9, 9)) is Placement.NEWER
    assert place((1, 2), (1, 2, 0)) is Placement.TESTED
    assert place((0, 61, 0), (0, 61, 1)) is Placement.OLDER


# --- adapter files ----------------------------------------------------------------------------


def test_bad_adapter_file_fails_and_its_fix_command_names_the_problem(machine: Machine) -> None:
    folder = machine.home / ".config" / "harnex" / "adapters"
    folder.mkdir(parents=True)
    (folder / "mycli.toml").write_text(
        'name = "mycli"\ncommands = ["mycli"]\n[busy]\npatterns = ["(unclosed"]\n'
    )
    env = dict(machine.env, XDG_CONFIG_HOME=str(machine.home / ".config"))
    checks = machine.checks(env)
    check = checks["adapter/mycli.toml"]
    assert check["status"] == "fail" and "mycli.toml" in check["detail"]
    assert (
        check["fix"]
        == "correct it (harnex adapters check ~/.config/harnex/adapters/mycli.toml) or remove it"
    )
    assert machine.doctor("--exit-code", env=env).returncode == 1
    # The command the fix names reports the same file as bad.
    shown = machine.harnex.run("adapters", "check", str(folder / "mycli.toml"), env=env)
    assert shown.returncode == 2 and "mycli.toml" in shown.stderr


# --- state directory -----------------------------------------------------------------------


def test_state_dir_that_cannot_be_written(machine: Machine, tmp_path: Path) -> None:
    """Tests run as root, and root writes through permission bits, so "unwritable" is made
    the way that stops root too: a path that runs through a regular file (and a state
    directory that is itself a file)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    under_file = dict(machine.env, HARNEX_STATE_DIR=str(blocker / "state"))
    check = machine.checks(under_file)["state-dir"]
    assert check["status"] == "fail"
    assert f"cannot be created: {blocker} is not a directory" in check["detail"]
    assert machine.doctor("--exit-code", env=under_file).returncode == 1
    # The real commands agree: harnex cannot start a session there.
    started = machine.harnex.run("run", "--id", "x", "--detach", "sleep", "5", env=under_file)
    assert started.returncode != 0

    is_file = dict(machine.env, HARNEX_STATE_DIR=str(blocker))
    check = machine.checks(is_file)["state-dir"]
    assert check["status"] == "fail" and check["detail"] == f"{blocker} is not a directory"


def test_state_dir_open_to_others_warns(machine: Machine) -> None:
    state = machine.harnex.state_dir
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    check = machine.checks()["state-dir"]
    assert check["status"] == "warn" and check["fix"] == f"chmod 700 {state}"
    state.chmod(0o700)
    assert machine.checks()["state-dir"]["status"] == "ok"


# --- hooks, folder trust, MCP --------------------------------------------------------------


def test_settings_that_stop_hooks(machine: Machine) -> None:
    machine.all_clis()
    machine.write(".gemini/settings.json", "{ not json")
    machine.write(".claude/settings.json", json.dumps({"disableAllHooks": True}))
    machine.write(".codex/config.toml", "notify = [unclosed\n")
    checks = machine.checks()
    assert checks["hooks/gemini"]["status"] == "fail"
    assert checks["hooks/gemini"]["fix"] == "correct the JSON in ~/.gemini/settings.json"
    assert checks["hooks/claude"]["status"] == "fail"
    assert "disableAllHooks" in checks["hooks/claude"]["fix"]
    assert checks["hooks/codex"]["status"] == "fail"
    assert checks["hooks/qwen"]["status"] == "ok"
    env = dict(machine.env, HARNEX_NO_HOOKS="1")
    assert machine.checks(env)["hooks"]["fix"] == "unset HARNEX_NO_HOOKS"


def test_folder_trust_for_gemini_and_qwen(machine: Machine) -> None:
    machine.cli("gemini")
    machine.cli("qwen")
    machine.write(
        ".qwen/settings.json", json.dumps({"security": {"folderTrust": {"enabled": True}}})
    )
    checks = machine.checks()
    for adapter in ("gemini", "qwen"):
        check = checks[f"trust/{adapter}"]
        assert check["status"] == "warn" and str(machine.harnex.repo) in check["detail"]
        assert f"harnex run {adapter} --auto-accept" in check["fix"]
    # A rule on a folder above the repository trusts it too.
    parent = {str(machine.harnex.repo.parent): "TRUST_FOLDER"}
    machine.write(".gemini/trustedFolders.json", json.dumps(parent))
    machine.write(".qwen/trustedFolders.json", json.dumps(parent))
    checks = machine.checks()
    assert checks["trust/gemini"]["status"] == checks["trust/qwen"]["status"] == "ok"
    # Folder trust turned off in Gemini CLI's settings: nothing to trust.
    machine.write(".gemini/trustedFolders.json", "{}")
    machine.write(
        ".gemini/settings.json", json.dumps({"security": {"folderTrust": {"enabled": False}}})
    )
    assert "trust/gemini" not in machine.checks()


def test_missing_mcp_registration_and_its_fix(machine: Machine) -> None:
    machine.cli("codex")
    machine.cli("claude")
    checks = machine.checks()
    check = checks["mcp/codex"]
    assert check["status"] == "warn"
    assert check["fix"] == "harnex mcp --print-config codex >> ~/.codex/config.toml"
    assert checks["mcp/claude"]["fix"] == "claude mcp add --scope user harnex -- harnex mcp"
    # Run the fix line as written (harnex from this checkout standing in for the installed one).
    machine.script("harnex", f'exec "{sys.executable}" -m harnex_tmux "$@"')
    (machine.home / ".codex").mkdir()
    subprocess.run(
        [shutil.which("sh") or "/bin/sh", "-c", check["fix"]],
        env=machine.env,
        check=True,
        timeout=60,
    )
    assert machine.checks()["mcp/codex"]["status"] == "ok"


# --- sessions --------------------------------------------------------------------------------


def test_dead_sidecar_then_stale_record_each_with_a_working_fix(machine: Machine) -> None:
    harnex = machine.harnex
    started = harnex.start_demo("patient")
    os.kill(started["sidecar_pid"], signal.SIGKILL)
    wait_for(lambda: not alive(started["sidecar_pid"]))
    check = machine.checks()["session/patient"]
    assert check["status"] == "fail"
    assert f"pid {started['sidecar_pid']}) is dead" in check["detail"]
    assert check["fix"] == f"harnex recover --id patient --repo {harnex.repo}"
    assert machine.doctor("--exit-code").returncode == 1

    recovered = harnex.run(*_argv(check["fix"]))
    assert recovered.returncode == 0, recovered.stderr
    assert machine.checks()["session/patient"]["status"] == "ok"

    record = harnex.registry()[0]
    os.kill(record["sidecar_pid"], signal.SIGKILL)
    os.kill(record["pid"], signal.SIGKILL)
    wait_for(lambda: not alive(record["sidecar_pid"]) and not alive(record["pid"]))
    stale = machine.checks()["session/patient"]
    assert stale["status"] == "warn" and "stale record" in stale["detail"]
    assert stale["fix"] == f"harnex stop --id patient --repo {harnex.repo}"
    stopped = harnex.run(*_argv(stale["fix"]))
    assert stopped.returncode == 0, stopped.stderr
    after = machine.checks()
    assert "session/patient" not in after and after["sessions"]["status"] == "ok"


def test_unreadable_record_is_reported(machine: Machine) -> None:
    sessions = machine.harnex.state_dir / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "junk.json").write_text("{")
    check = machine.checks()["record/junk"]
    assert check["status"] == "warn" and check["fix"] == f"rm {sessions / 'junk.json'}"
    (sessions / "junk.json").unlink()  # the fixture's teardown reads every record


def _argv(fix: str) -> list[str]:
    words = fix.split()
    assert words[0] == "harnex"
    return words[1:]


# --- one list of tested releases -------------------------------------------------------------


def test_tested_releases_are_the_e2e_pins_and_the_docs_tables() -> None:
    from tests.e2e import agents, pip_agents

    npm = {r.package: r.tested for r in RELEASES.values() if r.installer == "npm"}
    assert npm == agents.PINNED
    assert (
        RELEASES["aider"].package,
        RELEASES["aider"].tested,
    ) == (pip_agents.AIDER_PACKAGE, pip_agents.AIDER_VERSION)
    compat = (ROOT / "docs" / "compat.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for release in RELEASES.values():
        assert re.search(
            rf"^\| {re.escape(release.name)} \|.*\| {re.escape(release.tested)} \|", compat, re.M
        ), release
        for scenario in release.scenarios:
            row = next(
                line for line in compat.splitlines() if line.startswith(f"| {release.name} |")
            )
            assert scenario in row
        assert re.search(
            rf"^\| {re.escape(release.name)} \|.*\| {re.escape(release.tested)} \|$", readme, re.M
        ), release


def test_help_documents_exit_codes(harnex: Harnex) -> None:
    shown = harnex.run("doctor", "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert "--exit-code" in text and "then 1 when any check failed" in text
