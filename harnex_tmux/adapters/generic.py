"""Any command: the kernel's view of its terminal first, its output and screen after that.

A generic program gives no signal of its own, so readiness is inferred, best source first:

1. the kernel (Linux ``/proc``): a foreground process blocked reading the terminal is at its
   prompt (at once: it printed its prompt before it read); one running, sleeping or
   waiting for a child is busy, however quiet it is;
2. a prompt pattern, when the user gave one (``--prompt-regex``): the last non-empty line of
   the screen, without trailing spaces, must match it (``re.search``);
3. quiet output: a program that stopped printing for ``quiet_s`` is taken to be waiting.
   This is the fallback for event-loop programs (they wait in ``poll``/``epoll`` for keys
   and for everything else alike) and for systems without ``/proc``.
"""

from __future__ import annotations

import os
import re

from harnex_tmux.adapters.base import Adapter, Observation, State
from harnex_tmux.errors import UsageError
from harnex_tmux.foreground import TerminalUse

DEFAULT_QUIET_S = 0.5
# A program that has printed nothing at all is taken as ready only after this long: typing
# into it while it is still starting (and may still switch its terminal mode) loses input.
SILENT_START_S = 3.0
# A prompt pattern that matches while output still streams may be matching a half-drawn
# screen: let it land first.
PROMPT_SETTLE_S = 0.05
# A working program can go back to reading without printing anything: look this often.
WORKING_RECHECK_S = 0.1


def quiet_from_env() -> float:
    raw = os.environ.get("HARNEX_GENERIC_QUIET")
    try:
        return max(0.05, float(raw)) if raw else DEFAULT_QUIET_S
    except ValueError:
        return DEFAULT_QUIET_S


def compile_prompt_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"bad --prompt-regex {pattern!r}: {exc}") from None


def last_line(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-1].rstrip() if lines else ""


class GenericAdapter(Adapter):
    """Readiness for any terminal program; see the module docstring for the rules.

    The quiet time comes from ``HARNEX_GENERIC_QUIET`` (seconds) when set.
    """

    name = "generic"
    signals = "kernel (reading its terminal?), --prompt-regex, quiet output"
    reads_terminal = True

    def __init__(self, quiet_s: float | None = None, prompt_regex: str | None = None) -> None:
        self.quiet_s = quiet_s if quiet_s is not None else quiet_from_env()
        self.prompt = compile_prompt_regex(prompt_regex) if prompt_regex else None
        # Only a prompt pattern needs the screen: everything else is cheaper to know.
        self.reads_screen = self.prompt is not None

    def detect(self, observation: Observation) -> State:
        use = observation.terminal
        if use == TerminalUse.WORKING:
            return State.BUSY if observation.output_seen else State.UNKNOWN
        if self.prompt is not None:
            if observation.screen is None:
                return State.UNKNOWN
            if not self.prompt.search(last_line(observation.screen)):
                return State.BUSY if observation.output_seen else State.UNKNOWN
            settled = observation.quiet_for >= PROMPT_SETTLE_S
            return State.PROMPT if settled else State.BUSY
        if use == TerminalUse.READING:
            # It printed its prompt before it read: output still arriving is pipe latency.
            return State.PROMPT
        if not observation.output_seen:
            return State.PROMPT if observation.age >= SILENT_START_S else State.UNKNOWN
        return State.PROMPT if observation.quiet_for >= self.quiet_s else State.BUSY

    def recheck_in(self, observation: Observation) -> float | None:
        use = observation.terminal
        if use == TerminalUse.WORKING:
            return WORKING_RECHECK_S
        if use == TerminalUse.READING:
            return WORKING_RECHECK_S * 5  # it may stop reading without printing a thing
        if self.prompt is not None:
            remaining = PROMPT_SETTLE_S - observation.quiet_for
            return remaining if remaining > 0 else WORKING_RECHECK_S * 5
        if not observation.output_seen:
            remaining = SILENT_START_S - observation.age
        else:
            remaining = self.quiet_s - observation.quiet_for
        return remaining if remaining > 0 else None
