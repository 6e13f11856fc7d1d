"""``harnex usage``: tokens and cost per session (running or ended), and in total."""

from __future__ import annotations

import click

from harnex_tmux.cli.options import print_json
from harnex_tmux.usage.tokens import money


@click.command()
@click.option("--id", "ident", help="Only this session.")
@click.option("--repo", type=click.Path(file_okay=False), help="Sessions of that repo.")
@click.option("--all", "all_repos", is_flag=True, help="Sessions of every repo.")
@click.option("--since", help="Only calls since then: a duration back (2h, 3d) or a date.")
@click.option(
    "--by",
    type=click.Choice(["session", "cli", "model", "day"]),
    default="session",
    show_default=True,
    help="What one row sums.",
)
@click.option("--json", "as_json", is_flag=True, help="The rows and the total as JSON.")
def command(
    ident: str | None,
    repo: str | None,
    all_repos: bool,
    since: str | None,
    by: str,
    as_json: bool,
) -> None:
    """Tokens (input, cached, output, reasoning) and cost, per session and in total.

    Read from the files each agent writes its usage to (the session's record says which), so
    ended sessions count too. A cost is the CLI's own figure or tokens times the price table
    (harnex_tmux/data/prices.toml, a user's ~/.config/harnex/prices.toml over it); a model
    with no price is "unknown", never a guess.
    """
    from harnex_tmux.usage.model import total
    from harnex_tmux.usage.query import grouped, sessions, since_time

    rows = sessions(ident, repo, all_repos)
    lines = grouped(rows, by, since_time(since) if since else None)
    whole = total([line.usage for line in lines])
    problems = sorted({f"{row.id}: {p}" for row in rows for p in row.report.problems})
    if as_json:
        print_json(
            {
                "by": by,
                "rows": [line.to_dict() for line in lines],
                "total": {"calls": sum(line.calls for line in lines), **whole.to_dict()},
                "problems": problems,
            }
        )
        return
    if not lines:
        click.echo("No usage recorded.")
    else:
        click.echo(table(by.upper(), [(line.name, line.usage) for line in lines], whole))
    for problem in problems:
        click.echo(f"note: {problem}", err=True)


def table(first: str, rows: list[tuple[str, object]], whole: object) -> str:
    from harnex_tmux.usage.model import Usage

    header = [first, "INPUT", "CACHED", "OUTPUT", "REASONING", "TOKENS", "COST"]
    body = []
    for name, usage in [*rows, ("TOTAL", whole)]:
        assert isinstance(usage, Usage)
        body.append(
            [
                name,
                str(usage.input + usage.cache_write),
                str(usage.cached),
                str(usage.output),
                str(usage.reasoning),
                str(usage.tokens),
                money(usage.cost_usd),
            ]
        )
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        for line in [header, *body]
    )
