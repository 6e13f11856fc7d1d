"""The session's budget, as the sidecar enforces it.

The budget and what was done for it live in their own small file (``budgets/<key>.json``),
written before each step is taken: a restarted sidecar reads it back, keeps holding an inbox
that was held, and neither interrupts the agent nor warns a second time for the same limit.

Each second while there is a budget, the session's usage is read (incrementally: a read with
nothing new costs a few ``stat`` calls) and :func:`harnex_tmux.budgets.decide` says what to do:
at 80 % a ``budget`` warning event and the escalation a foreground run waits for; at 100 % the
agent's turn is interrupted with its adapter's own keys, the inbox is held (queued messages
stay queued) and new sends are refused, until ``harnex budget --add`` or ``--clear``. Reading
between turns, not only at their ends, is what lets a long turn be stopped in its middle.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import State
from harnex_tmux.budgets import (
    WARN_AT,
    Budget,
    Progress,
    decide,
    format_amount,
    parse_budget,
    reached_message,
    spent_of,
)
from harnex_tmux.errors import BudgetError, HarnexError
from harnex_tmux.state import write_private
from harnex_tmux.usage.model import Usage

# How often the usage is read against the budget while the agent may be spending.
POLL_S = 1.0


@dataclass(frozen=True)
class BudgetParts:
    """What enforcing a budget uses: the session's name, its budget file, its usage total, its
    state, the adapter's interrupt (False when it has no keys), the escalation a foreground
    run waits for, ``released`` (the held inbox may go on: fresh TTLs, wake the deliverer),
    the events log and the sidecar's log."""

    ident: str
    path: Path
    usage: Callable[[], Usage]
    state: Callable[[], State]
    interrupt: Callable[[], bool]
    escalate: Callable[[str], None]
    released: Callable[[], None]
    emit: Callable[..., object]
    log: Callable[[str], None]


def write_budget_file(path: Path, budget: Budget | None, progress: Progress | None = None) -> None:
    """The budget file for a new session (or after a change): the budget as text, so it is
    read back by the one parser, and the steps taken for it."""
    data = {
        "budget": None if budget is None else budget.to_text(),
        "progress": (progress or Progress()).to_dict(),
    }
    write_private(path, json.dumps(data) + "\n")


def read_budget_file(path: Path) -> tuple[Budget | None, Progress]:
    """The budget and progress kept in ``path``; none when there is no file; BudgetError,
    one line naming the file, when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, Progress()
    except (OSError, UnicodeDecodeError) as exc:
        raise BudgetError(f"budget file {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise BudgetError(f"budget file {path} is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("budget"), str | None):
        raise BudgetError(f"budget file {path} holds no budget")
    raw = data.get("budget")
    try:
        budget = None if raw is None else parse_budget(raw)
    except BudgetError as exc:
        raise BudgetError(f"budget file {path}: {exc}") from None
    return budget, Progress.from_dict(data.get("progress"))


def _number(kind: str, amount: Decimal | int | None) -> float | int | None:
    """An amount as JSON shows it: dollars as a number with cents and below, tokens whole."""
    if amount is None:
        return None
    return round(float(amount), 6) if kind == "usd" else int(amount)


class BudgetDesk:
    """One session's budget while its sidecar runs (every method is thread-safe)."""

    def __init__(self, parts: BudgetParts) -> None:
        self._parts = parts
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.problem: str | None = None
        self._spent: Decimal | int | None = 0
        try:
            self._budget, self._progress = read_budget_file(parts.path)
        except BudgetError as exc:
            # Not enforced, and said so: a session must not stop because its file broke.
            self._budget, self._progress = None, Progress()
            self.problem = f"{exc}; the budget is not enforced"
            parts.log(f"budget: {self.problem}")
            parts.emit("budget", level="error", error=self.problem)
        # A recovered sidecar holds what its predecessor held, from the first moment.
        self._held = self._budget is not None and self._progress.exceeded_at == (
            self._budget.to_text()
        )

    # --- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """Look once now (a recovered sidecar tells what was spent from its first answer),
        then every :data:`POLL_S`."""
        if self._budget is not None:
            self._check_safely()
        self._thread = threading.Thread(target=self._run, name="budget", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            if self._budget is not None:
                self._check_safely()

    def _check_safely(self) -> None:
        try:
            self.check()
        except Exception as exc:  # a bug here must never take the session down
            self._parts.log(f"budget: check failed: {type(exc).__name__}: {exc}")

    @property
    def held(self) -> bool:
        """Whether the inbox is held (and sends refused): the budget is spent."""
        return self._held

    @property
    def near(self) -> bool:
        """Whether the budget is past its warning (or spent): each queued message then waits
        until the last turn's usage is written down and looked at."""
        with self._lock:
            budget = self._budget
            return budget is not None and self._progress.warned_at == budget.to_text()

    def refusal(self) -> str | None:
        """The one line a send is refused with while the budget is spent, else None."""
        with self._lock:
            if not self._held or self._budget is None:
                return None
            return reached_message(self._parts.ident, self._budget, self._spent or 0)

    def check(self) -> None:
        """Compare what was spent with the budget and take the steps due (each once)."""
        parts = self._parts
        total = parts.usage()
        with self._lock:
            budget = self._budget
            if budget is None:
                return
            spent = spent_of(budget.kind, total.tokens, total.cost_usd)
            decision = decide(budget, spent, self._progress)
            self._spent = spent
            was_held = self._held
            if decision.progress != self._progress:
                # On disk before anything is done: a restart neither repeats nor loses a step.
                self._save(budget, decision.progress)
            self._progress = decision.progress
            self._held = decision.held
        shown = {
            "kind": budget.kind,
            "spent": _number(budget.kind, spent),
            "limit": _number(budget.kind, budget.limit),
        }
        if decision.say_unknown:
            parts.emit(
                "budget",
                level="unknown",
                **shown,
                error=f"the cost is unknown (a model without a price); the {budget} budget "
                "is not enforced while it is",
            )
        if spent is None:
            if was_held:
                parts.released()
            return
        words = f"spent {format_amount(budget.kind, spent)} of {budget}"
        if decision.warn:
            parts.emit("budget", level="warning", **shown, text=words)
            parts.escalate(f"budget at {int(WARN_AT * 100)} %: {words}")
        if decision.exceed:
            interrupted = parts.state() == State.BUSY and parts.interrupt()
            parts.emit("budget", level="exceeded", **shown, text=words, interrupted=interrupted)
            done = "; turn interrupted" if interrupted else ""
            parts.log(f"budget: {words}; inbox held{done}")
        if was_held and not decision.held:
            parts.released()

    def _save(self, budget: Budget | None, progress: Progress) -> None:
        try:
            write_budget_file(self._parts.path, budget, progress)
        except OSError as exc:
            # A full disk: enforced all the same, from memory (a restart may warn again).
            self._parts.log(f"budget: cannot save {self._parts.path}: {exc}")

    # --- changes ------------------------------------------------------------------------------

    def change(self, add: str | None = None, clear: bool = False) -> dict[str, Any] | None:
        """``harnex budget --add``/``--clear``: the new budget on disk first, then checked at
        once (a raised limit releases a held inbox). BudgetError for a bad amount."""
        extra = None if add is None else parse_budget(add)
        with self._lock:
            if clear:
                budget = None
            elif extra is not None:
                budget = extra if self._budget is None else self._budget.plus(extra)
            else:
                budget = self._budget
            try:
                write_budget_file(self._parts.path, budget, self._progress)
            except OSError as exc:
                raise HarnexError(f"cannot save the budget: {exc}") from exc
            self._budget = budget
            self.problem = None
            was_held, self._held = self._held, False if budget is None else self._held
        if budget is None:
            if was_held:
                self._parts.released()
        else:
            self.check()
        return self.describe()

    def describe(self) -> dict[str, Any] | None:
        """The ``budget`` object of ``status --json``: the limit, what was spent of it, and
        its state (``ok``, ``warning``, ``exceeded``, ``unknown``); or the file's problem."""
        with self._lock:
            budget, spent, held = self._budget, self._spent, self._held
            if budget is None:
                return None if self.problem is None else {"problem": self.problem}
            warned = self._progress.warned_at == budget.to_text()
        if spent is None:
            level = "unknown"
        elif held:
            level = "exceeded"
        elif warned:
            level = "warning"
        else:
            level = "ok"
        shown: dict[str, Any] = {
            "kind": budget.kind,
            "limit": _number(budget.kind, budget.limit),
            "spent": _number(budget.kind, spent),
            "state": level,
            "text": f"{budget}"
            if spent is None
            else f"spent {format_amount(budget.kind, spent)} of {budget}",
        }
        with contextlib.suppress(ArithmeticError):
            if spent is not None:
                shown["share"] = round(float(Decimal(spent) / Decimal(budget.limit)), 4)
        return shown
