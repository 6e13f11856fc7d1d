"""``harnex doctor``: read-only checks of everything harnex depends on, each problem with
one line saying how to fix it.

Checks, in order: tmux and Python; the state directory; adapter files; each known CLI
(compat.toml) on PATH and its version against the tested one; whether each installed CLI
will take harnex's hooks (settings readable, folder trust where it matters); whether
``harnex mcp`` is registered with each; every live session's sidecar, and stale records.
Nothing is written and no tmux server is touched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from harnex_tmux.doctor.model import Check, Context, Status

# Node CLIs take a second or more to print their version on a busy machine; one that takes
# this long is hanging.
VERSION_TIMEOUT_S = 10.0

__all__ = ["Check", "Status", "failed", "format_text", "run_doctor"]


def run_doctor(
    env: Mapping[str, str] | None = None,
    repo_root: str | None = None,
    version_timeout: float = VERSION_TIMEOUT_S,
) -> list[Check]:
    """Every check, for the environment ``env`` (default: this process's) and the
    repository ``repo_root`` (default: the one around the current directory).
    ``version_timeout`` is how long one CLI's ``--version`` may take."""
    from harnex_tmux.adapters.catalog import load_catalog
    from harnex_tmux.compat import load_compat
    from harnex_tmux.doctor.hooks import check_hooks
    from harnex_tmux.doctor.mcp_registration import check_mcp
    from harnex_tmux.doctor.sessions import check_sessions
    from harnex_tmux.doctor.system import (
        check_adapter_files,
        check_hooks_switch,
        check_python,
        check_state_dir,
        check_tmux,
    )
    from harnex_tmux.doctor.versions import check_versions, find_installed
    from harnex_tmux.state import repo_root_for

    root = repo_root or repo_root_for()
    ctx = Context(
        env=dict(os.environ if env is None else env),
        repo_root=root,
        cwd=os.getcwd(),
        catalog=load_catalog(root),
        releases=load_compat(),
        version_timeout=version_timeout,
    )
    ctx.installed = find_installed(ctx)
    return [
        check_tmux(),
        check_python(),
        *check_state_dir(),
        *check_adapter_files(ctx),
        *check_versions(ctx),
        *check_hooks_switch(ctx),
        *check_hooks(ctx),
        *check_mcp(ctx),
        *check_sessions(),
    ]


def failed(checks: list[Check]) -> bool:
    return any(check.status is Status.FAIL for check in checks)


def format_text(checks: list[Check]) -> str:
    """One aligned line per check, the fix indented under each one that has a problem, and
    a closing count."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"{check.status.value:<4}  {check.name:<{width}}  {check.detail}")
        if check.fix and check.status is not Status.OK:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    fails = sum(check.status is Status.FAIL for check in checks)
    warns = sum(check.status is Status.WARN for check in checks)
    if fails or warns:
        lines.append(f"{fails} failed, {warns} warnings")
    else:
        lines.append("all good")
    return "\n".join(lines)
