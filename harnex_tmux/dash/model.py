"""What the dashboard shows about a session, as plain data: rows, their order, their glyphs.

No Textual and no I/O here, so ``harnex status --tmux`` can share the ordering and the words,
and the rules can be tested on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

# The sidecar's readiness states, plus what the dashboard itself can tell.
PROMPT = "prompt"
BUSY = "busy"
TRUST = "workspace-trust-prompt"
CONFIRMATION = "confirmation"
UNKNOWN = "unknown"
SIDECAR_DOWN = "sidecar-down"
UNRESPONSIVE = "unresponsive"
EXITED = "exited"
# A session on a host that did not answer: shown as it was last seen, its state unknown.
STALE = "stale"

DIALOG_STATES = frozenset({TRUST, CONFIRMATION})
FAULT_STATES = frozenset({SIDECAR_DOWN, UNRESPONSIVE})


class Group(IntEnum):
    """The list's sections, in the order a person should look at them."""

    NEEDS_YOU = 0  # a dialog or question, an unconfirmed message, a sidecar down
    BUSY = 1
    IDLE = 2  # at the prompt, or still starting
    ENDED = 3


@dataclass(frozen=True)
class Look:
    """How a state is drawn: a glyph that reads without colour, a colour from the 16 every
    terminal has, and a word for the help and the tmux segment."""

    glyph: str
    colour: str
    word: str


LOOKS: dict[str, Look] = {
    CONFIRMATION: Look("?", "yellow", "asks"),
    TRUST: Look("?", "yellow", "asks"),
    SIDECAR_DOWN: Look("x", "red", "down"),
    UNRESPONSIVE: Look("~", "red", "hangs"),
    BUSY: Look("*", "cyan", "busy"),
    PROMPT: Look(">", "green", "idle"),
    UNKNOWN: Look(".", "white", "starting"),
    EXITED: Look("-", "bright_black", "ended"),
    STALE: Look("#", "red", "stale"),
}
# A message typed but not confirmed: the session may look idle, yet someone must check.
UNCONFIRMED_LOOK = Look("!", "magenta", "unconfirmed")


def look_for(state: str, unconfirmed: int = 0) -> Look:
    if state in DIALOG_STATES or state in FAULT_STATES or state in (EXITED, STALE):
        return LOOKS[state]
    if unconfirmed:
        return UNCONFIRMED_LOOK
    return LOOKS.get(state, LOOKS[UNKNOWN])


def group_of(state: str, unconfirmed: int = 0) -> Group:
    if state == EXITED:
        return Group.ENDED
    if state in DIALOG_STATES or state in FAULT_STATES or state == STALE or unconfirmed:
        return Group.NEEDS_YOU
    if state == BUSY:
        return Group.BUSY
    return Group.IDLE


def problem_of(state: str) -> str | None:
    """What is wrong with a session in ``state``, in words (None: nothing)."""
    if state == SIDECAR_DOWN:
        return "its sidecar is down: r recovers it (queued messages are then delivered)"
    if state == UNRESPONSIVE:
        return "its sidecar does not answer"
    return None


@dataclass(frozen=True)
class WorktreeCells:
    branch: str
    ahead: int | None  # None: git could not tell
    changed: int | None


@dataclass(frozen=True)
class UsageCells:
    """What a session's agent used so far, as its sidecar counted it."""

    tokens: int
    cost_usd: float | None  # None: part of it has no known price


@dataclass(frozen=True)
class Layout:
    """Which optional columns the list has: HOST once any host is known, TOKENS and COST
    once any session reported usage (as ``harnex status`` does), so a fleet without them
    keeps its room for the description."""

    hosts: bool = False
    usage: bool = False

    @classmethod
    def of(cls, rows: Iterable[FleetRow], hosts: bool = False) -> Layout:
        return cls(hosts, any(row.usage is not None for row in rows))

    @property
    def columns(self) -> tuple[str, ...]:
        head = ("HOST",) if self.hosts else ()
        usage = ("TOKENS", "COST") if self.usage else ()
        return (*head, "ID", "CLI", "STATE", "FOR", *usage, *TAIL_COLUMNS)


@dataclass(frozen=True)
class FleetRow:
    """One session as the list shows it."""

    key: str  # the session's file key: unique across repos, stable while it runs
    id: str
    cli: str
    state: str
    since: float | None  # epoch seconds the state began, when known
    description: str = ""
    repo_root: str = ""
    queued: int = 0
    unconfirmed: int = 0
    worktree: WorktreeCells | None = None
    problem: str | None = None  # what is wrong with the session, in words
    usage: UsageCells | None = None
    host: str | None = None  # the host it runs on, by name; None: this machine

    @property
    def group(self) -> Group:
        return group_of(self.state, self.unconfirmed)

    @property
    def look(self) -> Look:
        return look_for(self.state, self.unconfirmed)

    @property
    def target(self) -> str:
        """How the CLI names it: ``id`` here, ``NAME:id`` on a host."""
        return self.id if self.host is None else f"{self.host}:{self.id}"

    def cells(self, now: float, layout: Layout = Layout()) -> tuple[str, ...]:
        """The text of each of ``layout.columns``."""
        tree = self.worktree
        state = self.state if not self.unconfirmed else f"{self.state} !{self.unconfirmed}"
        head = (self.host or "local",) if layout.hosts else ()
        usage = _usage_cells(self.usage) if layout.usage else ()
        return (
            *head,
            self.id,
            self.cli or "-",
            f"{self.look.glyph} {state}",
            short_duration(None if self.since is None else now - self.since),
            *usage,
            self.description or "-",
            tree.branch if tree else "-",
            _count(tree.ahead) if tree else "-",
            _count(tree.changed) if tree else "-",
            str(self.queued) if self.queued else "-",
        )


TAIL_COLUMNS = ("DESC", "BRANCH", "AHEAD", "CHANGED", "QUEUED")
# The columns as wide as their text (no cap), with the cells each keeps when the room runs
# out: they are cut first (ending in "…"), so the columns after them stay in view.
WIDE_COLUMNS = {"DESC": 24, "BRANCH": 12}


def _usage_cells(usage: UsageCells | None) -> tuple[str, str]:
    if usage is None:
        return ("-", "-")
    from harnex_tmux.usage.tokens import money, short_count

    return (short_count(usage.tokens), money(usage.cost_usd))


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def ordered(rows: Iterable[FleetRow]) -> list[FleetRow]:
    """Those that need the person first, then busy, then idle, then ended; within a group
    the one longest in its state first (it has waited longest), then by id."""

    def key(row: FleetRow) -> tuple[int, float, str]:
        since = row.since if row.since is not None else float("inf")
        if row.group == Group.ENDED:
            since = -since  # the most recently ended first
        return (row.group, since, row.id)

    return sorted(rows, key=key)


def matches(row: FleetRow, needle: str) -> bool:
    """The filter: every word must appear in the id, CLI, state, description, branch or
    host."""
    branch = row.worktree.branch if row.worktree else ""
    hay = " ".join((row.id, row.cli, row.state, row.description, branch, row.host or "")).lower()
    return all(word in hay for word in needle.lower().split())


def short_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit}"
    return f"{whole}s"


@dataclass
class Counts:
    waiting: int = 0
    busy: int = 0
    idle: int = 0
    by_state: dict[str, int] = field(default_factory=dict)


def counts(states: Iterable[tuple[str, int]]) -> Counts:
    """How many sessions need the person, are busy, idle: from (state, unconfirmed)."""
    found = Counts()
    for state, unconfirmed in states:
        found.by_state[state] = found.by_state.get(state, 0) + 1
        group = group_of(state, unconfirmed)
        if group == Group.NEEDS_YOU:
            found.waiting += 1
        elif group == Group.BUSY:
            found.busy += 1
        elif group == Group.IDLE:
            found.idle += 1
    return found


def tmux_segment(states: Iterable[tuple[str, int]]) -> str:
    """``2 waiting · 5 busy · 1 idle``: only the non-zero parts, nothing for no sessions, so
    the segment takes no room in tmux's status line when no agent runs."""
    found = counts(states)
    parts = [
        f"{n} {word}"
        for n, word in ((found.waiting, "waiting"), (found.busy, "busy"), (found.idle, "idle"))
        if n
    ]
    return " · ".join(parts)
