"""``harnex adapters list|show|check``: which agent CLIs harnex knows, and adapter files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harnex_tmux.errors import HarnexError

if TYPE_CHECKING:
    from harnex_tmux.adapters.catalog import Catalog


@click.group(invoke_without_command=True)
@click.pass_context
def command(ctx: click.Context) -> None:
    """The agent CLIs harnex knows, and the adapter files that describe their screens.

    Adapter files (TOML) are read from the package, ~/.config/harnex/adapters/ and the
    repository's .harnex/adapters/; a later file of the same name wins.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def _catalog() -> Catalog:
    from harnex_tmux.adapters import load_catalog
    from harnex_tmux.state import repo_root_for

    return load_catalog(repo_root_for())


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per adapter, in a list.")
def list_command(as_json: bool) -> None:
    """Name, source file, matched commands and signals of every adapter."""
    catalog = _catalog()
    rows: list[dict[str, Any]] = []
    for name in catalog.names():
        adapter = catalog.build(name)
        rules = catalog.rules.get(name)
        rows.append(
            {
                "name": name,
                "source": rules.source if rules else "built-in",
                "commands": list(rules.commands) if rules else [],
                "signals": adapter.signals,
            }
        )
    if as_json:
        click.echo(json.dumps({"adapters": rows, "skipped": catalog.problems}, indent=2))
        return
    for row in rows:
        commands = ", ".join(row["commands"]) or "(any other command)"
        click.echo(f"{row['name']:<10} {commands:<24} {row['signals']}")
        click.echo(f"{'':<10} {row['source']}")
    for problem in catalog.problems:
        click.echo(f"skipped: {problem}", err=True)


@command.command()
@click.argument("name")
def show(name: str) -> None:
    """Print the adapter file that NAME uses (the winning one)."""
    catalog = _catalog()
    rules = catalog.rules.get(name)
    if rules is None:
        if name in catalog.names():
            raise HarnexError(f"adapter {name!r} has no file: it is built in")
        raise HarnexError(f"unknown adapter {name!r}; known: {', '.join(catalog.names())}")
    click.echo(f"# {rules.source}")
    click.echo(Path(rules.source).read_text(encoding="utf-8"), nl=False)


@command.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--screen",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A saved screen (e.g. from `harnex pane`): print the state the rules detect in it.",
)
def check(file: Path, screen: Path | None) -> None:
    """Check an adapter file: unknown keys, bad regexes, missing states. Exit 2 if bad."""
    from harnex_tmux.adapters.base import Observation
    from harnex_tmux.adapters.rules import load_rules
    from harnex_tmux.adapters.screen import ScreenAdapter
    from harnex_tmux.errors import AdapterCheckFailed, AdapterFileError

    try:
        rules = load_rules(file)
    except AdapterFileError as exc:
        raise AdapterCheckFailed(str(exc)) from None
    if screen is None:
        click.echo(f"ok: {rules.name} ({', '.join(rules.commands)})")
        return
    adapter = ScreenAdapter(rules)
    text = screen.read_text(encoding="utf-8", errors="replace")
    state = adapter.detect(Observation(screen=text, quiet_for=float("inf")))
    line = adapter.input_line(text)
    click.echo(state.value)
    if line is not None:
        click.echo(f"input line: {line!r}")
