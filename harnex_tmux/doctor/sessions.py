"""Every live session's sidecar answering, and registry records left behind.

A record in ``sessions/`` means "this session runs". Its sidecar should answer; when it is
dead while the agent runs on, ``harnex recover`` gives it a new one; when both are gone the
record is stale (as after a reboot): ``harnex stop`` records the exit and removes it, or
``harnex resume`` starts the session again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harnex_tmux.doctor.model import Check, Status

PING_TIMEOUT_S = 1.0


def check_sessions() -> list[Check]:
    from harnex_tmux.state import iter_registry, json_files, state_root

    files = json_files(state_root() / "sessions")
    records = list(iter_registry())
    read = {path for path, _ in records}
    checks = [
        Check(
            f"record/{path.stem}",
            Status.WARN,
            f"{path} is not a session record",
            f"rm {path}",
        )
        for path in files
        if path not in read
    ]
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(records)))) as pool:
        checks += pool.map(lambda item: _session(item[1]), records)
    if not records and not checks:
        checks.append(Check("sessions", Status.OK, "no live sessions"))
    return checks


def _session(record: Any) -> Check:
    from harnex_tmux.session.control import SIDECAR_DOWN, UNRESPONSIVE, live_status

    status = live_status(record, timeout=PING_TIMEOUT_S)
    state = status.state
    name = f"session/{record.id}"
    target = f"--id {record.id} --repo {record.repo_root}"
    if state == UNRESPONSIVE:
        return Check(
            name,
            Status.FAIL,
            f"sidecar (pid {record.sidecar_pid}) runs but does not answer on port {record.port}",
            f"kill {record.sidecar_pid}; then harnex recover {target}",
        )
    if state == SIDECAR_DOWN and status.agent_alive:
        return Check(
            name,
            Status.FAIL,
            f"sidecar (pid {record.sidecar_pid}) is dead; the {record.cli} agent "
            f"(pid {record.pid}) still runs",
            f"harnex recover {target}",
        )
    if state == SIDECAR_DOWN:
        return Check(
            name,
            Status.WARN,
            f"stale record: sidecar and agent of {record.id!r} are both gone "
            f"(`harnex resume {target}` continues it instead)",
            f"harnex stop {target}",
        )
    return Check(name, Status.OK, f"sidecar answers on port {record.port}: {state}")
