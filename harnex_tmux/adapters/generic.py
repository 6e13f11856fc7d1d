"""Any command: ready once its output has been quiet for a short while."""

from __future__ import annotations

import os

from harnex_tmux.adapters.base import Adapter, Observation, State

DEFAULT_QUIET_S = 0.5
# A program that has printed nothing at all is taken as ready only after this long: typing
# into it while it is still starting (and may still switch its terminal mode) loses input.
SILENT_START_S = 3.0


def quiet_from_env() -> float:
    raw = os.environ.get("HARNEX_GENERIC_QUIET")
    try:
        return max(0.05, float(raw)) if raw else DEFAULT_QUIET_S
    except ValueError:
        return DEFAULT_QUIET_S


class GenericAdapter(Adapter):
    """Output-quiet heuristic: a program that stopped printing is waiting for input.

    The quiet time comes from ``HARNEX_GENERIC_QUIET`` (seconds) when set.
    """

    name = "generic"

    def __init__(self, quiet_s: float | None = None) -> None:
        self.quiet_s = quiet_s if quiet_s is not None else quiet_from_env()

    def detect(self, observation: Observation) -> State:
        if not observation.output_seen:
            return State.PROMPT if observation.age >= SILENT_START_S else State.UNKNOWN
        return State.PROMPT if observation.quiet_for >= self.quiet_s else State.BUSY

    def recheck_in(self, observation: Observation) -> float | None:
        if not observation.output_seen:
            remaining = SILENT_START_S - observation.age
        else:
            remaining = self.quiet_s - observation.quiet_for
        return remaining if remaining > 0 else None
