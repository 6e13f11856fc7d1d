"""``harnex mcp``: serve harnex's tools over MCP (stdio), or print how to register them."""

from __future__ import annotations

import click

from harnex_tmux.cli.options import socket_option


@click.command()
@click.option(
    "--print-config",
    "client",
    type=click.Choice(["claude", "codex", "gemini", "opencode"]),
    help="Print the snippet that registers this server with that agent CLI, and exit.",
)
@click.pass_context
def command(ctx: click.Context, client: str | None) -> None:
    """Serve MCP on stdin/stdout: tools run, send, status, pane, wait, events, stop, report.

    Register it with an agent (see --print-config) and the agent can start, message and
    watch other agents natively.
    """
    if client is not None:
        from harnex_tmux.mcp_config import client_config

        click.echo(client_config(client))
        return
    from harnex_tmux.mcp_server import serve_stdio

    serve_stdio(socket_option(ctx))
