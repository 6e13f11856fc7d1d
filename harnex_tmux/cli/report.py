"""``harnex report``: send a line back to the pane that started this session."""

from __future__ import annotations

import click

from harnex_tmux.cli.options import print_json, socket_option


@click.command()
@click.argument("words", nargs=-1)
@click.option("--message", "-m", help="The text (else the words given, else stdin).")
@click.option("--pane", help="tmux pane id to type into (default: $HARNEX_SPAWNER_PANE).")
@click.option(
    "--relay/--no-relay",
    default=None,
    help="Prefix the relay header (default: when sent from inside a harnex session).",
)
@click.pass_context
def command(
    ctx: click.Context,
    words: tuple[str, ...],
    message: str | None,
    pane: str | None,
    relay: bool | None,
) -> None:
    """Type a message into the spawner's pane and press Enter; the spawner need not be a
    harnex session. Exit 1 when there is no spawner pane or it is gone."""
    from harnex_tmux.cli.send import _message_text
    from harnex_tmux.reporting import report

    text = _message_text(message, words, submit_only=False)
    result = report(text, pane=pane, socket=socket_option(ctx), relay=relay)
    print_json(result.to_dict())
