"""The sidecar's HTTP endpoints, as thin handlers over the :class:`Sidecar`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harnex_tmux.adapters.base import State
from harnex_tmux.sidecar.server import ApiError, Request, Response, Router

if TYPE_CHECKING:
    from harnex_tmux.sidecar.app import Sidecar

# A long-poll answers at least this often, so clients notice a vanished sidecar quickly.
MAX_WAIT_S = 30.0
WAITABLE = {s.value for s in State} | {"exit"}


def _float(query: dict[str, str], name: str, default: float) -> float:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ApiError(400, f"{name} must be a number") from exc
    if value < 0:
        raise ApiError(400, f"{name} must not be negative")
    return value


def build_router(sidecar: Sidecar) -> Router:
    router = Router()

    def status(request: Request, rest: list[str]) -> Response:
        return 200, {"ok": True, **sidecar.status_payload()}

    def stop(request: Request, rest: list[str]) -> Response:
        request.json()
        started = sidecar.request_stop()
        return 202, {"ok": True, "stopping": True, "already": not started}

    def wait(request: Request, rest: list[str]) -> Response:
        until = request.query.get("until", "prompt")
        if until not in WAITABLE:
            raise ApiError(400, f"cannot wait until {until!r}; one of {sorted(WAITABLE)}")
        timeout = min(_float(request.query, "timeout", MAX_WAIT_S), MAX_WAIT_S)
        target = State.EXITED.value if until == "exit" else until
        state = sidecar.readiness.wait_for(lambda s: s.value == target, timeout)
        return 200, {"ok": True, "state": state.value, "reached": state.value == target}

    def pane(request: Request, rest: list[str]) -> Response:
        from harnex_tmux.panes import snapshot, trim_capture

        lines = request.query.get("lines")
        if lines is not None and (not lines.isdigit() or int(lines) < 1):
            raise ApiError(400, "lines must be a positive integer")
        count = int(lines) if lines else None
        pane_id = sidecar.record.pane_id or ""
        text = trim_capture(sidecar.tmux.capture(pane_id, scrollback=count or 0), count)
        return 200, snapshot(sidecar.record.id, pane_id, sidecar.readiness.state.value, text)

    router.add("GET", "/status", status)
    router.add("GET", "/pane", pane)
    router.add("GET", "/health", status)
    router.add("POST", "/stop", stop)
    router.add("GET", "/wait", wait)
    return router
