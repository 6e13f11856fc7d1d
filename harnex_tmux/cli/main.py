"""The ``harnex`` entry point: a click group that imports each command only when it runs."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import click

from harnex_tmux import __version__
from harnex_tmux.errors import HarnexError

COMMANDS = {
    "run": "harnex_tmux.cli.run",
    "status": "harnex_tmux.cli.status",
    "stop": "harnex_tmux.cli.stop",
    "diff": "harnex_tmux.cli.diff",
    "clean": "harnex_tmux.cli.clean",
    "wait": "harnex_tmux.cli.wait",
    "logs": "harnex_tmux.cli.logs",
    "pane": "harnex_tmux.cli.pane",
    "attach": "harnex_tmux.cli.attach",
    "send": "harnex_tmux.cli.send",
    "recover": "harnex_tmux.cli.recover",
    "resume": "harnex_tmux.cli.resume",
    "demo": "harnex_tmux.cli.demo",
    "events": "harnex_tmux.cli.events",
    "report": "harnex_tmux.cli.report",
    "skills": "harnex_tmux.cli.skills",
    "guide": "harnex_tmux.cli.guide",
    "recipes": "harnex_tmux.cli.recipes",
    "hook": "harnex_tmux.cli.hook",
    "adapters": "harnex_tmux.cli.adapters",
    "mcp": "harnex_tmux.cli.mcp",
    "dash": "harnex_tmux.cli.dash",
    "doctor": "harnex_tmux.cli.doctor",
    "hosts": "harnex_tmux.cli.hosts",
    "usage": "harnex_tmux.cli.usage",
    "budget": "harnex_tmux.cli.budget",
}


@dataclass
class GlobalOptions:
    socket: str | None = None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *BUILTIN]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in BUILTIN:
            return BUILTIN[cmd_name]
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = importlib.import_module(module).command
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args[:1] == ["run"]:
            # Before the run command's modules load: see harnex_tmux.early_sidecar.
            from harnex_tmux import early_sidecar

            early_sidecar.start_for_run()
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarnexError as exc:
            click.echo(f"harnex: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            # With what the interrupted command did about it: "msg-... withdrawn, never typed".
            said = f"; {exc.args[0]}" if exc.args else ""
            click.echo(f"harnex: interrupted{said}", err=True)
            ctx.exit(130)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(
    __version__, "--version", "-v", prog_name="harnex", message="%(prog)s %(version)s"
)
@click.option(
    "--socket",
    envvar="HARNEX_TMUX_SOCKET",
    help="tmux server socket name (like tmux -L) or path; default: the caller's server.",
)
@click.pass_context
def cli(ctx: click.Context, socket: str | None) -> None:
    """Run AI coding agents in visible tmux windows and talk to them."""
    ctx.obj = GlobalOptions(socket=socket)
    from harnex_tmux.hosts.end_with_stdin import watch_if_asked

    watch_if_asked()
    if ctx.invoked_subcommand is None:
        # Bare `harnex` is a question, not a mistake: usage, exit 0 (as 0.4.0).
        click.echo(ctx.get_help())
        ctx.exit(0)


@click.command("help")
@click.argument("topic", required=False, metavar="[COMMAND]")
@click.pass_context
def help_command(ctx: click.Context, topic: str | None) -> None:
    """Show the help of harnex or of one command (like `harnex COMMAND --help`)."""
    group = ctx.parent.command if ctx.parent is not None else None
    assert isinstance(group, click.Group) and ctx.parent is not None
    found = group.get_command(ctx.parent, topic) if topic else None
    if found is None:
        # As 0.4.0: an unknown topic shows the general usage.
        click.echo(ctx.parent.get_help())
        return
    with click.Context(found, info_name=topic, parent=ctx.parent) as sub_ctx:
        click.echo(found.get_help(sub_ctx))


@click.command("version")
def version_command() -> None:
    """Print the version (same as --version)."""
    click.echo(f"harnex {__version__}")


BUILTIN: dict[str, click.Command] = {"help": help_command, "version": version_command}


def main() -> None:
    cli.main(prog_name="harnex")


if __name__ == "__main__":
    main()
