"""``harnex wait``: block until a session reaches a state, or exits."""

from __future__ import annotations

import sys

import click

from harnex_tmux.cli.options import print_json, target_options


@click.command()
@target_options
@click.option(
    "--until",
    "until",
    default="exit",
    show_default=True,
    help="State to wait for: exit, prompt, busy, workspace-trust-prompt, confirmation.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Give up after this many seconds (exit 124). Default: wait forever.",
)
def command(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    until: str,
    timeout: float | None,
) -> None:
    """Wait for a state; exit 1 if the session ends first, 124 on timeout. Waiting for the
    exit (the default) exits with the agent's own exit code."""
    from harnex_tmux.control import wait_until
    from harnex_tmux.errors import SessionNotFound, UsageError
    from harnex_tmux.lookup import find_ended, find_session

    allowed = {
        "exit",
        "exited",
        "prompt",
        "busy",
        "workspace-trust-prompt",
        "confirmation",
        "task_complete",
    }
    if until not in allowed:
        raise UsageError(f"--until must be one of {', '.join(sorted(allowed))}")
    until = "exit" if until == "exited" else until
    try:
        record = find_session(ident, repo, cli_filter)
    except SessionNotFound:
        ended = find_ended(ident, repo)
        if ended is None:
            raise
        if until != "exit":
            raise
        print_json({"ok": True, "id": ended.exit.id, "state": "exited", "code": ended.exit.code})
        sys.exit(_exit_status(ended.exit.code))
    if until == "task_complete":
        from harnex_tmux.control import wait_turn

        turn = wait_turn(record, timeout)
        print_json(
            {
                "ok": True,
                "id": record.id,
                "state": "task_complete",
                "message_id": turn.get("message_id"),
                "reply": turn.get("reply"),
                "completed_at": turn.get("completed_at"),
            }
        )
        return
    state = wait_until(record, until, timeout)
    result: dict[str, object] = {"ok": True, "id": record.id, "state": state}
    if state == "exited":
        from harnex_tmux.control import exit_of

        ended_record = exit_of(record)
        code = ended_record.code if ended_record else None
        result["code"] = code
        print_json(result)
        # As 0.4.0: `harnex wait --id X && next-step` must not go on when the agent failed.
        sys.exit(_exit_status(code))
    print_json(result)


def _exit_status(code: int | None) -> int:
    """The agent's exit code as ours; 1 when it is unknown."""
    return code if code is not None and 0 <= code <= 255 else 1
