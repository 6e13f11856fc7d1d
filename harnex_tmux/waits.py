"""The states a caller can wait for, named once: the sidecar's ``/wait``, ``harnex wait
--until`` and the MCP ``wait`` tool all take these, so a new one cannot be added to one and
forgotten in another.

``exit`` waits for the agent to end; ``exited``, the state's own name, is accepted as the same.
``task_complete`` waits for the agent's next finished turn and brings its reply.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

from harnex_tmux.errors import UsageError

# A Literal, so that the MCP tool's schema lists the choices; the names below derive from it.
Until = Literal["exit", "prompt", "busy", "task_complete", "confirmation", "workspace-trust-prompt"]
UNTIL: tuple[str, ...] = get_args(Until)
EXITED = "exited"
WAITABLE: frozenset[str] = frozenset((*UNTIL, EXITED))


def check_until(until: str) -> str:
    """``until`` as the sidecar takes it (``exited`` becomes ``exit``); a usage error when it
    is no state one can wait for."""
    if until not in WAITABLE:
        raise UsageError(f"--until must be one of {', '.join(sorted(WAITABLE))}")
    return "exit" if until == EXITED else until


# The longest any wait may be asked to last: a day. The CLI's --timeout and the MCP tools'
# timeout arguments share it, so neither can be made to wait forever by NaN or Infinity.
MAX_TIMEOUT_S = 86400.0
TIMEOUT_RULE = f"a finite number of seconds from 0 to {MAX_TIMEOUT_S:g}"


def check_timeout(seconds: float, name: str = "timeout") -> float:
    """``seconds`` when it is finite and between 0 and :data:`MAX_TIMEOUT_S`; else a usage
    error naming ``name``."""
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_TIMEOUT_S):
        raise UsageError(f"{name} {seconds!r} is not allowed: {TIMEOUT_RULE}")
    return seconds
