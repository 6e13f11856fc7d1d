"""``harnex run CLI [-- args]``: start an agent in its own tmux window."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

import click

from harnex_tmux.cli.options import print_json, socket_option
from harnex_tmux.cli.run_args import RunArguments
from harnex_tmux.cli.watch_options import watch_options

if TYPE_CHECKING:
    from harnex_tmux.launch import LaunchSpec
    from harnex_tmux.state import SessionRecord

# A foreground `run --watch` whose babysitter gave up (0.4.0's code for it).
EXIT_ESCALATED = 2


@click.command(cls=RunArguments, context_settings={"allow_interspersed_args": True})
@click.argument("agent", metavar="CLI")
@click.argument("agent_args", nargs=-1, metavar="[--] [ARGS...]")
@click.option("--id", "ident", help="Session id (default: a random two-word id).")
@click.option("--description", help="Free text shown by status.")
@click.option(
    "--tmux",
    "window_name",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[NAME]",
    help="Window name (default: the id); implies --detach, as in harnex 0.4.0.",
)
@click.option(
    "--session-name",
    default="harnex",
    show_default=True,
    help="tmux session for callers outside tmux.",
)
@click.option("--detach", is_flag=True, help="Return once the sidecar answers; print JSON.")
@click.option("--host", envvar="HARNEX_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), help="API port (default: derived).")
@click.option("--cli", "forced_adapter", help="Adapter to use instead of guessing from CLI.")
@click.option("--context", help="First message, delivered once the agent is ready.")
@click.option(
    "--prompt-regex",
    help="For other programs: a regex the last screen line matches when they wait for input.",
)
@click.option(
    "--auto-accept", is_flag=True, help="Answer the agent's folder-trust dialog with yes (opt-in)."
)
@click.option(
    "--inbox-ttl",
    type=click.FloatRange(min=1),
    envvar="HARNEX_INBOX_TTL",
    default=120.0,
    show_default=True,
    help="Seconds an undelivered message waits (default from HARNEX_INBOX_TTL).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the sidecar to start.",
)
@click.option(
    "--worktree",
    "worktree_branch",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[BRANCH]",
    help="Run in a new git worktree on a new branch (default: harnex/<id>).",
)
@click.option("--base", "worktree_base", metavar="REF", help="Start the worktree from REF.")
@click.option(
    "--worktree-dir",
    envvar="HARNEX_WORKTREE_DIR",
    type=click.Path(file_okay=False),
    help="Folder for worktrees, or $HARNEX_WORKTREE_DIR (default: <repo>.worktrees beside it).",
)
@click.option(
    "--setup", "worktree_setup", metavar="CMD", help="Shell command run in the new worktree first."
)
@click.option(
    "--budget",
    metavar="AMOUNT",
    callback=lambda ctx, param, value: _budget_text(value),
    help="Stop the agent at this spending: 5usd, $2.50, or tokens: 2M, 150k, 2000000.",
)
@click.option(
    "--on",
    "on_host",
    metavar="HOST",
    help="Run on that host (harnex hosts) instead of here, in its user's home (or --cwd).",
)
@click.option(
    "--cwd",
    "folder",
    metavar="DIR",
    help="Start in DIR instead of the current folder (--worktree: DIR's repository); with "
    "--on, DIR on the host (~ is its user's home there).",
)
@watch_options
@click.pass_context
def command(
    ctx: click.Context,
    agent: str,
    agent_args: tuple[str, ...],
    ident: str | None,
    description: str | None,
    window_name: str | None,
    session_name: str,
    detach: bool,
    host: str,
    port: int | None,
    forced_adapter: str | None,
    context: str | None,
    prompt_regex: str | None,
    auto_accept: bool,
    inbox_ttl: float,
    timeout: float,
    watch: dict[str, Any] | None,
    worktree_branch: str | None,
    worktree_base: str | None,
    worktree_dir: str | None,
    worktree_setup: str | None,
    budget: str | None,
    on_host: str | None,
    folder: str | None,
) -> None:
    """Start CLI ({shipped}, or any command) in a tmux window owned by a sidecar.

    harnex's options may come before or after CLI; other words after CLI go to the agent
    (use -- before agent options that share a name with harnex's). Without --detach or
    --tmux, wait for the agent and exit with its exit code; from a terminal outside tmux,
    attach to its window (detach with the tmux prefix + d).
    """
    from harnex_tmux import early_sidecar

    # Started as the CLI saw `run` (see harnex_tmux.early_sidecar): start_session hands it
    # the spec, or it is ended when the launch fails.
    sidecar = early_sidecar.take()
    if on_host is not None:
        early_sidecar.discard(sidecar)
        from harnex_tmux.cli.run_args import RUN_WORDS, without
        from harnex_tmux.hosts.remote import run_on

        # The host's harnex starts in DIR there (a shell's cd, so ~ is its home), not told.
        ctx.exit(run_on(on_host, without(ctx.meta[RUN_WORDS], "--on", "--cwd"), folder))
    try:
        from harnex_tmux.adapters import load_catalog
        from harnex_tmux.adapters.generic import compile_prompt_regex
        from harnex_tmux.launch import spec_for, start_folder, start_session
        from harnex_tmux.state import repo_root_for

        if prompt_regex:
            compile_prompt_regex(prompt_regex)  # a usage error now, not a sidecar that dies
        if window_name is not None:
            detach = True  # 0.4.0 scripts start with --tmux and go on to send
        here = start_folder(folder)
        # Read once: its problems are shown here, and the launch chooses and checks by it.
        catalog = load_catalog(repo_root_for(here))
        for problem in catalog.problems:
            click.echo(f"harnex: adapter file skipped: {problem}", err=True)
        spec = spec_for(
            [agent, *agent_args],
            cwd=here,
            socket=socket_option(ctx),
            ident=ident,
            description=description,
            context=context,
            forced_adapter=forced_adapter,
            catalog=catalog,
            host=host,
            port=port,
            session_name=session_name,
            window_name=window_name or None,
            inbox_ttl=inbox_ttl,
            auto_accept=auto_accept,
            watch=watch,
            prompt_regex=prompt_regex or None,
            budget=budget,
        )
        worktree = None
        if worktree_branch is not None:
            from harnex_tmux.worktree import WorktreeRequest

            worktree = WorktreeRequest(
                branch=worktree_branch.strip() or None,
                base=worktree_base,
                folder=worktree_dir,
                setup=worktree_setup,
            )
        elif worktree_base is not None or worktree_setup is not None:
            from harnex_tmux.errors import UsageError

            raise UsageError("--base and --setup need --worktree")
        started = start_session(
            spec, timeout=timeout, worktree=worktree, sidecar=sidecar, catalog=catalog
        )
    except BaseException:
        early_sidecar.discard(sidecar)
        raise
    if detach:
        print_json(started.summary())
        return
    watching = bool(watch and watch.get("preset")) or budget is not None
    code = _stay_with(started.record, spec, watching=watching)
    if started.record.worktree:
        where = started.record.worktree
        click.echo(
            f"harnex: the work of {spec.id!r} stays in {where.get('path')} on branch "
            f"{where.get('branch')} (harnex diff --id {spec.id}, harnex clean --id {spec.id})",
            err=True,
        )
    ctx.exit(code)


def _stay_with(record: SessionRecord, spec: LaunchSpec, watching: bool) -> int:
    """A foreground run: attach a person at a terminal to the window, or wait for the agent.
    Returns the exit code: the agent's, 0 after a tmux detach, 2 when the watch gave up or
    the budget reached its warning."""
    from harnex_tmux.session.control import exit_of, wait_exit, wait_exit_or_escalation
    from harnex_tmux.tmux import Tmux

    if spec.caller_pane is None and sys.stdin.isatty() and sys.stdout.isatty():
        subprocess.call(Tmux(spec.socket_path).attach_command(record.window_id or ""))
        ended = exit_of(record)
        if ended is None:
            _still_running(record, "detached", "status")
            return 0
    else:
        click.echo(
            f"harnex: {record.id!r} running in tmux window {record.window_id} "
            f"(session {record.tmux_session}); waiting for it to exit",
            err=True,
        )
        waited = wait_exit_or_escalation(record) if watching else wait_exit(record)
        if isinstance(waited, str):
            # As 0.4.0's watch mode: exit 2 when the babysitter gives up (or the budget is
            # nearly spent), so a script can call for help.
            _still_running(record, waited, "pane")
            return EXIT_ESCALATED
        ended = waited
    return ended.code if ended.code is not None else 1


def _budget_text(value: str | None) -> str | None:
    """``--budget`` checked here (a one-line usage error), kept as the parser's own text."""
    if value is None:
        return None
    from harnex_tmux.budgets import parse_budget
    from harnex_tmux.errors import BudgetError

    try:
        return parse_budget(value).to_text()
    except BudgetError as exc:
        raise click.BadParameter(str(exc)) from None


def _still_running(record: SessionRecord, why: str, look: str) -> None:
    click.echo(
        f"harnex: {why}; {record.id!r} keeps running "
        f"(harnex {look} --id {record.id}, harnex stop --id {record.id})",
        err=True,
    )


def _name_the_shipped_clis() -> None:
    """The help names every CLI with a shipped adapter file, read from the files themselves
    so a new one is named the day it ships."""
    from harnex_tmux.adapters.screen import shipped_names

    command.help = (command.help or "").replace("{shipped}", ", ".join(shipped_names()))


_name_the_shipped_clis()
