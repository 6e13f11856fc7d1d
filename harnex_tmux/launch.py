"""Starting a session: validate on the caller's side, then hand over to a detached sidecar.

The sidecar creates the tmux window itself, so the process that owns a session is the one that
made it; the caller only waits for its one-line ready report on a pipe.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from harnex_tmux.early_sidecar import discard
from harnex_tmux.errors import HarnexError, TimedOut, TmuxUnavailable
from harnex_tmux.state import (
    SessionPaths,
    SessionRecord,
    check_id,
    process_alive,
    read_json,
)

if TYPE_CHECKING:
    from harnex_tmux.adapters.catalog import Catalog
    from harnex_tmux.worktree import WorktreeRequest


@dataclass
class LaunchSpec:
    """Everything the sidecar needs to start one session; travels to it as JSON."""

    id: str
    command: list[str]
    repo_root: str
    cwd: str
    cli: str
    adapter: str = "generic"
    description: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    socket_path: str = ""
    caller_pane: str | None = None
    session_name: str = "harnex"
    window_name: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    inbox_ttl: float = 120.0
    context: str | None = None
    auto_accept: bool = False
    watch: dict[str, Any] | None = None
    # For the generic adapter: what the program's prompt line looks like.
    prompt_regex: str | None = None
    worktree: dict[str, Any] | None = None
    # ``harnex resume``: the CLI's conversation to continue (its id), that this start
    # continues an ended session (its queued messages get a fresh TTL), and that the CLI is
    # asked to continue its conversation (its ``[resume] args``; some need no id).
    conversation: str | None = None
    resuming: bool = False
    continues: bool = False
    # ``--budget``, as text the one parser reads (harnex_tmux.budgets).
    budget: str | None = None
    # ``harnex resume``: where the ended session's agent wrote its usage (``usage_sources``
    # of its records), so the resumed one counts on from there and not from zero.
    usage_sources: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LaunchSpec:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class StartedSession:
    record: SessionRecord
    sidecar: subprocess.Popen[bytes]
    window_name: str | None = None

    def summary(self) -> dict[str, Any]:
        """The object ``run --detach`` prints."""
        rec = self.record
        data: dict[str, Any] = {
            "ok": True,
            "id": rec.id,
            "cli": rec.cli,
            "adapter": rec.adapter,
            "pid": rec.pid,
            "port": rec.port,
            "host": rec.host,
            "mode": "tmux",
            "tmux_socket": rec.tmux_socket,
            "tmux_session": rec.tmux_session,
            "window": self.window_name,
            "window_id": rec.window_id,
            "pane_id": rec.pane_id,
            "sidecar_pid": rec.sidecar_pid,
            "output_log_path": rec.output_log_path,
            "events_log_path": rec.events_log_path,
        }
        if rec.description:
            data["description"] = rec.description
        if rec.worktree:
            data["worktree"] = rec.worktree
        return data


def start_folder(folder: str | None) -> str:
    """Where a run starts: ``folder`` (``--cwd``; ``~`` is the user's home) made absolute,
    else the current folder. A folder that is not there is a one-line error (exit 1)
    before anything starts."""
    if folder is None:
        return os.getcwd()
    path = os.path.abspath(os.path.expanduser(folder))
    if not os.path.isdir(path):
        raise HarnexError(f"no folder {folder!r} to start in (--cwd)")
    return path


def spec_for(
    command: list[str],
    *,
    cwd: str,
    socket: str | None = None,
    ident: str | None = None,
    description: str | None = None,
    context: str | None = None,
    forced_adapter: str | None = None,
    catalog: Catalog | None = None,
    **settings: Any,
) -> LaunchSpec:
    """The LaunchSpec ``harnex run`` (and the MCP ``run`` tool) starts: a random free id when
    none is given, the tmux server of ``socket`` or of the caller (whose pane becomes the
    spawner pane), and the agent's id named in its first message. ``catalog`` is the adapter
    catalog of ``cwd``'s repository when the caller has read it already. ``settings`` are
    further LaunchSpec fields (host, port, window_name, watch, ...)."""
    from harnex_tmux.adapters import load_catalog
    from harnex_tmux.state import list_sessions, random_id, repo_root_for
    from harnex_tmux.tmux import choose_server

    # A bad id is refused before anything is looked up or started.
    ident = check_id(ident) if ident is not None else None
    choice = choose_server(socket)
    repo_root = repo_root_for(cwd)
    if catalog is None:
        catalog = load_catalog(repo_root)
    if ident is None:
        ident = random_id({r.id for r in list_sessions(repo_root)})
    if context:
        # As in 0.4.0: the agent learns its own id, so it can tell others where to reply.
        context = f"[harnex session id={ident}] {context}"
    return LaunchSpec(
        id=ident,
        command=command,
        repo_root=repo_root,
        cwd=cwd,
        cli=os.path.basename(command[0]) if command else "",
        adapter=catalog.name_for(command[0] if command else "", forced_adapter),
        description=(description or "").strip() or None,
        socket_path=choice.socket_path,
        caller_pane=choice.caller_pane,
        context=context or None,
        **settings,
    )


def check_not_running(paths: SessionPaths, ident: str, repo_root: str) -> None:
    """Refuse a duplicate live id; clear a stale record left by a crashed sidecar."""
    data = read_json(paths.registry)
    if data is None:
        return
    record = SessionRecord.from_dict(data)
    if process_alive(record.sidecar_pid) or process_alive(record.pid):
        if record.id != ident:
            raise HarnexError(
                f"id {ident!r} would share files with running session {record.id!r} in "
                f"{repo_root}; pick another id"
            )
        raise HarnexError(f"session {ident!r} is already running in {repo_root}")
    paths.registry.unlink(missing_ok=True)


def start_session(
    spec: LaunchSpec,
    timeout: float = 5.0,
    worktree: WorktreeRequest | None = None,
    sidecar: subprocess.Popen[bytes] | None = None,
    catalog: Catalog | None = None,
) -> StartedSession:
    """Start the session described by ``spec`` and return once its sidecar answers.

    With ``worktree``, the agent runs in a new git worktree on a branch of its own; a launch
    that fails removes it again, so nothing half-made is left. ``sidecar`` is one from
    :func:`harnex_tmux.early_sidecar.prestart` to use instead of starting one now;
    ``catalog`` the adapter catalog of the spec's repository, if the caller has it.
    """
    try:
        return _start_session(spec, timeout, worktree, sidecar, catalog)
    except BaseException:
        if sidecar is not None:
            discard(sidecar)
        raise


def _start_session(
    spec: LaunchSpec,
    timeout: float,
    worktree: WorktreeRequest | None,
    sidecar: subprocess.Popen[bytes] | None,
    catalog: Catalog | None,
) -> StartedSession:
    spec.id = check_id(spec.id)
    if shutil.which("tmux") is None:
        raise TmuxUnavailable("tmux not found on PATH: install tmux 3.2 or newer")
    path_env = spec.env.get("PATH", os.environ.get("PATH"))
    if not spec.command or shutil.which(spec.command[0], path=path_env) is None:
        name = spec.command[0] if spec.command else "(none)"
        raise HarnexError(f"agent command not found: {name}")
    from harnex_tmux.adapters import adapter_for

    if catalog is None:
        adapter = adapter_for(spec.adapter, spec.prompt_regex, spec.repo_root)
    else:
        adapter = catalog.build(spec.adapter, spec.prompt_regex)
    adapter.preflight(spec.command, {**os.environ, **spec.env})
    paths = SessionPaths.for_session(spec.repo_root, spec.id)
    paths.create_dirs()
    check_not_running(paths, spec.id, spec.repo_root)
    if worktree is None:
        report = spawn_sidecar([], spec.to_json().encode(), paths, timeout, sidecar)
    else:
        report = _start_in_worktree(spec, worktree, paths, timeout, sidecar)
    record = SessionRecord.from_dict(report["record"])
    return StartedSession(record, report["_proc"], spec.window_name or record.id)


def _start_in_worktree(
    spec: LaunchSpec,
    request: WorktreeRequest,
    paths: SessionPaths,
    timeout: float,
    sidecar: subprocess.Popen[bytes] | None,
) -> Any:
    """Make the worktree (its setup output goes to the transcript), record it, start the
    sidecar in it; undo all of it when any step fails."""
    from harnex_tmux.worktree import agent_cwd, create_worktree, remove_worktree

    env = {**os.environ, **spec.env}
    made = create_worktree(spec.repo_root, spec.cwd, spec.id, request, paths.output_log, env)
    try:
        spec.cwd = agent_cwd(made, spec.cwd)
        spec.worktree = made.to_dict()
        made.save(paths.worktree)
        return spawn_sidecar([], spec.to_json().encode(), paths, timeout, sidecar)
    except BaseException:
        paths.worktree.unlink(missing_ok=True)
        remove_worktree(made, force=True)
        raise


def adopt_session(record: SessionRecord, timeout: float = 5.0) -> StartedSession:
    """Start a new sidecar for a live session whose sidecar died; it picks up the queue."""
    if process_alive(record.sidecar_pid):
        raise HarnexError(f"session {record.id!r} already has a running sidecar")
    paths = SessionPaths.for_session(record.repo_root, record.id)
    report = spawn_sidecar(["--adopt", str(paths.registry)], b"", paths, timeout)
    return StartedSession(SessionRecord.from_dict(report["record"]), report["_proc"])


def spawn_sidecar(
    args: list[str],
    stdin: bytes,
    paths: SessionPaths,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
) -> Any:
    """Start ``python -m harnex_tmux.sidecar ARGS`` detached (or give ``proc``, one started
    by :func:`harnex_tmux.early_sidecar.prestart`, its spec) and read its one-line report."""
    if proc is None:
        log = open(paths.sidecar_log, "ab")  # noqa: SIM115 - handed to the child
        try:
            os.chmod(paths.sidecar_log, 0o600)
            proc = subprocess.Popen(
                [sys.executable, "-m", "harnex_tmux.sidecar", *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            log.close()
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    report = _read_report(proc, timeout, paths)
    if not report.get("ok"):
        raise HarnexError(str(report.get("error") or "sidecar failed to start"))
    report["_proc"] = proc
    return report


def _read_report(proc: subprocess.Popen[bytes], timeout: float, paths: SessionPaths) -> Any:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    fd = proc.stdout.fileno()
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimedOut(
                f"sidecar did not report ready within {timeout:g}s (see {paths.sidecar_log})"
            )
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            tail = _log_tail(paths)
            raise HarnexError(f"sidecar exited before it was ready{': ' + tail if tail else ''}")
        buffer += chunk
    proc.stdout.close()
    return json.loads(buffer.split(b"\n", 1)[0])


def _log_tail(paths: SessionPaths) -> str:
    try:
        lines = paths.sidecar_log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
