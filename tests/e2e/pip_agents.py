"""Install the pinned agent CLIs that come from PyPI (Aider), and their throw-away homes.

- :func:`install_aider` creates a virtual environment ``<agents dir>/aider-venv`` and installs
  ``aider-chat`` at the version pinned in compat.toml into it with pip (once; later calls
  reuse it while the marker file says the same version; a lock file keeps parallel pytest
  workers from racing).
  The agents dir is the one npm's CLIs use (``$HARNEX_E2E_AGENTS_DIR``, else
  ``<repo>/.cache/agents``). Failures raise the same errors as :mod:`.agents`, so the
  ``aider`` fixture skips (or fails under ``CI=true``) the same way.
- :func:`aider_launch` writes a fresh HOME that points Aider at a mock OpenAI-compatible server
  and keeps it off the network.

To bump the version, change Aider's ``tested`` in ``harnex_tmux/data/compat.toml`` and re-run
``tests/e2e/test_aider.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from harnex_tmux.compat import load_compat

from .agents import (
    DUMMY_API_KEY,
    MARKER,
    AgentInstallError,
    AgentLaunch,
    AgentsUnavailableError,
    base_env,
    check_version,
    default_prefix,
    install_once,
    run_installer,
    wanted_versions,
)

# The pin is harnex's tested release (harnex_tmux/data/compat.toml), as `harnex doctor` sees it.
# scripts/compat.py may ask for another release through $HARNEX_E2E_VERSIONS.
AIDER_PACKAGE = load_compat()["aider"].package
AIDER_VERSION = wanted_versions().get("aider", load_compat()["aider"].tested)
AIDER_MODEL = "openai/gpt-mock-1"

_NETWORK_HINTS = (
    "Temporary failure in name resolution",
    "Name or service not known",
    "NewConnectionError",
    "Max retries exceeded",
    "Connection refused",
    "Network is unreachable",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "timed out",
)


def aider_venv(prefix: Path | None = None) -> Path:
    return (prefix or default_prefix()).resolve() / "aider-venv"


def _pinned() -> dict[str, str]:
    return {AIDER_PACKAGE: AIDER_VERSION}


def _already_installed(venv: Path) -> Path | None:
    binary = venv / "bin" / "aider"
    try:
        marker = json.loads((venv / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return binary if marker == _pinned() and binary.exists() else None


def _run(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return run_installer(argv, env=env, timeout=timeout)


def _tail(output: str, lines: int = 8) -> str:
    return "\n".join(line for line in output.strip().splitlines()[-lines:])


def install_aider(prefix: Path | None = None, timeout: float = 900.0) -> Path:
    """The ``aider`` executable of the pinned install, installing it first if needed.

    Raises :class:`AgentsUnavailableError` when a virtual environment cannot be made or pip
    cannot reach its index, and :class:`AgentInstallError` for any other failure.
    """

    def install(venv: Path) -> Path:
        shutil.rmtree(venv, ignore_errors=True)
        made = _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
        if made.returncode != 0:
            raise AgentsUnavailableError(
                f"cannot create a virtual environment for Aider:\n{_tail(made.stderr)}"
            )
        python = venv / "bin" / "python"
        spec = f"{AIDER_PACKAGE}=={AIDER_VERSION}"
        result = _run([str(python), "-m", "pip", "install", "--quiet", spec], timeout=timeout)
        if result.returncode != 0:
            output = result.stdout + "\n" + result.stderr
            if any(hint.lower() in output.lower() for hint in _NETWORK_HINTS):
                raise AgentsUnavailableError(f"pip could not install {spec}:\n{_tail(output)}")
            raise AgentInstallError(f"pip install {spec} failed:\n{_tail(output)}")
        binary = venv / "bin" / "aider"
        scratch = venv / "version-check-home"  # keep `--version` off the real HOME
        check_version([str(binary), "--version"], AIDER_VERSION, scratch, timeout=120)
        shutil.rmtree(scratch, ignore_errors=True)
        (venv / MARKER).write_text(json.dumps(_pinned()) + "\n")
        return binary

    return install_once(aider_venv(prefix), _already_installed, install, timeout)


def write_aider_model_files(home: Path) -> None:
    """Aider's model metadata and settings for :data:`AIDER_MODEL` in ``home`` (the folder
    Aider reads them from): with the metadata Aider fetches no model list and warns about no
    unknown model; ``reminder: sys`` keeps it from appending its reminder to the user's
    message, so the mock sees the exact text. A local and a remote Aider need the same."""
    metadata = {
        AIDER_MODEL: {
            "max_input_tokens": 128000,
            "max_output_tokens": 4096,
            "max_tokens": 4096,
            "input_cost_per_token": 0,
            "output_cost_per_token": 0,
            "litellm_provider": "openai",
            "mode": "chat",
        }
    }
    (home / ".aider.model.metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    (home / ".aider.model.settings.yml").write_text(f"- name: {AIDER_MODEL}\n  reminder: sys\n")


def aider_offline_env(base_url: str) -> dict[str, str]:
    """The variables that point Aider at the mock at ``base_url`` (ending in ``/v1``) and keep
    it off the network: litellm's bundled cost map, no update check, release notes,
    analytics or auto-commits."""
    return {
        "OPENAI_API_KEY": DUMMY_API_KEY,
        "OPENAI_API_BASE": base_url,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "AIDER_CHECK_UPDATE": "false",
        "AIDER_ANALYTICS_DISABLE": "true",
        "AIDER_SHOW_RELEASE_NOTES": "false",
        "AIDER_AUTO_COMMITS": "false",
    }


def aider_launch(
    binary: Path | str,
    base_url: str,
    home: Path,
    cwd: Path,
    *,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> AgentLaunch:
    """A throw-away HOME for Aider pointed at a :class:`~.mock_openai.MockOpenAIChat`.

    ``base_url`` ends in ``/v1``. Nothing reaches the network: litellm reads its bundled model
    cost map (``LITELLM_LOCAL_MODEL_COST_MAP``), the model's metadata is in the home (so Aider
    fetches no model list and warns about no unknown model), and Aider's update check,
    release notes and analytics are off. ``reminder: sys`` in the model settings keeps Aider
    from appending its reminder to the user's message, so the mock sees the exact text.
    """
    home.mkdir(parents=True, exist_ok=True)
    write_aider_model_files(home)
    # Aider warns at start when git has no identity.
    (home / ".gitconfig").write_text("[user]\n\tname = harnex e2e\n\temail = e2e@harnex.invalid\n")
    env = base_env(
        home,
        {**aider_offline_env(base_url), **(extra_env or {})},
    )
    argv = [str(binary), "--model", AIDER_MODEL, *extra_args]
    return AgentLaunch("aider", argv, env, home, cwd)
