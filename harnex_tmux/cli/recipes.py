"""``harnex recipes``: print the worked recipes shipped inside the package.

The recipes live in one file, ``harnex_tmux/data/RECIPES.md``; each ``## N. Title`` section is
one recipe, named like 0.4.0's recipe files: the number in two digits, then the title's words
(``05_a_buddy_for_overnight_work``). ``show`` finds a recipe by its whole name, a prefix (``05``)
or a part of it (``buddy``), as 0.4.0 did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import click

from harnex_tmux.cli.guide import print_packaged_doc

_HEADING = re.compile(r"^## +(\d+)\.? +(.+?)\s*$")


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    text: str


def load_recipes() -> list[Recipe]:
    from importlib.resources import files

    from harnex_tmux.errors import HarnexError

    try:
        text = files("harnex_tmux").joinpath("data", "RECIPES.md").read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnexError(f"RECIPES.md is missing from this installation: {exc}") from exc
    recipes: list[Recipe] = []
    current: tuple[str, str, list[str]] | None = None
    for line in text.splitlines(keepends=True):
        match = _HEADING.match(line)
        if match:
            if current is not None:
                recipes.append(Recipe(current[0], current[1], "".join(current[2])))
            number, title = match.groups()
            slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
            current = (f"{int(number):02d}_{slug}", title, [line])
        elif current is not None:
            current[2].append(line)
    if current is not None:
        recipes.append(Recipe(current[0], current[1], "".join(current[2])))
    return recipes


def find_recipe(recipes: list[Recipe], query: str) -> Recipe | None:
    """Whole name, then prefix, then part of a name; a 0.4.0 name such as ``03_buddy`` also
    finds ours by the words after its number."""
    wanted = query.strip().lower().removesuffix(".md")
    candidates = [wanted]
    bare = re.sub(r"^\d+[_-]", "", wanted)
    if bare and bare != wanted:
        candidates.append(bare)
    for candidate in candidates:
        names = [recipe.name for recipe in recipes]
        for matches in (
            [n == candidate for n in names],
            [n.startswith(candidate) for n in names],
            [candidate in n for n in names],
        ):
            if any(matches):
                return recipes[matches.index(True)]
    return None


@click.command()
@click.argument("words", nargs=-1, metavar="[list | show NAME | NAME]")
def command(words: tuple[str, ...]) -> None:
    """Print worked recipes: reviews, workers, buddies, parallel work, recovery.

    Without arguments all recipes are printed; `list` names them, `show NAME` (or just NAME)
    prints one, found by name, number (`05`) or a word of its name (`buddy`).
    """
    from harnex_tmux.errors import HarnexError, UsageError

    if not words:
        print_packaged_doc("RECIPES.md")
        return
    recipes = load_recipes()
    if words[0] == "list":
        if len(words) > 1:
            raise UsageError("recipes list takes no arguments")
        click.echo("Recipes:\n")
        width = max((len(r.name) for r in recipes), default=0)
        for recipe in recipes:
            click.echo(f"  {recipe.name.ljust(width)}  {recipe.title}")
        click.echo("\nRun `harnex recipes show <name>` to read one.")
        return
    query = words[1:] if words[0] == "show" else words
    if not query:
        raise HarnexError("recipes show: recipe name required")
    if len(query) > 1:
        raise UsageError("name one recipe")
    found = find_recipe(recipes, query[0])
    if found is None:
        raise HarnexError(
            f"no recipe matching {query[0]!r}; `harnex recipes list` shows the recipes"
        )
    click.echo(found.text.rstrip("\n"))
