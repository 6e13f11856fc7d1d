"""``harnex mcp``: serve harnex's tools over MCP (stdio), or print how to register them."""

from __future__ import annotations

import click
from click.core import ParameterSource

from harnex_tmux.cli.options import Timeout, socket_option
from harnex_tmux.mcp.config import CLIENTS, DEFAULT_CALL_LIMIT_S, MIN_CALL_LIMIT_S, client_config


@click.command()
@click.option(
    "--print-config",
    "client",
    type=click.Choice(CLIENTS),
    help="Print the snippet that registers this server with that agent CLI, and exit.",
)
@click.option(
    "--http",
    "port",
    type=click.IntRange(0, 65535),
    help="Serve streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio (0: any free port).",
)
@click.option(
    "--token",
    envvar="HARNEX_MCP_TOKEN",
    help="With --http: the bearer token clients must send (default: a random one, printed).",
)
@click.option(
    "--call-limit",
    type=Timeout(),
    envvar="HARNEX_MCP_CALL_LIMIT",
    default=DEFAULT_CALL_LIMIT_S,
    show_default=True,
    help="Seconds after which a long wait or send answers 'still waiting' with how to go on "
    f"(clients that give up at 60 s); 0: never; else at least {MIN_CALL_LIMIT_S:g}.",
)
@click.pass_context
def command(
    ctx: click.Context,
    client: str | None,
    port: int | None,
    token: str | None,
    call_limit: float,
) -> None:
    """Serve MCP on stdin/stdout: tools run, send, status, pane, wait, events, stop, report.

    Register it with an agent (see --print-config) and the agent can start, message and
    watch other agents natively.
    """
    if client is not None:
        click.echo(client_config(client))
        return
    if 0 < call_limit < MIN_CALL_LIMIT_S:
        raise click.BadParameter(
            f"{call_limit:g} is under {MIN_CALL_LIMIT_S:g}: a wait must see one answer of the "
            "agent's sidecar (it answers within 30 s) to go on from where it stopped",
            param_hint="'--call-limit'",
        )
    if port is None:
        if token is not None and ctx.get_parameter_source("token") is ParameterSource.COMMANDLINE:
            raise click.UsageError("--token goes with --http")
        from harnex_tmux.mcp.server import serve_stdio

        serve_stdio(socket_option(ctx), call_limit)
        return
    import secrets

    from harnex_tmux.mcp.http import serve_http

    chosen = token or secrets.token_hex(16)

    def ready(url: str) -> None:
        # One line a script (or a person) reads the endpoint and the token from.
        shown = "" if token else f" token {chosen}"
        click.echo(f"harnex mcp: serving {url}{shown}", err=True)

    serve_http(port, chosen, socket_option(ctx), ready, call_limit)
