"""Install the pinned agent CLIs and build throw-away homes that point them at the mock servers.

- :func:`install_agents` installs ``@anthropic-ai/claude-code``, ``@openai/codex``,
  ``@google/gemini-cli``, ``opencode-ai`` and ``@qwen-code/qwen-code`` at the versions pinned
  in ``harnex_tmux/data/compat.toml`` with npm into ``<repo>/.cache/agents/`` (once; later
  calls reuse it while the versions match; a lock file keeps parallel pytest workers from
  racing).
- :func:`claude_launch`, :func:`codex_launch`, :func:`gemini_launch`,
  :func:`opencode_launch` and :func:`qwen_launch` write a fresh HOME for one run and return
  an :class:`AgentLaunch` (``argv``, ``env``, ``home``, ``cwd``) to start the CLI with.

To bump a version, change its ``tested`` in compat.toml and re-run the end-to-end suite (see
README.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from harnex_tmux.compat import TestedRelease, load_compat

T = TypeVar("T")

VERSIONS_ENV = "HARNEX_E2E_VERSIONS"
"""``name=version[,name=version]``: install and drive those CLIs (adapter names) at those
releases instead of the pins, and only them: how ``scripts/compat.py`` checks a release side
by side with the pins (together with ``HARNEX_E2E_AGENTS_DIR`` for a separate install)."""


def wanted_versions(releases: Mapping[str, TestedRelease] | None = None) -> dict[str, str]:
    """Adapter name to the release the suite installs: compat.toml's tested ones, or the ones
    ``$HARNEX_E2E_VERSIONS`` names (only those)."""
    releases = releases if releases is not None else load_compat()
    override = os.environ.get(VERSIONS_ENV, "").strip()
    if not override:
        return {name: release.tested for name, release in releases.items()}
    wanted: dict[str, str] = {}
    for item in override.split(","):
        name, _, version = item.strip().partition("=")
        if name not in releases or not version:
            raise ValueError(f"{VERSIONS_ENV}: {item!r} is not NAME=VERSION with a known NAME")
        wanted[name] = version
    return wanted


# The pins are harnex's list of tested releases (harnex_tmux/data/compat.toml), which
# `harnex doctor` compares installed CLIs with: one place, so the two cannot drift.
_RELEASES = load_compat()
_WANTED = wanted_versions(_RELEASES)
_NPM_CLIS = ("claude", "codex", "gemini", "opencode", "qwen")
# Package name to version, for the npm CLIs the suite installs.
PINNED: dict[str, str] = {
    _RELEASES[name].package: _WANTED[name] for name in _NPM_CLIS if name in _WANTED
}
_BIN_OF = {_RELEASES[name].package: name for name in _NPM_CLIS}

DUMMY_API_KEY = "sk-harnex-e2e-dummy-key-0123456789abcdef"
"""A fake key: the mocks accept anything, the CLIs only need one to be set."""

CODEX_KEY_ENV = "HARNEX_MOCK_OPENAI_KEY"
"""The environment variable Codex's mock provider reads its (dummy) key from."""

MARKER = ".harnex-installed.json"
"""The file an install writes last, naming what it installed: a later run reuses the install
while it names the same pins."""
_NETWORK_HINTS = (
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "EHOSTUNREACH",
    "network",
    "socket hang up",
    "request to http",
)


class AgentsUnavailableError(RuntimeError):
    """npm is missing or cannot reach its registry: the end-to-end tests cannot run here."""


class AgentInstallError(RuntimeError):
    """npm reached the registry but the install (or its check) failed."""


@dataclass(frozen=True)
class InstalledAgents:
    prefix: Path
    claude: Path
    codex: Path
    gemini: Path
    opencode: Path
    qwen: Path
    versions: dict[str, str]


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_prefix() -> Path:
    """``$HARNEX_E2E_AGENTS_DIR`` if set, else ``<repo>/.cache/agents``."""
    override = os.environ.get("HARNEX_E2E_AGENTS_DIR")
    return Path(override) if override else repo_root() / ".cache" / "agents"


@contextlib.contextmanager
def file_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold ``path`` locked (one installer at a time across pytest workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AgentInstallError(
                        f"timed out after {timeout:.0f}s waiting for the install lock {path}"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def installed_version(prefix: Path, package: str) -> str | None:
    """The version of ``package`` npm installed under ``prefix``; None when it is not there."""
    manifest = prefix / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


_BIN_NAMES = _NPM_CLIS


def _bins(prefix: Path) -> list[Path]:
    bin_dir = prefix / "node_modules" / ".bin"
    return [bin_dir / name for name in _BIN_NAMES]


def _installed(prefix: Path) -> InstalledAgents:
    claude, codex, gemini, opencode, qwen = _bins(prefix)
    return InstalledAgents(prefix, claude, codex, gemini, opencode, qwen, dict(PINNED))


def _already_installed(prefix: Path) -> InstalledAgents | None:
    try:
        marker = json.loads((prefix / MARKER).read_text())
    except (OSError, ValueError):
        return None
    bin_dir = prefix / "node_modules" / ".bin"
    if marker != PINNED or not all((bin_dir / _BIN_OF[p]).exists() for p in PINNED):
        return None
    if any(installed_version(prefix, p) != v for p, v in PINNED.items()):
        return None
    return _installed(prefix)


def _npm_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "npm_config_loglevel": "error",
        }
    )
    return env


def _looks_like_network_failure(output: str) -> bool:
    low = output.lower()
    return any(h.lower() in low for h in _NETWORK_HINTS)


def _summarize(output: str, lines: int = 4) -> str:
    """The gist of npm's error output: its first few lines, without stack frames."""
    kept = [ln for ln in output.splitlines() if ln.strip() and "    at " not in ln]
    return "\n".join(kept[:lines])


def run_installer(
    argv: Sequence[str], *, env: Mapping[str, str], timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run an installer step (npm, pip, venv) for its output. One that does not finish in
    ``timeout`` is taken for a registry out of reach (:class:`AgentsUnavailableError`, so the
    tests skip), which is what a hanging npm or pip almost always means."""
    try:
        return subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AgentsUnavailableError(
            f"`{' '.join(argv)}` did not finish within {timeout:.0f}s "
            "(is the package registry reachable?)"
        ) from exc


def _run_npm(args: Sequence[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    npm = shutil.which("npm")
    if npm is None:
        raise AgentsUnavailableError("npm is not on PATH: cannot install the agent CLIs")
    return run_installer([npm, *args], env=_npm_env(), timeout=timeout, cwd=cwd)


def _probe_registry(cwd: Path, package: str, version: str, timeout: float = 60.0) -> None:
    """Ask the registry for one pinned version, without retries, so an unreachable registry
    is reported in seconds rather than after npm's retry back-off (minutes)."""
    result = _run_npm(
        ["view", f"{package}@{version}", "version", "--fetch-retries=0", "--fetch-timeout=30000"],
        cwd=cwd,
        timeout=timeout,
    )
    output = (result.stdout + "\n" + result.stderr).strip()
    if result.returncode != 0 or version not in result.stdout:
        tail = _summarize(output)
        if result.returncode != 0 and _looks_like_network_failure(output):
            raise AgentsUnavailableError(f"npm cannot reach its registry:\n{tail}")
        raise AgentInstallError(f"npm view {package}@{version} failed:\n{tail}")


def check_version(argv: Sequence[str], expected: str, home: Path, timeout: float = 60) -> None:
    """``argv`` (a ``--version`` call) must print ``expected``: the install is the pinned one.
    Run with a scratch ``home`` (Codex's home under it too), so the check writes nothing into
    the real HOME."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "CODEX_HOME": str(home / ".codex")}
    try:
        out = subprocess.run(
            list(argv),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AgentInstallError(f"{' '.join(argv)} failed: {exc}") from exc
    if expected not in out.stdout + out.stderr:
        raise AgentInstallError(
            f"{' '.join(argv)} printed {out.stdout.strip()!r} {out.stderr.strip()!r}, "
            f"expected {expected}"
        )


def npm_install_pinned(
    folder: Path, pinned: Mapping[str, str], name: str, description: str, timeout: float
) -> None:
    """npm-install ``pinned`` (package to exact version) into ``folder`` as the private
    package ``name``, and check npm installed exactly those. The agent CLIs and the MCP
    clients are installed the same way, so they fail the same way: an unreachable registry
    raises :class:`AgentsUnavailableError`, anything else :class:`AgentInstallError`. The
    marker file is removed first and left for the caller to write once its checks pass."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).unlink(missing_ok=True)
    manifest = {
        "name": name,
        "private": True,
        "description": description,
        "dependencies": dict(pinned),
    }
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    specs = [f"{p}@{v}" for p, v in pinned.items()]
    _probe_registry(folder, *next(iter(pinned.items())))
    result = _run_npm(
        ["install", "--prefix", str(folder), "--save-exact", "--no-package-lock", *specs],
        cwd=folder,
        timeout=timeout,
    )
    if result.returncode != 0:
        output = (result.stdout + "\n" + result.stderr).strip()
        tail = _summarize(output, lines=25)
        if _looks_like_network_failure(output):
            raise AgentsUnavailableError(
                f"npm could not reach its registry to install {' '.join(specs)}:\n{tail}"
            )
        raise AgentInstallError(f"npm install {' '.join(specs)} failed:\n{tail}")
    for package, version in pinned.items():
        got = installed_version(folder, package)
        if got != version:
            raise AgentInstallError(f"npm installed {package}@{got}, expected {version}")


def install_once(
    folder: Path, found: Callable[[Path], T | None], install: Callable[[Path], T], timeout: float
) -> T:
    """What ``found`` finds installed in ``folder``, installed first by ``install`` when it is
    not there. Parallel pytest workers take turns at a lock file beside the folder and look
    again once they hold it: one installs, the others find its install."""
    there = found(folder)
    if there is not None:
        return there
    with file_lock(folder.with_name(folder.name + ".lock"), timeout=timeout):
        there = found(folder)  # another worker may have finished meanwhile
        return there if there is not None else install(folder)


def install_agents(prefix: Path | None = None, timeout: float = 900.0) -> InstalledAgents:
    """Install the pinned CLIs into ``prefix`` (default ``<repo>/.cache/agents``) unless present.

    Raises :class:`AgentsUnavailableError` when npm is missing or cannot reach its registry and
    :class:`AgentInstallError` for any other failure.
    """

    def install(prefix: Path) -> InstalledAgents:
        npm_install_pinned(
            prefix,
            PINNED,
            "harnex-e2e-agents",
            "Pinned agent CLIs for harnex-tmux end-to-end tests (generated).",
            timeout,
        )
        scratch_home = prefix / ".version-check-home"  # keep `--version` off the real HOME
        for package, version in PINNED.items():
            binary = prefix / "node_modules" / ".bin" / _BIN_OF[package]
            check_version([str(binary), "--version"], version, scratch_home)
        shutil.rmtree(scratch_home, ignore_errors=True)
        (prefix / MARKER).write_text(json.dumps(PINNED) + "\n")
        return _installed(prefix)

    folder = (prefix or default_prefix()).resolve()
    return install_once(folder, _already_installed, install, timeout)


# --- throw-away homes ----------------------------------------------------------------------


@dataclass
class AgentLaunch:
    """How to start one agent CLI against a mock: run ``argv`` in ``cwd`` with exactly ``env``."""

    name: str
    argv: list[str]
    env: dict[str, str]
    home: Path
    cwd: Path
    pass_through: tuple[str, ...] = field(default=("TERM", "COLORTERM", "TMUX", "TMUX_PANE"))
    """Variables :meth:`shell_command` keeps from the pane it runs in (tmux sets them)."""

    def shell_command(self, status_file: Path | None = None) -> str:
        """A ``/bin/sh`` command line that runs ``argv`` in ``cwd`` with only ``env`` (plus the
        variables tmux gives the pane, see :attr:`pass_through`), so nothing leaks in from the
        test runner's environment or the tmux server's global environment.

        Without ``status_file`` the shell ``exec``s the CLI (the pane's pid is the CLI's).
        With it, the shell stays, waits for the CLI and writes its exit status to that file:
        tmux 3.3a's ``#{pane_dead_status}`` is not reliable (see ``screen.wait_for_exit``).
        """
        keep = " ".join(f'{k}="${{{k}:-}}"' for k in self.pass_through)
        assigns = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(self.env.items()))
        run = f"env -i {keep} {assigns} {shlex.join(self.argv)}"
        cd = f"cd {shlex.quote(str(self.cwd))}"
        if status_file is None:
            return f"{cd} && exec {run}"
        return f"{cd} && {run}; echo $? > {shlex.quote(str(status_file))}"

    def cleanup(self) -> None:
        """Stop whatever the CLI left running under this throw-away home: Codex's daemon (by
        the pids in its pid files), then any other process whose ``HOME`` is this home."""
        if self.name == "codex":
            stop_codex_daemon(self.home)
        _stop_pids(processes_with_home(self.home), self.home)


def base_env(home: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    """A minimal environment for a CLI under test: the throw-away ``home``, a PATH with
    node, and ``extra``; nothing of the caller's own settings leaks in."""
    node_dir = str(Path(shutil.which("node") or "/usr/bin/node").parent)
    path = os.pathsep.join(dict.fromkeys([node_dir, "/usr/local/bin", "/usr/bin", "/bin"]))
    env = {
        "HOME": str(home),
        "USER": os.environ.get("USER", "harnex"),
        "LOGNAME": os.environ.get("LOGNAME", os.environ.get("USER", "harnex")),
        "SHELL": "/bin/bash",
        "PATH": path,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "TMPDIR": str(home / "tmp"),
        "NO_UPDATE_NOTIFIER": "1",
    }
    for sub in (".config", ".cache", ".local/share", ".local/state", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    if extra:
        env.update(extra)
    return env


def claude_launch(
    binary: Path | str,
    mock_url: str,
    home: Path,
    cwd: Path,
    *,
    trust: bool = False,
    approve_api_key: bool = True,
    skip_permissions: bool = False,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> AgentLaunch:
    """A throw-away HOME for Claude Code pointed at a :class:`MockAnthropic` at ``mock_url``.

    ``trust=False`` (the default) leaves the folder-trust dialog in place so a test can see it;
    ``approve_api_key=True`` pre-answers the "use this API key?" dialog with yes.
    """
    home = Path(home).resolve()
    cwd = Path(cwd).resolve()
    home.mkdir(parents=True, exist_ok=True)
    (home / ".claude").mkdir(exist_ok=True)
    state: dict[str, object] = {
        "hasCompletedOnboarding": True,
        "numStartups": 1,
        "theme": "dark",
        "autoUpdates": False,
        "hasSeenTasksHint": True,
    }
    if approve_api_key:
        state["customApiKeyResponses"] = {"approved": [DUMMY_API_KEY[-20:]], "rejected": []}
    if trust:
        state["projects"] = {
            str(cwd): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}
        }
    if skip_permissions:
        state["bypassPermissionsModeAccepted"] = True
    (home / ".claude.json").write_text(json.dumps(state, indent=2) + "\n")
    env = base_env(
        home,
        {
            "ANTHROPIC_BASE_URL": mock_url,
            "ANTHROPIC_API_KEY": DUMMY_API_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            # Keep it from looking up outside hosts (plugin marketplace, installer checks).
            "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
            "DISABLE_INSTALLATION_CHECKS": "1",
        },
    )
    argv = [str(binary)]
    if skip_permissions:
        argv.append("--dangerously-skip-permissions")
        if os.geteuid() == 0:
            env["IS_SANDBOX"] = "1"
    if extra_env:
        env.update(extra_env)
    argv.extend(extra_args)
    return AgentLaunch("claude", argv, env, home, cwd)


def claude_permission_mode(home: Path, mode: str) -> None:
    """Name ``mode`` as the permission mode in the user settings of a :func:`claude_launch`
    home, as a user who wants to be asked does, and pre-answer the offer that comes with it.

    2.1.332 defaults to ``auto`` (it runs a shell command without asking); 2.1.197 to
    ``default``. A user setting other than ``auto`` makes 2.1.332 offer once, at launch, to
    switch to ``auto`` ("Make auto mode your default permission mode?"); its answer is kept
    as ``hasSeenAutoDefaultNudge`` in ``~/.claude.json``. harnex reads that offer as a dialog
    (tests/test_dialog_choice.py), so a test that is not about it starts past it.
    """
    settings = home / ".claude" / "settings.json"
    settings.write_text(json.dumps({"permissions": {"defaultMode": mode}}, indent=2) + "\n")
    state_file = home / ".claude.json"
    state = json.loads(state_file.read_text())
    state["hasSeenAutoDefaultNudge"] = True
    state_file.write_text(json.dumps(state, indent=2) + "\n")


def codex_launch(
    binary: Path | str,
    mock_base_url: str,
    home: Path,
    cwd: Path,
    *,
    trust: bool = False,
    no_daemon: bool = True,
    model: str = "gpt-mock-1",
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> AgentLaunch:
    """A throw-away HOME for Codex pointed at a :class:`MockOpenAI` (``mock_base_url`` ends in
    ``/v1``). ``trust=False`` (the default) leaves the trust dialog in place. Codex is started
    with ``--no-alt-screen`` and, by default, ``--no-daemon`` (no shared app-server daemon that
    would outlive the test); call :meth:`AgentLaunch.cleanup` afterwards in any case."""
    home = Path(home).resolve()
    cwd = Path(cwd).resolve()
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    lines = [
        f"model = {json.dumps(model)}",
        'model_provider = "mock"',
        "check_for_update_on_startup = false",
        "",
        "[model_providers.mock]",
        'name = "harnex mock"',
        f"base_url = {json.dumps(mock_base_url)}",
        'wire_api = "responses"',
        f"env_key = {json.dumps(CODEX_KEY_ENV)}",
        "",
        # Keep it from reaching outside hosts (plugin sync, the announcement tip).
        "[features]",
        "plugins = false",
        "remote_plugin = false",
        "",
        "[tui]",
        "show_tooltips = false",
        "",
        # Its sandbox makes /tmp writable and puts empty mount points there (.git, .codex,
        # .agents, .aws): /tmp/.git would make every test folder under /tmp look like one
        # repository. The throw-away TMPDIR stays writable.
        "[sandbox_workspace_write]",
        "exclude_slash_tmp = true",
        "",
    ]
    if trust:
        lines += [f"[projects.{json.dumps(str(cwd))}]", 'trust_level = "trusted"', ""]
    (codex_home / "config.toml").write_text("\n".join(lines))
    env = base_env(home, {"CODEX_HOME": str(codex_home), CODEX_KEY_ENV: DUMMY_API_KEY})
    if extra_env:
        env.update(extra_env)
    argv = [str(binary), "--no-alt-screen"]
    if no_daemon:
        argv.append("--no-daemon")
    argv.extend(extra_args)
    return AgentLaunch("codex", argv, env, home, cwd)


def gemini_launch(
    binary: Path | str,
    mock_url: str,
    home: Path,
    cwd: Path,
    *,
    trust: bool = False,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> AgentLaunch:
    """A throw-away HOME for Gemini CLI pointed at a :class:`MockGemini` at ``mock_url``
    (``GOOGLE_GEMINI_BASE_URL``, plain http on loopback, with a dummy ``GEMINI_API_KEY``).
    The settings pick API-key auth (no auth dialog) and turn off update checks and usage
    statistics. ``trust=False`` (the default) leaves the folder-trust dialog in place."""
    home = Path(home).resolve()
    cwd = Path(cwd).resolve()
    gemini_dir = home / ".gemini"
    gemini_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "privacy": {"usageStatisticsEnabled": False},
        "ui": {"hideTips": True},
    }
    (gemini_dir / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    if trust:
        trusted = {str(cwd): "TRUST_FOLDER"}
        (gemini_dir / "trustedFolders.json").write_text(json.dumps(trusted) + "\n")
    env = base_env(
        home,
        {
            "GOOGLE_GEMINI_BASE_URL": mock_url,
            "GEMINI_API_KEY": DUMMY_API_KEY,
            "GEMINI_TELEMETRY_ENABLED": "false",
        },
    )
    if extra_env:
        env.update(extra_env)
    return AgentLaunch("gemini", [str(binary), *extra_args], env, home, cwd)


OPENCODE_MODEL = "mock/mock-model"


def opencode_launch(
    binary: Path | str,
    mock_base_url: str,
    home: Path,
    cwd: Path,
    *,
    ask_bash: bool = True,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> AgentLaunch:
    """A throw-away HOME for OpenCode with one provider, ``mock`` (the built-in
    ``@ai-sdk/openai-compatible`` package, nothing downloaded), pointed at a
    :class:`MockOpenAI` (``mock_base_url`` ends in ``/v1``; OpenCode calls its chat
    completions). The config goes in through ``OPENCODE_CONFIG``; updates, model-list
    fetches, LSP downloads and sharing are off. ``ask_bash`` makes OpenCode ask before every
    shell command (its default is to run them)."""
    home = Path(home).resolve()
    cwd = Path(cwd).resolve()
    home.mkdir(parents=True, exist_ok=True)
    provider, model = OPENCODE_MODEL.split("/")
    config: dict[str, object] = {
        "provider": {
            provider: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "harnex mock",
                "options": {"baseURL": mock_base_url, "apiKey": DUMMY_API_KEY},
                "models": {model: {"name": "Mock Model"}},
            }
        },
        "model": OPENCODE_MODEL,
        "small_model": OPENCODE_MODEL,
        "autoupdate": False,
        "share": "disabled",
    }
    if ask_bash:
        config["permission"] = {"bash": "ask"}
    config_file = home / "opencode.json"
    config_file.write_text(json.dumps(config, indent=2) + "\n")
    env = base_env(
        home,
        {
            "OPENCODE_CONFIG": str(config_file),
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
            "OPENCODE_DISABLE_SHARE": "1",
        },
    )
    if extra_env:
        env.update(extra_env)
    return AgentLaunch("opencode", [str(binary), *extra_args], env, home, cwd)


QWEN_MODEL = "gpt-mock-1"


def qwen_launch(
    binary: Path | str,
    mock_base_url: str,
    home: Path,
    cwd: Path,
    *,
    trust_dialog: bool = False,
    trust: bool = False,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> AgentLaunch:
    """A throw-away HOME for Qwen Code pointed at a :class:`MockOpenAI` (``mock_base_url``
    ends in ``/v1``; Qwen Code calls its chat completions) through ``OPENAI_BASE_URL``,
    ``OPENAI_API_KEY`` and ``OPENAI_MODEL``. Its ``~/.qwen/settings.json`` picks the
    ``openai`` auth type (no auth dialog) and turns off update checks, usage statistics and
    telemetry, and the model calls that are not the user's turns (follow-up suggestions and
    the memory writer also offer tools, so the mock would count them as turns). The
    approval mode is ``default`` (ask before tools), not 0.24.4's ``auto``, which asks the
    model to judge each tool call. Folder trust is off in 0.24.4 unless a setting turns it
    on; ``trust_dialog=True`` does, so the trust dialog shows, unless ``trust=True`` has
    the folder trusted already (``~/.qwen/trustedFolders.json``)."""
    home = Path(home).resolve()
    cwd = Path(cwd).resolve()
    qwen_dir = home / ".qwen"
    qwen_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "security": {
            "auth": {"selectedType": "openai"},
            "folderTrust": {"enabled": trust_dialog},
        },
        "general": {"enableAutoUpdate": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "ui": {"hideTips": True, "enableFollowupSuggestions": False},
        "memory": {"enableManagedAutoMemory": False, "enableManagedAutoDream": False},
        # The packaged ripgrep lands without its execute bit: a warning box at every start.
        "tools": {"approvalMode": "default", "useRipgrep": False},
        "model": {"name": QWEN_MODEL},
    }
    (qwen_dir / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    if trust:
        trusted = {str(cwd): "TRUST_FOLDER"}
        (qwen_dir / "trustedFolders.json").write_text(json.dumps(trusted) + "\n")
    env = base_env(
        home,
        {
            "OPENAI_BASE_URL": mock_base_url,
            "OPENAI_API_KEY": DUMMY_API_KEY,
            "OPENAI_MODEL": QWEN_MODEL,
        },
    )
    if extra_env:
        env.update(extra_env)
    return AgentLaunch("qwen", [str(binary), *extra_args], env, home, cwd)


def _process_home(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for entry in raw.split(b"\0"):
        if entry.startswith(b"HOME="):
            return entry[5:].decode(errors="replace")
    return None


def processes_with_home(home: Path) -> list[int]:
    """Pids of live processes whose environment says ``HOME=<home>`` (zombies excluded)."""
    home_str = str(Path(home).resolve())
    me = os.getpid()
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if (
            entry.name.isdigit()
            and int(entry.name) != me
            and _process_home(int(entry.name)) == home_str
        ):
            pids.append(int(entry.name))
    return sorted(pids)


def _stop_pids(pids: Sequence[int], home: Path, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``, each pid still running with ``HOME=<home>``."""
    home_str = str(Path(home).resolve())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _process_home(pid) == home_str and time.monotonic() < deadline:
            time.sleep(0.05)
        if _process_home(pid) == home_str:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def stop_codex_daemon(home: Path, timeout: float = 5.0) -> list[int]:
    """Stop the app-server daemon processes a Codex run under ``home`` left behind.

    Only pids listed in ``$HOME/.codex/app-server-daemon/*.pid`` whose own environment says
    ``HOME=<home>`` are signalled, so a user's own daemon (another HOME) is never touched.
    Returns the pids that were signalled.
    """
    home = Path(home).resolve()
    pids: list[int] = []
    for pid_file in sorted((home / ".codex" / "app-server-daemon").glob("*.pid")):
        try:
            text = pid_file.read_text().strip()
            data = json.loads(text) if text.startswith("{") else {"pid": int(text)}
            pid = int(data["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if pid > 1 and _process_home(pid) == str(home):
            pids.append(pid)
    _stop_pids(pids, home, timeout)
    return pids
