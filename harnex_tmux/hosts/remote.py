"""Sessions on another host: the same operations as local, each one run as
``harnex <command> --json`` by the harnex installed there, over the host's shared ssh
connection.

The remote harnex finds the session, talks to its sidecar on that host's loopback, and
answers with the JSON the local command would print; this side turns it back into the same
typed results. Message text goes over stdin, never a command line. A send always carries a
message id chosen here, so when the connection drops mid-send the retry finds the first
message instead of queueing a second; when no retry gets through, the answer is
``unconfirmed`` (exit 3), never a guess.
"""

from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Unpack

from harnex_tmux.errors import (
    EXIT_TIMEOUT,
    EXIT_USAGE,
    Cancelled,
    HarnexError,
    HostConnectionLost,
    HostError,
    HostUnreachable,
    SessionNotFound,
    TimedOut,
    UsageError,
)
from harnex_tmux.hosts import channel, ssh, wire
from harnex_tmux.hosts.installer import MISMATCH_PREFIX, remote_command
from harnex_tmux.hosts.store import Host, get_host, split_target
from harnex_tmux.pane_text import PaneSnapshot
from harnex_tmux.session.handle import Session
from harnex_tmux.session.polling import Pause, Steps, run_steps
from harnex_tmux.session.results import (
    SessionStatus,
    StopResult,
    WaitResult,
)
from harnex_tmux.session.send import SendOptions, SendResult
from harnex_tmux.state import SessionRecord
from harnex_tmux.tokens import token_hex

if TYPE_CHECKING:
    from harnex_tmux.session.events import Event

# How long `status` waits for a host before showing it as down.
STATUS_TIMEOUT_S = 5.0
# Tries of a send whose connection dropped before its answer came back.
SEND_TRIES = 3
RETRY_PAUSE_S = 1.0
# Room on top of the send's own timeout for ssh to connect and the remote CLI to start.
SEND_SLACK_S = 30.0
# A withdrawal: ssh, the host's harnex starting, ending the send there, the sidecar's answer.
WITHDRAW_TIMEOUT_S = 60.0
LIVE_FIELDS = ("state", "log_mtime", "log_idle_s", "inbox", "agent_alive", "worktree")


@dataclass(frozen=True)
class RemoteAnswer:
    """What the remote harnex gave: its exit code, its JSON (None when it printed none),
    and its last stderr line (its one-line error)."""

    code: int
    data: Any
    error: str
    stdout: str = ""


def call(
    host: Host,
    args: list[str],
    stdin: bytes = b"",
    timeout: float | None = None,
    folder: str | None = None,
) -> RemoteAnswer:
    """Run ``harnex ARGS`` on ``host`` (in ``folder`` there: see :func:`in_folder`). Raises
    HostUnreachable when ssh failed (connecting, or the connection dropped before an
    answer)."""
    return run_steps(call_steps(host, args, stdin, timeout, folder))


def call_steps(
    host: Host,
    args: list[str],
    stdin: bytes = b"",
    timeout: float | None = None,
    folder: str | None = None,
) -> Steps[RemoteAnswer]:
    """:func:`call` as steps (one :class:`~harnex_tmux.session.polling.Process`: the ssh
    command), for the loops of ``send`` and ``wait`` that the MCP server drives."""
    # The kept channel when it is there (hosts/channel.py), else one ssh command. The op
    # server runs in the user's home: an op in another folder is one ssh command.
    result = None
    if folder is None:
        result = yield from channel.call_steps(host, args, stdin, timeout)
    if result is None:
        script = in_folder(remote_command(*args, host=host.name), folder)
        try:
            result = yield from ssh.run_command_steps(host.dest, script, stdin, timeout)
        except HostUnreachable as exc:
            raise type(exc)(f"host {host.name!r}: {exc}") from exc
    stdout = result.stdout.decode("utf-8", errors="replace")
    data = wire.last_json(stdout)
    lines = []
    for line in result.stderr.splitlines():
        if line.startswith(MISMATCH_PREFIX):
            warn_once(host.name, line)
        elif line.strip():
            lines.append(line.strip())
    if data is None and result.transport_failed:
        raise HostConnectionLost(f"host {host.name!r}: {ssh.failure_text(result, host.dest)}")
    if data is None and result.code == 127:
        raise HostError(f"host {host.name!r} has no harnex (harnex hosts add {host.name} ...)")
    error = lines[-1] if lines else ""
    return RemoteAnswer(result.code, data, error.removeprefix("harnex: "), stdout)


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(host_name: str, line: str) -> None:
    """Say a host's version mismatch on stderr, once per command (a command may talk to the
    host many times: ``pane --follow``, ``status`` with its retries)."""
    with _warned_lock:
        if host_name in _warned:
            return
        _warned.add(host_name)
    print(line, file=sys.stderr, flush=True)


def _raise_for(host: Host, answer: RemoteAnswer) -> None:
    """The remote command's one-line error as ours, with its exit code's kind."""
    message = f"host {host.name!r}: {answer.error or f'harnex exited {answer.code}'}"
    if answer.code == EXIT_TIMEOUT:
        raise TimedOut(message)
    if answer.code == EXIT_USAGE:
        raise UsageError(message)
    if "no session" in answer.error or "not found" in answer.error:
        raise SessionNotFound(message)
    raise HarnexError(message)


def _status_from(row: dict[str, Any]) -> SessionStatus:
    record = SessionRecord.from_dict(
        {"token": "", **{k: v for k, v in row.items() if k not in LIVE_FIELDS}}
    )
    return SessionStatus(
        record=record,
        state=str(row.get("state") or "unknown"),
        log_mtime=row.get("log_mtime"),
        log_idle_s=row.get("log_idle_s"),
        inbox=row.get("inbox"),
        agent_alive=row.get("agent_alive"),
        worktree=row.get("worktree"),
    )


class RemoteSession(Session):
    """Session ``id`` on ``host``: every method is one ``harnex`` command there."""

    def __init__(self, host: Host, ident: str) -> None:
        self.host = host
        self.id = ident

    @classmethod
    def for_target(cls, target: str) -> RemoteSession:
        """``NAME:id`` as a RemoteSession; UsageError or HostError for bad input."""
        name, ident = split_target(target)
        if name is None:
            raise UsageError(f"{target!r} names no host (use NAME:id)")
        return cls(get_host(name), ident)

    @property
    def target(self) -> str:
        return f"{self.host.name}:{self.id}"

    def status(self) -> SessionStatus:
        answer = call(self.host, ["status", "--id", self.id, "--all", "--json"])
        if answer.code != 0 or not isinstance(answer.data, list):
            _raise_for(self.host, answer)
        if not answer.data:
            raise SessionNotFound(f"no session {self.id!r} on host {self.host.name!r}")
        return _status_from(answer.data[0])

    def send_steps(
        self,
        text: str,
        progress: Callable[[str], None] | None = None,
        **options: Unpack[SendOptions],
    ) -> Steps[SendResult]:
        # One ssh command (a Process step) per try, not sidecar calls: the MCP server runs
        # it on its event loop. Cancelled (the MCP client's cancel, Ctrl-C, SIGTERM), the
        # ssh client is killed and the message withdrawn on the host by its id.
        from harnex_tmux.session.send import SendRequest, _relay_text

        request = SendRequest(text, self.id, **options)
        submit, enter_only, force = request.submit, request.enter_only, request.force
        wait, wait_for_idle, reply = request.wait, request.wait_for_idle, request.reply
        timeout = request.timeout
        message_id = request.message_id or f"msg-{token_hex(6)}"
        # The relay header names the sender, which only this side knows.
        body = _relay_text(request, f"remote:{self.target}")
        args = ["send", "--id", self.id, "--message-id", message_id, "--no-relay"]
        args += ["--timeout", f"{timeout:g}", "--stdin-exact"]
        for flag, on in (
            ("--no-submit", not submit),
            ("--submit-only", enter_only),
            ("--force", force),
            ("--no-wait", not wait),
            ("--wait-for-idle", wait_for_idle),
            ("--reply", reply),
            ("--json", reply),
        ):
            if on:
                args.append(flag)
        encoded = b"" if enter_only else body.encode("utf-8")
        # Framed with its length: a connection cut while it streams is a refused send there.
        payload = b"" if enter_only else str(len(encoded)).encode() + b"\n" + encoded
        try:
            return (yield from self._send_tries(args, payload, timeout, message_id, progress))
        except Cancelled:
            said = yield from self._withdraw_steps(message_id)
            raise Cancelled(said) from None

    def _send_tries(
        self,
        args: list[str],
        payload: bytes,
        timeout: float,
        message_id: str,
        progress: Callable[[str], None] | None,
    ) -> Steps[SendResult]:
        reached = False
        last_error = ""
        for attempt in range(SEND_TRIES):
            if attempt:
                yield Pause(RETRY_PAUSE_S)
                if progress:
                    progress(f"{message_id} retrying on {self.host.name} ({last_error})")
            try:
                answer = yield from call_steps(self.host, args, payload, timeout + SEND_SLACK_S)
            except HostUnreachable as exc:
                last_error = str(exc)
                # Only a connection that was made may have carried the message.
                reached = reached or isinstance(exc, HostConnectionLost)
                continue
            if isinstance(answer.data, dict):
                return self._send_result(answer, message_id)
            _raise_for(self.host, answer)
        if not reached:
            raise HostUnreachable(last_error)
        return SendResult(
            self.target,
            "unconfirmed",
            message_id,
            f"{last_error}; the message may have been queued: send again with "
            f"--message-id {message_id} to find it",
        )

    def _withdraw_steps(self, message_id: str) -> Steps[str]:
        """After the caller gave up on a send: take its message back on the host by its id
        (the host's sends that still carry it ended first); what became of it, one line."""
        args = ["send", "--id", self.id, "--withdraw", message_id]
        try:
            answer = yield from call_steps(self.host, args, timeout=WITHDRAW_TIMEOUT_S)
        except HostUnreachable as exc:
            return f"{message_id} unconfirmed: it could not be withdrawn ({exc})"
        data = answer.data if isinstance(answer.data, dict) else {}
        if data.get("status") == "withdrawn":
            return f"{message_id} withdrawn, never typed"
        if data.get("typed"):
            return f"{message_id} was typed before it could be withdrawn ({data.get('status')})"
        why = answer.error or f"harnex exited {answer.code}"
        return f"{message_id} unconfirmed: it could not be withdrawn ({why})"

    def _send_result(self, answer: RemoteAnswer, message_id: str) -> SendResult:
        data = dict(answer.data)
        data.pop("ok", None)
        data.pop("id", None)
        result = SendResult(
            self.target,
            str(data.pop("status", "failed")),
            data.pop("message_id", None) or message_id,
            data.pop("error", None),
            data,
        )
        if result.exit_code != answer.code:
            result.exit_override = answer.code
        return result

    def wait_steps(
        self, until: str = "exit", timeout: float | None = None, after_turn: int | None = None
    ) -> Steps[WaitResult]:
        if after_turn is not None:
            raise UsageError(f"after_turn is not supported on host {self.host.name!r} yet")
        args = ["wait", "--id", self.id, "--until", until]
        if timeout is not None:
            args += ["--timeout", f"{timeout:g}"]
        limit = None if timeout is None else timeout + SEND_SLACK_S
        answer = yield from call_steps(self.host, args, timeout=limit)
        data = answer.data
        if not isinstance(data, dict) or not data.get("ok"):
            _raise_for(self.host, answer)
        code = data.get("code")
        return WaitResult(
            self.target,
            str(data.get("state")),
            code if isinstance(code, int) else None,
            data.get("message_id"),
            data.get("reply"),
            data.get("completed_at"),
        )

    def pane(self, lines: int | None = None) -> PaneSnapshot:
        args = ["pane", "--id", self.id, "--json"]
        if lines is not None:
            args += ["--lines", str(lines)]
        answer = call(self.host, args, timeout=30)
        if not isinstance(answer.data, dict) or answer.code != 0:
            _raise_for(self.host, answer)
        snapshot = PaneSnapshot.from_dict(answer.data)
        from dataclasses import replace

        return replace(snapshot, id=self.target)

    def events(self, since: datetime | None = None) -> list[Event]:
        from harnex_tmux.session.events import Event

        when = None if since is None else since.isoformat()
        return [Event(raw, row) for raw, row in self._event_lines(when)]

    def event_rows(self, since: str | None = None) -> list[dict[str, Any]]:
        """The session's events so far, as the host's ``harnex events --snapshot`` printed
        them (one JSON object per line), ``since`` an ISO-8601 time as that takes it."""
        return [row for _, row in self._event_lines(since)]

    def _event_lines(self, since: str | None) -> list[tuple[str, dict[str, Any]]]:
        """Each line the host's ``events --snapshot`` printed, as stored there, with its
        object (a line that is not one is skipped, as the local reader does)."""
        args = ["events", "--id", self.id, "--snapshot"] + (["--from", since] if since else [])
        answer = call(self.host, args, timeout=60)
        if answer.code != 0:
            _raise_for(self.host, answer)
        lines = []
        for line in answer.stdout.splitlines():
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    lines.append((line, row))
        return lines

    def press(self, keys: tuple[str, ...], in_state: str | None = None) -> None:
        """Press ``keys`` (tmux key names) in the session's pane on the host, by the host's
        ``harnex send --press``; with ``in_state``, only if the session is in that state
        there now (else HarnexError and nothing pressed). Never retried: a key pressed
        twice is a second answer."""
        args = ["send", "--id", self.id]
        for key in keys:
            args += ["--press", key]
        args += ["--in-state", in_state] if in_state is not None else []
        answer = call(self.host, args, timeout=60)
        if answer.code != 0 or not isinstance(answer.data, dict) or not answer.data.get("ok"):
            _raise_for(self.host, answer)

    def dialog_keys(self) -> tuple[str, list[tuple[str, ...]]]:
        """The session's state on the host now and the keys its adapter declares for that
        state (none when it is no dialog), read there by ``harnex send --dialog-keys``."""
        answer = call(self.host, ["send", "--id", self.id, "--dialog-keys"], timeout=60)
        data = answer.data
        if answer.code != 0 or not isinstance(data, dict) or not data.get("ok"):
            _raise_for(self.host, answer)
        keys = data.get("keys")
        found = [
            tuple(str(k) for k in each)
            for each in (keys if isinstance(keys, list) else [])
            if isinstance(each, list) and each
        ]
        return str(data.get("state") or "unknown"), found

    def diff(self) -> str:
        """What the host's ``harnex diff --id ID`` prints for the session's worktree."""
        answer = call(self.host, ["diff", "--id", self.id], timeout=60)
        if answer.code != 0:
            _raise_for(self.host, answer)
        return answer.stdout

    def budget(self, add: str | None = None, clear: bool = False) -> dict[str, Any] | None:
        """The session's budget as the host's ``harnex budget --json`` shows it, after
        raising it by ``add`` or taking it away (``clear``); None when it has none."""
        args = ["budget", "--id", self.id, "--json"]
        args += (["--add", add] if add is not None else []) + (["--clear"] if clear else [])
        answer = call(self.host, args, timeout=60)
        data = answer.data
        if answer.code != 0 or not isinstance(data, dict) or not data.get("ok"):
            _raise_for(self.host, answer)
        shown = data.get("budget")
        return shown if isinstance(shown, dict) else None

    def stop(self, timeout: float = 5.0) -> StopResult:
        answer = call(
            self.host,
            ["stop", "--id", self.id, "--timeout", f"{timeout:g}"],
            timeout=timeout + SEND_SLACK_S,
        )
        data = answer.data
        if not isinstance(data, dict) or not data.get("ok"):
            _raise_for(self.host, answer)
        code, signal = data.get("code"), data.get("signal")
        return StopResult(
            self.target,
            code if isinstance(code, int) else None,
            signal if isinstance(signal, int) else None,
            already_exited=bool(data.get("already_exited")),
        )

    def recover(self, timeout: float = 5.0) -> RemoteRecovered:
        answer = call(
            self.host, ["recover", "--id", self.id, "--timeout", f"{timeout:g}"], timeout=60
        )
        data = answer.data
        if answer.code != 0 or not isinstance(data, dict) or not data.get("ok"):
            _raise_for(self.host, answer)
        return RemoteRecovered(dict(data, id=self.target))


@dataclass(frozen=True)
class RemoteRecovered:
    """What the host's ``harnex recover`` printed, its id given back as ``NAME:id``."""

    data: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return dict(self.data)


@dataclass(frozen=True)
class HostRows:
    """One host's sessions for ``status``: its rows, or why it gave no answer (``error``;
    the rows are then its sessions as last seen, marked stale)."""

    host: Host
    rows: list[dict[str, Any]]
    error: str | None = None


def host_rows(host: Host, ident: str | None = None) -> HostRows:
    # Always the whole host: its answer is what a later down host is shown as.
    args = ["status", "--all", "--json"]
    try:
        answer = call(host, args, timeout=STATUS_TIMEOUT_S)
    except HarnexError as exc:
        return _down(host, str(exc), ident)
    if answer.code != 0 or not isinstance(answer.data, list):
        return _down(host, f"host {host.name!r}: {answer.error or 'no answer'}", ident)
    rows = [dict(row, machine=host.name) for row in answer.data if isinstance(row, dict)]
    from harnex_tmux.hosts import seen  # status only: a send need not import it

    seen.remember(host.name, rows)
    return HostRows(host, [row for row in rows if ident is None or row.get("id") == ident])


def _down(host: Host, reason: str, ident: str | None) -> HostRows:
    from harnex_tmux.hosts import seen

    return HostRows(host, seen.stale_rows(host.name, reason, ident), reason)


def all_host_rows(hosts: list[Host], ident: str | None = None) -> list[HostRows]:
    """Every host's rows, asked in parallel; a host that has not answered within
    STATUS_TIMEOUT_S (plus a little) is reported down, never waited for."""
    found: dict[str, HostRows] = {}

    def fill(host: Host) -> None:
        found[host.name] = host_rows(host, ident)

    threads = [threading.Thread(target=fill, args=(h,), daemon=True) for h in hosts]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + STATUS_TIMEOUT_S + 1
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        found.get(h.name) or _down(h, f"host {h.name!r} did not answer in time", ident)
        for h in hosts
    ]


def follow(target: str, args: list[str], write: Callable[[bytes], None]) -> int:
    """``harnex ARGS --id ID`` run by the harnex of the host ``target`` (``NAME:id``)
    names, its output streamed to ``write`` as it comes: ``pane``/``logs``/``events``
    ``--follow``. Ending this command (Ctrl-C, SIGTERM) ends the remote one too (see
    ssh.stream). Returns the remote command's exit code."""
    from harnex_tmux.hosts import end_with_stdin

    session = RemoteSession.for_target(target)
    host = session.host
    script = f"export {end_with_stdin.ENV}=1\n" + remote_command(
        *args[:1], "--id", session.id, *args[1:], host=host.name
    )
    try:
        code = ssh.stream(host.dest, script, write)
    except HostUnreachable as exc:
        raise type(exc)(f"host {host.name!r}: {exc}") from exc
    if code == ssh.SSH_FAILED:
        raise HostConnectionLost(f"host {host.name!r}: the connection was lost")
    if code == 127:
        raise HostError(f"host {host.name!r} has no harnex (harnex hosts add {host.name} ...)")
    return code


def start_on(
    name: str,
    argv: list[str],
    ident: str | None = None,
    description: str | None = None,
    budget: str | None = None,
    folder: str | None = None,
) -> dict[str, Any]:
    """Start ``argv`` (an agent command) detached on host ``name`` in its user's home (or
    ``folder`` there), as the MCP server's ``run`` does (``budget``: what it may spend,
    enforced by the host's sidecar): the host's ``run --detach`` summary, its id
    ``NAME:id``."""
    host = get_host(name)
    args = ["run", "--detach"] + (["--budget", budget] if budget is not None else [])
    args += (["--id", ident] if ident else []) + (
        ["--description", description] if description else []
    )
    args += [argv[0], "--", *argv[1:]] if len(argv) > 1 else argv[:1]
    answer = call(host, args, timeout=120, folder=folder)
    if answer.code != 0 or not isinstance(answer.data, dict):
        _raise_for(host, answer)
    return dict(answer.data, id=f"{name}:{answer.data.get('id')}")


def in_folder(script: str, folder: str | None, said: str = "") -> str:
    """``script`` run in ``folder`` on the host: the host's shell goes there first, so
    ``~`` is its user's home, and a relative folder is taken from that home (where ssh
    starts). A folder that is not there: one line on stderr (``said`` before its text),
    exit 1, nothing started."""
    if folder is None:
        return script
    if folder == "~" or folder.startswith("~/"):
        rest = folder[2:]
        where = '"$HOME"' + (f"/{shlex.quote(rest)}" if rest else "")
    else:
        where = shlex.quote(folder)
    line = shlex.quote(f"harnex: {said}no folder {folder!r} to start in (--cwd)")
    return f"CDPATH= cd -- {where} 2>/dev/null || {{ echo {line} >&2; exit 1; }}\n{script}"


def run_on(name: str, run_args: list[str], folder: str | None = None) -> int:
    """``harnex run ... --on NAME``: the same run by the host's harnex (in ``folder``
    there, ``--cwd``), its output ours."""
    return command_on(name, ["run", *run_args], folder)


def command_on(name: str, args: list[str], folder: str | None = None) -> int:
    """``harnex ARGS`` run by the harnex of host ``name`` in its user's home (or
    ``folder`` there), with our stdin, stdout and stderr (``run --on``, ``clean --on``);
    its exit code."""
    host = get_host(name)
    script = in_folder(remote_command(*args, host=name), folder, f"host {name!r}: ")
    try:
        code = ssh.run_attached(host.dest, script)
    except HostUnreachable as exc:
        raise HostUnreachable(f"host {name!r}: {exc}") from exc
    if code == ssh.SSH_FAILED:
        raise HostConnectionLost(f"host {name!r}: the connection was lost")
    return code
