"""``harnex skills install|uninstall [NAME...]``: put the agent skills where agents load them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from harnex_tmux.skills import Targets

_NAMES_HELP = (
    "NAME: harnex-dispatch (aliases: dispatch, harnex), harnex-chain (alias: chain-implement), "
    "harnex-buddy; none: all of them, plus the deprecated 'harnex' skill."
)


@click.group(invoke_without_command=True)
@click.pass_context
def command(ctx: click.Context) -> None:
    """Install or remove the harnex skills for Claude Code, Codex, Gemini CLI, Qwen Code
    and OpenCode.

    Global: ~/.claude/skills/<name>/ (which OpenCode also reads), with links to it at
    ~/.codex/skills/<name>, ~/.gemini/skills/<name> and ~/.qwen/skills/<name>. With --local:
    the same under this repository's .claude/, .codex/, .gemini/ and .qwen/ folders.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())  # a question, not a mistake (as 0.4.0)


def _targets(local: bool) -> Targets:
    from harnex_tmux.skills import global_targets, local_targets
    from harnex_tmux.state import repo_root_for

    return local_targets(repo_root_for()) if local else global_targets()


@command.command(epilog=_NAMES_HELP)
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--local", is_flag=True, help="Into this repository instead of your home.")
@click.option("--force", is_flag=True, help="Replace skill folders harnex did not create.")
def install(names: tuple[str, ...], local: bool, force: bool) -> None:
    """Install (or refresh) skills; a folder harnex did not create is refused without --force."""
    from harnex_tmux.skills import install as install_skills

    for change in install_skills(names, _targets(local), force=force):
        click.echo(change.describe())


@command.command(epilog=_NAMES_HELP)
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--local", is_flag=True, help="From this repository instead of your home.")
@click.option("--force", is_flag=True, help="Also remove skill folders harnex did not create.")
def uninstall(names: tuple[str, ...], local: bool, force: bool) -> None:
    """Remove skills that harnex installed; removing one that is not there is not an error."""
    from harnex_tmux.skills import uninstall as uninstall_skills

    for change in uninstall_skills(names, _targets(local), force=force):
        click.echo(change.describe())
