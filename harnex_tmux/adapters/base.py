"""What harnex needs to know about one agent CLI.

An adapter turns what the sidecar observes (the screen and how long the output has been quiet)
into a readiness state, and says how to submit input and how to ask the agent to leave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from harnex_tmux.foreground import TerminalUse

# In an adapter's resume arguments: the CLI's own conversation id.
RESUME_PLACEHOLDER = "{conversation}"


class State(StrEnum):
    PROMPT = "prompt"
    BUSY = "busy"
    TRUST = "workspace-trust-prompt"
    CONFIRMATION = "confirmation"
    EXITED = "exited"
    UNKNOWN = "unknown"

    @property
    def is_dialog(self) -> bool:
        return self in (State.TRUST, State.CONFIRMATION)


@dataclass(frozen=True)
class Observation:
    """A look at the session: ``screen`` is None for adapters that do not read it.

    ``output_seen`` tells whether the agent has printed anything yet, and ``age`` is how long
    the sidecar has been watching: a program that is still starting is quiet, not ready.
    ``terminal`` is what the kernel says the foreground processes do with the terminal, for
    adapters that ask for it (``reads_terminal``).
    """

    screen: str | None
    quiet_for: float
    output_seen: bool = True
    age: float = float("inf")
    terminal: TerminalUse = TerminalUse.UNKNOWN


@dataclass(frozen=True)
class DialogAnswer:
    """How to answer a dialog: ``moves`` bring its cursor onto the wanted option (none when
    it is there, or the dialog has no list), then ``keys`` confirm it."""

    moves: tuple[str, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class HookTarget:
    """Where an agent's own hooks report to.

    ``command`` runs harnex's hook script, which finds the sidecar through
    ``$HARNEX_REGISTRY``. ``url`` is the sidecar's hook endpoint, for CLIs that can post
    there themselves (no process to start, so the report is there sooner); they send the
    bearer token from the variable named by ``token_env``, so it never shows in ``ps``.
    """

    command: list[str]
    url: str
    token_env: str = "HARNEX_HOOK_TOKEN"


@dataclass(frozen=True)
class HookReport:
    """What one of the agent's own hook events means, in the sidecar's terms.

    ``prompt``: the agent accepted this text as a prompt (the turn is busy).
    ``turn``: the agent finished a turn (``text`` is its reply, None if unknown).
    ``dialog``: the agent is asking its user something (a tool permission).

    ``note``: the agent only told its user something (logged, no state implied).

    ``hold``: whether the state it implies holds against a screen that still shows the
    previous one. False for a report sent before the agent can take input (a CLI that runs
    its notification command before it draws its prompt): then the screen says when; and
    for a report that comes late (Claude Code's), which the screen is trusted over.

    ``received``: with a ``turn``, the input of that turn as the agent reports it only at its
    end (Codex): it proves, or fails, the message typed for it. ``thread``: the agent's
    conversation the turn belongs to, when it reports its side calls' turns too (Codex):
    the sidecar follows the one whose first input it typed.

    ``notification``: the kind of notification the agent sent its user (Claude Code's
    Notification hook), logged with the state shown when it came, since it may lag the
    screen by seconds.
    """

    kind: str
    text: str | None = None
    hold: bool = True
    received: str | None = None
    thread: str | None = None
    notification: str | None = None


@dataclass(frozen=True)
class StopStep:
    """One step of a graceful stop: type ``text`` and/or press ``keys``, then wait."""

    text: str = ""
    keys: tuple[str, ...] = ()
    wait_s: float = 1.0


# Ctrl-C, then a second for the CLI to leave: the stop for a CLI that says nothing else.
DEFAULT_STOP_STEPS = (StopStep(keys=("C-c",), wait_s=1.0),)


class Adapter:
    """Base adapter; subclasses override what differs for their CLI.

    What a screen adapter reads from its adapter file (how to type, how to stop, what it
    reports) is a read-only property here, with the value for a CLI harnex knows nothing
    about; a subclass overrides it with a property or a plain class attribute.
    """

    name = "base"
    reads_screen = False
    # Whether detect() wants the kernel's view of the terminal (see harnex_tmux.foreground).
    reads_terminal = False
    # Whether the CLI reports each accepted prompt through its hooks (so a submit is proven,
    # not inferred from the screen).
    proves_submit = False

    @property
    def signals(self) -> str:
        """What it reads to know the agent's state, for ``harnex adapters list``."""
        return "screen"

    @property
    def first_prompt_settles(self) -> bool:
        """Whether a first prompt counts only once the screen has held still (CLIs that draw
        their prompt for a moment before deciding to show a first-launch dialog over it)."""
        return False

    @property
    def submit_keys(self) -> tuple[str, ...]:
        return ("Enter",)

    @property
    def trust_accept_keys(self) -> tuple[str, ...]:
        return ()

    @property
    def interrupt_keys(self) -> tuple[str, ...]:
        """The keys that stop the agent's turn and leave it at its prompt (a spent budget);
        none for a program harnex knows no such keys for (it is then only held)."""
        return ()

    def dialog_answer(self, state: State, screen: str | None) -> DialogAnswer | None:
        """The keys that take a dialog's accepting option (trusting the folder, allowing the
        tool), read from ``screen`` where the adapter can; None when the screen does not show
        that option yet, so nothing should be pressed."""
        keys = self.trust_accept_keys if state == State.TRUST else ()
        return DialogAnswer((), keys or self.submit_keys)

    @property
    def settle_s(self) -> float:
        """Pause between typed text landing and the submit key (some CLIs debounce pastes)."""
        return 0.0

    @property
    def types_by_paste(self) -> bool:
        """Send every message as a bracketed paste, even a short single line (OpenCode
        mangles combining characters that arrive as typed keys)."""
        return False

    @property
    def stop_steps(self) -> tuple[StopStep, ...]:
        return DEFAULT_STOP_STEPS

    @property
    def has_hooks(self) -> bool:
        """Whether this CLI reports its turns to harnex through its own hook system."""
        return False

    @property
    def busy_after_submit(self) -> bool:
        """Whether a delivered message counts as busy at once, until the screen agrees: for a
        CLI that reports only the end of its turns, whose screen shows no work for a moment
        after the submit key (Aider's spinner shows after 0.5 s, and a quick turn shows
        none)."""
        return False

    @property
    def tidies_input(self) -> bool:
        """Whether keys_after_typing may ask for keys (the delivery then reads the input box)."""
        return False

    @property
    def resume_args(self) -> tuple[str, ...]:
        """How the CLI continues a conversation of its own (see resume_command)."""
        return ()

    def launch_argv(
        self, command: list[str], hooks: HookTarget | None = None, env: Mapping[str, str] = {}
    ) -> list[str]:
        """The argv to run; with ``hooks``, wired so the agent reports its events there."""
        return list(command)

    @property
    def resume_needs_id(self) -> bool:
        """Whether the CLI continues a conversation only by its id (Claude Code, Codex...);
        otherwise it continues from what it keeps in its folder (Aider's chat history)."""
        return any(RESUME_PLACEHOLDER in arg for arg in self.resume_args)

    def resume_command(self, command: list[str], conversation: str) -> list[str] | None:
        """``command`` continuing ``conversation`` with the CLI's own option (its adapter
        file's ``[resume] args``, right after the program); None when it has none."""
        if not self.resume_args or not command:
            return None
        args = [a.replace(RESUME_PLACEHOLDER, conversation) for a in self.resume_args]
        return [command[0], *args, *command[1:]]

    def launch_env(self) -> dict[str, str]:
        """Variables the CLI needs in its environment; the user's own values win."""
        return {}

    def session_env(
        self,
        hooks: HookTarget | None,
        env: Mapping[str, str],
        folder: Path,
        auto_accept: bool = False,
    ) -> dict[str, str]:
        """Variables to add to the agent's environment; ``folder`` is private to the session,
        for CLIs whose per-session wiring has to live in files, and ``auto_accept`` says the
        user asked harnex to trust the folder (``run --auto-accept``)."""
        return {}

    def session_facts(self, cwd: str = "") -> dict[str, Any]:
        """Facts from the launch in ``cwd`` (such as a port) to keep in the session's record,
        where :meth:`start_watching` finds them again, also in a recovered sidecar."""
        return {}

    def start_watching(
        self, facts: Mapping[str, Any], sink: Callable[[str, dict[str, Any]], None]
    ) -> None:
        """Start following the agent's own event stream, if it has one, handing each event
        to ``sink`` as if a hook had reported it (see :meth:`read_hook`)."""

    def read_hook(self, event: str, payload: Mapping[str, Any]) -> HookReport | None:
        """What a hook event of this CLI (``POST /hook`` with this adapter's name as
        ``source``) means; None for events that change nothing."""
        return None

    def preflight(self, command: list[str], env: Mapping[str, str]) -> None:
        """Refuse (HarnexError) a launch that the CLI would reject, before a pane exists."""

    def taking_paste(self, screen: str) -> bool:
        """Whether ``screen`` shows the CLI still taking the text just pasted (a submit key
        now would come before it has the whole text)."""
        return False

    def keys_after_typing(self, input_line: str | None) -> tuple[str, ...]:
        """Keys that tidy the input box once typed text has landed (read from the screen
        only for adapters that set ``tidies_input``)."""
        return ()

    def input_line(self, screen: str) -> str | None:
        """What sits in the agent's input box, for adapters that can see it (else None)."""
        return None

    def detect(self, observation: Observation) -> State:
        raise NotImplementedError

    def recheck_in(self, observation: Observation) -> float | None:
        """Seconds until the state may change with no new output (None: only on output)."""
        return None
