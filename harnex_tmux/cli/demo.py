"""``harnex demo``: a guided run of the real machinery with the bundled demo agent."""

from __future__ import annotations

import os
import sys
import time

import click

from harnex_tmux.cli.options import socket_option


def _step(number: int, text: str) -> None:
    click.echo(click.style(f"[{number}] ", fg="cyan", bold=True) + text)


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())


@click.command()
@click.option("--keep", is_flag=True, help="Leave the demo agent running to look at it.")
@click.pass_context
def command(ctx: click.Context, keep: bool) -> None:
    """Start a demo agent in tmux, send it a message, read its pane, stop it."""
    from harnex_tmux.launch import LaunchSpec, start_session
    from harnex_tmux.session.handle import LocalSession
    from harnex_tmux.state import list_sessions, random_id, repo_root_for
    from harnex_tmux.tmux import choose_server

    choice = choose_server(socket_option(ctx))
    cwd = os.getcwd()
    repo_root = repo_root_for(cwd)
    taken = {r.id for r in list_sessions(repo_root)}
    ident = "demo" if "demo" not in taken else f"demo-{random_id()}"
    spec = LaunchSpec(
        id=ident,
        command=[sys.executable, "-m", "harnex_tmux.demo_agent", "--busy", "1.0"],
        repo_root=repo_root,
        cwd=cwd,
        cli="demo",
        description="harnex demo agent",
        socket_path=choice.socket_path,
        caller_pane=choice.caller_pane,
    )
    _step(1, f"harnex run demo --id {ident}: starting the demo agent in its own tmux window")
    began = time.monotonic()
    started = start_session(spec, timeout=10)
    record = started.record
    session = LocalSession(record)
    click.echo(
        f"      window {record.window_id} in tmux session {record.tmux_session!r}, "
        f"sidecar pid {record.sidecar_pid} on {record.host}:{record.port} "
        f"({time.monotonic() - began:.2f}s)"
    )
    try:
        _step(2, "harnex wait --until prompt: the sidecar watches the pane's output")
        session.wait("prompt", timeout=20)
        click.echo(f"      state: {session.status().state}")

        text = "Hello from harnex! Please summarise this line.\nThis second line arrives too."
        _step(3, "harnex send: the message is queued, then typed once the agent is ready")
        result = session.send(text, wait_for_idle=True, timeout=30)
        click.echo(f"      {result.message_id}: {result.status}")
        if result.exit_code:
            raise click.ClickException(f"demo message was not delivered: {result.error}")

        _step(4, "harnex pane: what the agent's window shows now")
        click.echo(_indent(session.pane().text))

        if keep:
            _step(5, "left running: look at it with")
            click.echo(f"      tmux -S {record.tmux_socket} attach -t {record.window_id}")
            click.echo(f"      harnex stop --id {ident}   # when done")
            return
        _step(5, "harnex stop: the agent is asked to quit, and its exit is recorded")
        ended = session.stop(timeout=10)
        click.echo(f"      exit code {ended.code}; events in {record.events_log_path}")
    except BaseException:
        if not keep:
            session.stop(timeout=5)
        raise
    click.echo()
    click.echo("Next: run a real agent with  harnex run claude --id impl-1  (or codex),")
    click.echo("then  harnex send --id impl-1 'your task'  and  harnex status.")
