"""``harnex send``: queue a message for a session and (by default) wait until it is typed."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from harnex_tmux.cli.options import Timeout, print_json, target_options

if TYPE_CHECKING:
    from harnex_tmux.session.send import SendRequest, SendResult


@click.command()
@target_options
@click.argument("words", nargs=-1)
@click.option("--message", "-m", help="The text (else the words given, else stdin).")
@click.option(
    "--wait-for-idle",
    is_flag=True,
    help="After delivery, wait for the agent to work and return to its prompt.",
)
@click.option("--no-wait", is_flag=True, help="Return once queued, with the message id.")
@click.option("--submit-only", is_flag=True, help="Only press the submit key.")
@click.option("--no-submit", is_flag=True, help="Type the text without submitting it.")
@click.option("--force", is_flag=True, help="Type now, bypassing the queue and readiness.")
@click.option(
    "--relay/--no-relay",
    default=None,
    help="Prefix the relay header (default: when sent from inside another session).",
)
@click.option("--host", default=None, help="With --port/--token: talk to that sidecar.")
@click.option("--port", type=click.IntRange(1, 65535), default=None)
@click.option("--token", default=None)
@click.option(
    "--reply",
    "want_reply",
    is_flag=True,
    help="Wait for the turn to finish and print the agent's reply (first-class CLIs only).",
)
@click.option("--json", "as_json", is_flag=True, help="With --reply: print a JSON object.")
@click.option("--timeout", type=Timeout(), default=120.0, show_default=True)
@click.option(
    "--message-id",
    default=None,
    help="Your own id for the message: sending again with it never queues a second copy.",
)
@click.option("--verbose", "-v", is_flag=True, help="Progress on stderr.")
@click.option(
    "--stdin-exact",
    is_flag=True,
    hidden=True,
    help="stdin is the message's length in bytes, a newline, then the message byte for byte: "
    "how the harnex of another host sends it over ssh, so a connection cut midway is a "
    "refused send, never a truncated message typed.",
)
@click.option(
    "--withdraw",
    "withdraw_id",
    default=None,
    hidden=True,
    help="Take back this message id from the session's inbox, ending this host's sends "
    "that carry it: how the harnex of another host cancels its send over ssh.",
)
@click.option(
    "--press",
    "press_keys",
    multiple=True,
    hidden=True,
    help="Press these tmux keys in the session's pane (no message, no queue): how the "
    "dashboard of another host answers a dialog with the keys its adapter declares.",
)
@click.option(
    "--in-state",
    default=None,
    hidden=True,
    help="With --press: only when the session is in this state now (a dialog seen a few "
    "seconds ago may be answered already; keys meant for it must not reach the prompt).",
)
@click.option(
    "--dialog-keys",
    is_flag=True,
    hidden=True,
    help="Print the session's state and the keys its adapter declares for it (a dialog's "
    "answers): what the dashboard of another host offers before --press.",
)
def command(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    words: tuple[str, ...],
    message: str | None,
    wait_for_idle: bool,
    no_wait: bool,
    submit_only: bool,
    no_submit: bool,
    force: bool,
    relay: bool | None,
    host: str | None,
    port: int | None,
    token: str | None,
    want_reply: bool,
    as_json: bool,
    timeout: float,
    message_id: str | None,
    verbose: bool,
    stdin_exact: bool,
    withdraw_id: str | None,
    press_keys: tuple[str, ...],
    in_state: str | None,
    dialog_keys: bool,
) -> None:
    """Send a message to an agent. Exit 0 delivered (or queued with --no-wait), 1 failed,
    124 timed out; one JSON object on stdout either way."""
    from harnex_tmux.errors import HarnexError, UsageError
    from harnex_tmux.session.send import SendRequest, failure_report

    if withdraw_id is not None:
        _withdraw(ident, withdraw_id)
        return
    if press_keys:
        _press(ident, repo, cli_filter, press_keys, in_state)
        return
    if dialog_keys:
        _dialog_keys(ident, repo, cli_filter)
        return
    text = _message_text(message, words, submit_only, stdin_exact)
    if submit_only and no_submit:
        raise UsageError("--submit-only and --no-submit contradict each other")
    if (port is None) != (token is None):
        raise UsageError("--port and --token go together")
    request = SendRequest(
        text=text,
        ident=ident,
        repo=repo,
        cli=cli_filter,
        submit=not no_submit,
        enter_only=submit_only,
        force=force,
        relay=relay,
        host=host,
        port=port,
        token=token,
        wait=not no_wait,
        wait_for_idle=wait_for_idle,
        reply=want_reply,
        timeout=timeout,
        message_id=message_id,
    )
    progress = (lambda line: click.echo(f"harnex: {line}", err=True)) if verbose else None
    if want_reply and no_wait:
        raise UsageError("--reply waits for the reply; it cannot be combined with --no-wait")
    # SIGTERM as Ctrl-C: either way the send takes its message back before it ends.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = _send(request, progress)
    except UsageError:
        raise
    except HarnexError as exc:
        # Scripts parse stdout: a failure is a JSON object too, next to the stderr line.
        print_json(failure_report(ident, exc))
        click.echo(f"harnex: {exc}", err=True)
        sys.exit(exc.exit_code)
    if want_reply and not as_json and result.exit_code == 0:
        click.echo(result.extra.get("reply") or "")
    else:
        print_json(result.to_dict())
    if result.exit_code:
        click.echo(f"harnex: {result.error or result.status}", err=True)
        sys.exit(result.exit_code)


def _send(request: SendRequest, progress: Callable[[str], None] | None) -> SendResult:
    """Locally, or through the harnex of the host a ``NAME:id`` names."""
    from harnex_tmux.session.send import options_of, send_message

    if request.ident is None or ":" not in request.ident or request.port is not None:
        return send_message(request, progress)
    from harnex_tmux.hosts.remote import RemoteSession

    return RemoteSession.for_target(request.ident).send(
        request.text, progress, **options_of(request)
    )


def _withdraw(ident: str | None, message_id: str) -> None:
    from harnex_tmux.errors import MessageError, UsageError
    from harnex_tmux.hosts.stray_sends import end_sends_of
    from harnex_tmux.messages import check_message_id
    from harnex_tmux.session.send import withdraw_message

    try:
        check_message_id(message_id)
    except MessageError as exc:
        raise UsageError(str(exc)) from exc
    end_sends_of(message_id)
    result = withdraw_message(ident, message_id)
    print_json(result.to_dict())


def _press(
    ident: str | None,
    repo: str | None,
    cli_filter: str | None,
    keys: tuple[str, ...],
    in_state: str | None,
) -> None:
    """Press ``keys`` in the session's pane, after checking its live state is ``in_state``
    (when given); one JSON object saying what was pressed. ``NAME:id``: by that host's
    harnex, the same way."""
    if ident is not None and ":" in ident:
        from harnex_tmux.hosts.remote import RemoteSession

        RemoteSession.for_target(ident).press(keys, in_state)
        print_json({"ok": True, "id": ident, "pressed": list(keys)})
        return
    from harnex_tmux.errors import HarnexError
    from harnex_tmux.session.control import live_status
    from harnex_tmux.session.find import find_session
    from harnex_tmux.tmux import Tmux

    record = find_session(ident, repo, cli_filter, any_repo=True)
    if in_state is not None:
        now = live_status(record).state
        if now != in_state:
            raise HarnexError(f"session {record.id!r} is {now} now, not {in_state}: not pressed")
    if not record.tmux_socket or not record.pane_id:
        raise HarnexError(f"session {record.id!r} has no pane on record")
    Tmux(record.tmux_socket).send_keys(record.pane_id, *keys)
    print_json({"ok": True, "id": record.id, "pressed": list(keys)})


def _dialog_keys(ident: str | None, repo: str | None, cli_filter: str | None) -> None:
    """The session's live state and its adapter's declared keys for it, as one JSON object;
    ``NAME:id``: as that host's harnex reads them."""
    if ident is not None and ":" in ident:
        from harnex_tmux.hosts.remote import RemoteSession

        state, keys = RemoteSession.for_target(ident).dialog_keys()
        print_json({"ok": True, "id": ident, "state": state, "keys": [list(k) for k in keys]})
        return
    from harnex_tmux.adapters.catalog import load_catalog
    from harnex_tmux.session.control import live_status
    from harnex_tmux.session.find import find_session

    record = find_session(ident, repo, cli_filter, any_repo=True)
    state = live_status(record).state or "unknown"
    rules = load_catalog(record.repo_root).rules.get(record.adapter or record.cli)
    keys = [] if rules is None else rules.declared_keys(state)
    print_json({"ok": True, "id": record.id, "state": state, "keys": [list(k) for k in keys]})


def _framed(data: bytes) -> str:
    """The message of ``--stdin-exact``: refused unless every announced byte arrived."""
    from harnex_tmux.errors import UsageError

    head, _, body = data.partition(b"\n")
    if not head.isdigit() or int(head) != len(body):
        raise UsageError("the message on stdin was cut short in transit; nothing was sent")
    return body.decode("utf-8")


def _message_text(
    message: str | None, words: tuple[str, ...], submit_only: bool, exact: bool = False
) -> str:
    from harnex_tmux.errors import UsageError

    if submit_only and (message is not None or words):
        raise UsageError("--submit-only does not accept message text")
    if message is not None:
        if words:
            raise UsageError("give the message either with --message or as words, not both")
        return message
    if words:
        return " ".join(words)
    if submit_only:
        return ""
    if not sys.stdin.isatty():
        data = sys.stdin.buffer.read()
        try:
            if exact:
                return _framed(data)
            # Piped text usually ends with the newline of its last line; that is not content.
            return data.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError as exc:
            raise UsageError("the message on stdin is not valid UTF-8") from exc
    raise UsageError("no message: use --message TEXT, words, or pipe it on stdin")
