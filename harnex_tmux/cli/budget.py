"""``harnex budget``: show a session's budget, raise it (``--add``) or take it away."""

from __future__ import annotations

import click

from harnex_tmux.cli.options import print_json, target_options


@click.command()
@target_options
@click.option("--add", metavar="AMOUNT", help="Raise the budget by AMOUNT (2usd, 1M, 150k).")
@click.option("--clear", is_flag=True, help="Take the budget away: nothing is enforced.")
@click.option("--json", "as_json", is_flag=True, help="The budget as JSON (null: none).")
def command(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    add: str | None,
    clear: bool,
    as_json: bool,
) -> None:
    """Show what a session may spend and what it spent; --add raises the limit (on a session
    without a budget it sets one), --clear removes it. A spent budget holds the session's
    inbox and refuses new messages until one of them; what was queued is then typed.
    """
    from harnex_tmux.errors import UsageError
    from harnex_tmux.session.control import change_budget
    from harnex_tmux.session.find import find_session

    if add is not None and clear:
        raise UsageError("give --add or --clear, not both")
    if ident is not None and ":" in ident:
        from harnex_tmux.hosts.remote import RemoteSession

        if repo is not None or cli_filter is not None:
            raise UsageError("--repo and --cli are for local sessions")
        # The host's sidecar enforces it: its own harnex changes it there.
        budget = RemoteSession.for_target(ident).budget(add=add, clear=clear)
    else:
        budget = change_budget(find_session(ident, repo, cli_filter), add=add, clear=clear)
    if as_json:
        print_json({"ok": True, "budget": budget})
    elif budget is None:
        click.echo("No budget.")
    elif "problem" in budget:
        click.echo(f"Budget not enforced: {budget['problem']}")
    else:
        click.echo(f"{budget['text']} ({budget['state']})")
