"""Adapters that read the agent's screen: the shared matching rules.

Each CLI is described by data (the texts that mark each state, in its adapter file in
``files/``), so the next UI change is a one-line edit there. Rules, in order:

1. a dialog's texts anywhere on the screen (or below the input line, for a CLI that leaves
   answered dialogs drawn) win: they block input whatever else shows;
2. the busy marker in the bottom part of the screen means busy (the prompt glyph stays
   visible while both CLIs work, so it never means ready on its own);
3. the input line plus an idle footer (or, where the CLI has no placeholder, an empty input
   line) means ready;
4. anything else (starting up, a screen we do not know) is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harnex_tmux.adapters.base import Adapter, HookReport, HookTarget, Observation, State

if TYPE_CHECKING:
    from harnex_tmux.adapters.rules import ScreenRules

SHIPPED_DIR = Path(__file__).with_name("files")
# The event a ``[ready]`` command reports (``hook.py notify <adapter> ready``).
READY_EVENT = "ready"
# What a ``[ready]`` argument holds where harnex's hook command goes.
READY_PLACEHOLDER = "{command}"
# How much of the bottom of the screen the busy/idle markers are looked for in: the agent's
# own transcript above may quote them.
STATUS_REGION_LINES = 12


@dataclass(frozen=True)
class Dialog:
    state: State
    # Every pattern must match (case-insensitive) for the dialog to be recognised.
    patterns: tuple[str, ...]
    # A text that shows the dialog was answered while it is still drawn (any one matching).
    answered: tuple[str, ...] = ()

    def matches(self, screen: str) -> bool:
        return all(re.search(p, screen, re.IGNORECASE) for p in self.patterns) and not any(
            re.search(p, screen, re.IGNORECASE) for p in self.answered
        )


class ScreenAdapter(Adapter):
    reads_screen = True
    first_prompt_settles = True
    prompt_glyph = "❯"
    idle_markers: tuple[str, ...] = ("? for shortcuts",)
    busy_markers: tuple[str, ...] = ("esc to interrupt",)
    # Regular expressions (per line) that also mean busy, for when a transient notice
    # replaces the footer that carries the busy marker.
    busy_patterns: tuple[str, ...] = ()
    dialogs: tuple[Dialog, ...] = ()
    # An empty input box with no busy sign is ready even when a transient notice has taken
    # the footer's place (Claude shows "paste again to expand" there after a paste).
    empty_box_is_idle = False
    # The key that accepts the folder-trust dialog (its default choice is "trust").
    trust_accept_keys: tuple[str, ...] = ("Enter",)
    # Pause between the text landing and the submit key: both CLIs debounce pastes.
    settle_s = 0.15
    # Where its rules came from (an adapter file's path), for ``harnex adapters``.
    source = "built-in"
    launch_args: tuple[str, ...] = ()
    launch_defaults: Mapping[str, str] = {}
    # Arguments that make the CLI run a command whenever it waits for input (``[ready]`` in
    # an adapter file); READY_PLACEHOLDER in them becomes harnex's hook command.
    ready_args: tuple[str, ...] = ()

    # The input line is the screen's last line of text, or there is none: for a CLI that
    # leaves a submitted message above what it prints next (Aider), so a message it took
    # is not read as still waiting in the input line.
    input_at_bottom = False
    # The grey hint an empty input line shows after the glyph (read as an empty line).
    placeholder: str | None = None
    # Dialogs count only below the last input line: for a CLI that leaves an answered
    # dialog on the screen above its next prompt (Gemini CLI restarts after a trust answer).
    dialogs_below_input = False
    # For a CLI whose input is a box with no prompt glyph (OpenCode): the box's lines start
    # with ``box_side`` and end above a line holding ``box_bottom``; its last
    # ``box_footer_lines`` lines are the CLI's own (agent and model), not typed text.
    box_side: str | None = None
    box_bottom = ""
    box_footer_lines = 0
    # Blank lines do not count toward the bottom region (OpenCode draws its first input box
    # in the middle of an otherwise empty screen).
    skip_blank_lines = False

    # A paste the CLI shows collapsed into a marker (matched against the input line), and
    # the keys pressed then: OpenCode puts a space after its marker that it also sends.
    collapsed_paste: str | None = None
    collapsed_paste_keys: tuple[str, ...] = ()

    # The adapter file in ``adapters/files/`` that describes this CLI's screen, if any.
    shipped_rules: str | None = None

    def __init__(self, rules: ScreenRules | None = None) -> None:
        if rules is None and self.shipped_rules is not None:
            from harnex_tmux.adapters.rules import load_rules

            rules = load_rules(SHIPPED_DIR / self.shipped_rules)
        if rules is not None:
            self.apply(rules)

    def apply(self, rules: ScreenRules) -> None:
        """Read the screen by ``rules`` (an adapter file) instead of the class's own."""
        self.source = rules.source
        self.prompt_glyph = rules.prompt_glyph
        self.idle_markers = rules.idle_markers
        self.empty_box_is_idle = rules.empty_box_is_idle
        self.placeholder = rules.placeholder
        self.skip_blank_lines = rules.skip_blank_lines
        self.dialogs_below_input = rules.dialogs_below_input
        box = rules.box
        self.box_side = box.side if box else None
        self.box_bottom = box.bottom if box else ""
        self.box_footer_lines = box.footer_lines if box else 0
        self.input_at_bottom = rules.input_at_bottom
        self.busy_markers = rules.busy_markers
        self.busy_patterns = rules.busy_patterns
        self.dialogs = tuple(rule.dialog for rule in rules.dialogs)
        self.trust_accept_keys = rules.trust_accept_keys
        self.submit_keys = rules.submit_keys
        self.settle_s = rules.settle_s
        self.first_prompt_settles = rules.first_prompt_settles
        self.stop_steps = rules.stop_steps
        self.types_by_paste = rules.types_by_paste
        self.collapsed_paste = rules.collapsed_paste
        self.collapsed_paste_keys = rules.collapsed_paste_keys
        self.tidies_input = rules.collapsed_paste is not None
        self.launch_args = rules.launch_args
        self.launch_defaults = dict(rules.launch_env)
        self.ready_args = rules.ready_args
        self.resume_args = rules.resume_args
        if self.ready_args:
            self.has_hooks = True
            self.busy_after_submit = True
            self.signals = "ready command (turn end), screen"

    def launch_argv(
        self, command: list[str], hooks: HookTarget | None = None, env: Mapping[str, str] = {}
    ) -> list[str]:
        argv = [*command, *(a for a in self.launch_args if a not in command[1:])]
        return [*argv, *self._ready_argv(argv, hooks)]

    def _ready_argv(self, argv: list[str], hooks: HookTarget | None) -> list[str]:
        """The ``[ready]`` arguments with harnex's hook command filled in; none without hooks,
        or when the command line already has one of their options (the user's own)."""
        options = [a for a in self.ready_args if a.startswith("-")]
        if hooks is None or not self.ready_args or any(a in argv[1:] for a in options):
            return []
        import shlex  # only for a CLI with a [ready] command

        command = shlex.join([*hooks.command, "notify", self.name, READY_EVENT])
        return [a.replace(READY_PLACEHOLDER, command) for a in self.ready_args]

    def read_hook(self, event: str, payload: Mapping[str, Any]) -> HookReport | None:
        """A ``[ready]`` command ran: the CLI waits for input, so its turn has ended. It runs
        before the CLI has drawn its prompt, so the screen still says when it takes input."""
        if event == READY_EVENT and self.ready_args:
            return HookReport("turn", None, hold=False)
        return None

    def launch_env(self) -> dict[str, str]:
        return dict(self.launch_defaults)

    def keys_after_typing(self, input_line: str | None) -> tuple[str, ...]:
        if self.collapsed_paste and input_line and re.match(self.collapsed_paste, input_line):
            return self.collapsed_paste_keys
        return ()

    def detect(self, observation: Observation) -> State:
        screen = observation.screen
        if screen is None:
            return State.UNKNOWN
        shown = self._below_input(screen) if self.dialogs_below_input else screen
        for dialog in self.dialogs:
            if dialog.matches(shown):
                return dialog.state
        bottom = "\n".join(self._bottom(screen))
        if any(marker in bottom for marker in self.busy_markers):
            return State.BUSY
        if any(re.search(p, bottom, re.MULTILINE) for p in self.busy_patterns):
            return State.BUSY
        line = self.input_line(screen)
        if line is not None and (
            any(m in bottom for m in self.idle_markers) or (line == "" and self.empty_box_is_idle)
        ):
            return State.PROMPT
        return State.UNKNOWN

    def _box_text(self, screen: str) -> str | None:
        """The first line of text in the input box (see ``box_side``), "" when it is empty."""
        lines = self._bottom(screen)
        bottoms = [i for i, line in enumerate(lines) if self.box_bottom in line]
        if not bottoms:
            return None
        side = self.box_side or ""
        end = bottoms[-1] - self.box_footer_lines
        box: list[str] = []
        for line in reversed(lines[:end]):
            stripped = line.strip()
            if not stripped.startswith(side):
                break
            box.insert(0, stripped[len(side) :].strip())
        texts = [text for text in box if text]
        if not texts:
            return ""
        first = texts[0]
        return "" if self.placeholder and first.startswith(self.placeholder) else first

    def _bottom(self, screen: str) -> list[str]:
        """The last lines of the screen, where the input and the status markers are."""
        lines = screen.rstrip().splitlines()
        if self.skip_blank_lines:
            lines = [line for line in lines if line.strip()]
        return lines[-STATUS_REGION_LINES:]

    def _below_input(self, screen: str) -> str:
        """What is below the last input line (or input box), where an open dialog is."""
        lines = screen.splitlines()
        for index in range(len(lines) - 1, -1, -1):
            if self.box_side is not None:
                if self.box_bottom in lines[index]:
                    return "\n".join(lines[index + 1 :])
            elif self._strip_box(lines[index]).startswith(self.prompt_glyph):
                return "\n".join(lines[index + 1 :])
        return screen

    @staticmethod
    def _strip_box(line: str) -> str:
        return line.strip().strip("│").strip()

    def input_line(self, screen: str) -> str | None:
        """The text after the prompt glyph on the last input line, or None when there is none."""
        if self.box_side is not None:
            return self._box_text(screen)
        lines = self._bottom(screen)
        if self.input_at_bottom:
            lines = [line for line in lines if line.strip()][-1:]
        for line in reversed(lines):
            stripped = self._strip_box(line)
            if stripped.startswith(self.prompt_glyph):
                text = stripped[len(self.prompt_glyph) :].strip()
                return "" if self.placeholder and text == self.placeholder else text
        return None
