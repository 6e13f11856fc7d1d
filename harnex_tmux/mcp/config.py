"""``harnex mcp --print-config CLI``: the snippet that registers ``harnex mcp`` with an agent.

Each snippet is what that CLI reads as it is, so it can be piped or pasted: Claude Code's
``--mcp-config`` JSON, Codex's ``config.toml`` table, Gemini CLI's and Qwen Code's
``settings.json`` objects, OpenCode's ``opencode.json`` object. The server command is
``harnex mcp`` when ``harnex`` is on PATH, else this interpreter running the package (a
checkout used without installing).
"""

from __future__ import annotations

import json
import shutil
import sys

from harnex_tmux.errors import UsageError

SERVER_NAME = "harnex"
CLIENTS = ("claude", "codex", "gemini", "opencode", "qwen")
# Claude Code's permission rule for every tool of one MCP server.
CLAUDE_ALLOW_RULE = f"mcp__{SERVER_NAME}"
# Seconds Codex lets one tool call run (its own default is 60).
CODEX_TOOL_TIMEOUT_S = 3600
# Milliseconds Qwen Code lets one tool call run (its own default is 10 minutes).
QWEN_TOOL_TIMEOUT_MS = CODEX_TOOL_TIMEOUT_S * 1000
# Seconds a long wait or send runs before it answers "still waiting": clients such as the
# MCP Inspector and those built on the TypeScript SDK end a request at 60 s.
DEFAULT_CALL_LIMIT_S = 50.0
# A cut wait goes on from the agent's turn count, which the sidecar's first long-poll answer
# (within 30 s) names: a shorter limit could cut before it.
MIN_CALL_LIMIT_S = 35.0
# Codex starts MCP servers with a short list of variables only; harnex needs these from the
# agent's environment to find its state and tmux server and to know the calling session.
PASSED_ENV = (
    "HARNEX_STATE_DIR",
    "HARNEX_TMUX_SOCKET",
    "HARNEX_HOST",
    "HARNEX_BASE_PORT",
    "HARNEX_PORT_SPAN",
    "HARNEX_ID",
    "HARNEX_SESSION_ID",
    "HARNEX_SESSION_CLI",
    "HARNEX_SPAWNER_PANE",
    "TMUX",
    "TMUX_PANE",
    "TMUX_TMPDIR",
    "XDG_STATE_HOME",
    "PYTHONPATH",
)


def server_command() -> list[str]:
    """The command line an agent runs to start the server."""
    if shutil.which("harnex"):
        return ["harnex", "mcp"]
    return [sys.executable, "-m", "harnex_tmux", "mcp"]


def client_config(client: str, command: list[str] | None = None) -> str:
    """The registration snippet for ``client`` (one of CLIENTS)."""
    command = command or server_command()
    stdio = {"command": command[0], "args": command[1:]}
    if client in ("claude", "gemini"):
        return json.dumps({"mcpServers": {SERVER_NAME: stdio}}, indent=2)
    if client == "codex":
        return "\n".join(
            [
                f"[mcp_servers.{SERVER_NAME}]",
                f"command = {json.dumps(command[0])}",
                f"args = {json.dumps(command[1:])}",
                f"env_vars = {json.dumps(list(PASSED_ENV))}",
                "# Codex ends a tool call after 60 s by default; wait and send reply:true take",
                "# as long as the other agent's turn.",
                f"tool_timeout_sec = {CODEX_TOOL_TIMEOUT_S}",
                "# Run harnex's tools without asking each time:",
                '# default_tools_approval_mode = "approve"',
            ]
        )
    if client == "qwen":
        # JSON has no room for comments, so the choices are spelled out in the README:
        # "trust": true is what lets Qwen Code run this server's tools without asking each
        # time (in a trusted folder, or with folder trust off, its default); "alwaysLoadTools"
        # offers the eight tools to the model at once instead of behind its tool search;
        # "timeout" lets wait and send reply:true last as long as the other agent's turn.
        # Qwen Code passes its whole environment to the server: no variables need listing.
        entry = dict(stdio, trust=True, alwaysLoadTools=True, timeout=QWEN_TOOL_TIMEOUT_MS)
        return json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2)
    if client == "opencode":
        local = {"type": "local", "command": command, "enabled": True}
        return json.dumps({"mcp": {SERVER_NAME: local}}, indent=2)
    raise UsageError(f"unknown client {client!r}; known: {', '.join(CLIENTS)}")
