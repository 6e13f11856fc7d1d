"""``harnex recipes``: print the worked recipes shipped inside the package."""

from __future__ import annotations

import click

from harnex_tmux.cli.guide import print_packaged_doc


@click.command()
def command() -> None:
    """Print worked recipes: reviews, workers, buddies, parallel work, recovery."""
    print_packaged_doc("RECIPES.md")
