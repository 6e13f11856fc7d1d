"""``harnex guide``: print the getting-started guide shipped inside the package.

The text is a file in the package (``harnex_tmux/data/GUIDE.md``) rather than a string in the
code, so it is the same document the tests check command by command.
"""

from __future__ import annotations

import click


def print_packaged_doc(filename: str) -> None:
    """Echo ``harnex_tmux/data/<filename>``; a missing file is an installation problem."""
    from importlib.resources import files

    from harnex_tmux.errors import HarnexError

    resource = files("harnex_tmux").joinpath("data", filename)
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnexError(f"{filename} is missing from this installation: {exc}") from exc
    click.echo(text, nl=not text.endswith("\n"))


@click.command()
def command() -> None:
    """Print the getting-started guide."""
    print_packaged_doc("GUIDE.md")
