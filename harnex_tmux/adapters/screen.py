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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import (
    Adapter,
    DialogAnswer,
    HookReport,
    HookTarget,
    Observation,
    State,
    StopStep,
)
from harnex_tmux.adapters.reply_file import ReplyFile, size_of
from harnex_tmux.adapters.rules import (
    READY_PLACEHOLDER,
    BoxRule,
    Dialog,
    ScreenRules,
    load_rules,
)

SHIPPED_DIR = Path(__file__).with_name("files")


def shipped_names() -> list[str]:
    """The CLIs harnex ships an adapter file for, by file name (nothing is parsed)."""
    return sorted(path.stem for path in SHIPPED_DIR.glob("*.toml"))


# Where the session's record keeps the ``[reply]`` file and the offset its turns start at.
FACT_REPLY_FILE = "reply_file"
FACT_REPLY_OFFSET = "reply_offset"
# The event a ``[ready]`` command reports (``hook.py notify <adapter> ready``).
READY_EVENT = "ready"
# How much of the bottom of the screen the busy/idle markers are looked for in: the agent's
# own transcript above may quote them.
STATUS_REGION_LINES = 12


class ScreenAdapter(Adapter):
    """An adapter that reads the CLI's screen by its rules (an adapter file), and holds no
    screen rule of its own: what the sidecar asks of an adapter is read from ``rules``."""

    reads_screen = True
    # The adapter file in ``adapters/files/`` that describes this CLI's screen, if any.
    shipped_rules: str | None = None

    def __init__(self, rules: ScreenRules | None = None) -> None:
        if rules is None:
            if self.shipped_rules is None:
                raise TypeError(f"{type(self).__name__} needs its screen rules")
            rules = load_rules(SHIPPED_DIR / self.shipped_rules)
        self.rules = rules
        self.dialogs: tuple[Dialog, ...] = tuple(rule.dialog for rule in rules.dialogs)
        # The command line and environment launched with (where a [reply] file is named),
        # and that file once the sidecar follows it.
        self._launched: tuple[list[str], Mapping[str, str]] | None = None
        self._reply: ReplyFile | None = None

    @property
    def source(self) -> str:
        """Where its rules came from (an adapter file's path), for ``harnex adapters``."""
        return self.rules.source

    @property
    def first_prompt_settles(self) -> bool:
        return self.rules.first_prompt_settles

    @property
    def submit_keys(self) -> tuple[str, ...]:
        return self.rules.submit_keys

    @property
    def trust_accept_keys(self) -> tuple[str, ...]:
        return self.rules.trust_accept_keys

    @property
    def interrupt_keys(self) -> tuple[str, ...]:
        return self.rules.interrupt_keys

    def dialog_answer(self, state: State, screen: str | None) -> DialogAnswer | None:
        return self.rules.dialog_answer(state, screen)

    @property
    def settle_s(self) -> float:
        return self.rules.settle_s

    @property
    def types_by_paste(self) -> bool:
        return self.rules.types_by_paste

    @property
    def stop_steps(self) -> tuple[StopStep, ...]:
        return self.rules.stop_steps

    @property
    def tidies_input(self) -> bool:
        """A paste shown collapsed is tidied by keys, so the delivery reads the input line."""
        return self.rules.collapsed_paste is not None

    # A ``[ready]`` command is the CLI's own report of each turn's end: a hook, and one that
    # comes only at the end, so a delivered message counts as busy until the screen agrees.
    @property
    def has_hooks(self) -> bool:
        return bool(self.rules.ready_args)

    @property
    def busy_after_submit(self) -> bool:
        return bool(self.rules.ready_args)

    @property
    def signals(self) -> str:
        return "ready command (turn end), screen" if self.rules.ready_args else "screen"

    @property
    def resume_args(self) -> tuple[str, ...]:
        return self.rules.resume_args

    def launch_argv(
        self, command: list[str], hooks: HookTarget | None = None, env: Mapping[str, str] = {}
    ) -> list[str]:
        argv = [*command, *(a for a in self.rules.launch_args if a not in command[1:])]
        self._launched = (argv, env)
        return [*argv, *self._ready_argv(argv, hooks)]

    def session_facts(self, cwd: str = "") -> dict[str, Any]:
        """With a ``[reply]`` table: the file the CLI launched in ``cwd`` writes its
        conversation to, and its size now (this session's turns are what comes after)."""
        rule = self.rules.reply
        if rule is None or self._launched is None or not cwd:
            return {}
        path = rule.path_for(self._launched[0], self._launched[1], cwd)
        return {FACT_REPLY_FILE: str(path), FACT_REPLY_OFFSET: size_of(path)}

    def start_watching(
        self, facts: Mapping[str, Any], sink: Callable[[str, dict[str, Any]], None]
    ) -> None:
        """Follow the ``[reply]`` file named in the session's facts (also in a recovered
        sidecar, which reads on from the launch: the reply follows the last message)."""
        rule, path, offset = (
            self.rules.reply,
            facts.get(FACT_REPLY_FILE),
            facts.get(FACT_REPLY_OFFSET),
        )
        if rule is not None and isinstance(path, str) and isinstance(offset, int):
            self._reply = ReplyFile(rule, Path(path), offset)

    def _ready_argv(self, argv: list[str], hooks: HookTarget | None) -> list[str]:
        """The ``[ready]`` arguments with harnex's hook command filled in; none without hooks,
        or when the command line already has one of their options (the user's own)."""
        ready_args = self.rules.ready_args
        options = [a for a in ready_args if a.startswith("-")]
        if hooks is None or not ready_args or any(a in argv[1:] for a in options):
            return []
        import shlex  # only for a CLI with a [ready] command

        command = shlex.join([*hooks.command, "notify", self.name, READY_EVENT])
        return [a.replace(READY_PLACEHOLDER, command) for a in ready_args]

    def read_hook(self, event: str, payload: Mapping[str, Any]) -> HookReport | None:
        """A ``[ready]`` command ran: the CLI waits for input, so its turn has ended (its reply
        is read from the ``[reply]`` file, if the adapter file names one). It runs before the
        CLI has drawn its prompt, so the screen still says when it takes input."""
        if event == READY_EVENT and self.rules.ready_args:
            reply = self._reply.turn_reply() if self._reply is not None else None
            return HookReport("turn", reply, hold=False)
        return None

    def launch_env(self) -> dict[str, str]:
        return dict(self.rules.launch_env)

    def taking_paste(self, screen: str) -> bool:
        """With ``[paste] pending`` markers or ``shown``: a marker shows near the bottom, or
        the input line is still empty (the pasted text, or its collapsed marker, not drawn
        yet)."""
        if not (self.rules.paste_pending or self.rules.paste_shown):
            return False
        bottom = "\n".join(self._bottom(screen))
        if any(marker in bottom for marker in self.rules.paste_pending):
            return True
        return not self.input_line(screen)

    def keys_after_typing(self, input_line: str | None) -> tuple[str, ...]:
        collapsed = self.rules.collapsed_paste
        if collapsed and input_line and re.match(collapsed, input_line):
            return self.rules.collapsed_paste_keys
        return ()

    def detect(self, observation: Observation) -> State:
        screen = observation.screen
        if screen is None:
            return State.UNKNOWN
        rules = self.rules
        shown = self._below_input(screen) if rules.dialogs_below_input else screen
        for dialog in self.dialogs:
            if dialog.matches(shown):
                return dialog.state
        bottom = "\n".join(self._bottom(screen))
        if any(marker in bottom for marker in rules.busy_markers):
            return State.BUSY
        if any(re.search(p, bottom, re.MULTILINE) for p in rules.busy_patterns):
            return State.BUSY
        line = self.input_line(screen)
        if line is not None and (
            any(m in bottom for m in rules.idle_markers) or (line == "" and rules.empty_box_is_idle)
        ):
            return State.PROMPT
        return State.UNKNOWN

    def _box_text(self, screen: str, box: BoxRule) -> str | None:
        """The first line of text in the input box, "" when it is empty."""
        lines = self._bottom(screen)
        bottoms = [i for i, line in enumerate(lines) if box.bottom in line]
        if not bottoms:
            return None
        end = bottoms[-1] - box.footer_lines
        typed: list[str] = []
        for line in reversed(lines[:end]):
            stripped = line.strip()
            if not stripped.startswith(box.side):
                break
            typed.insert(0, stripped[len(box.side) :].strip())
        texts = [text for text in typed if text]
        if not texts:
            return ""
        first = texts[0]
        placeholder = self.rules.placeholder
        return "" if placeholder and first.startswith(placeholder) else first

    def _bottom(self, screen: str) -> list[str]:
        """The last lines of the screen, where the input and the status markers are."""
        lines = screen.rstrip().splitlines()
        if self.rules.skip_blank_lines:
            lines = [line for line in lines if line.strip()]
        return lines[-STATUS_REGION_LINES:]

    def _below_input(self, screen: str) -> str:
        """What is below the last input line (or input box), where an open dialog is."""
        lines = screen.splitlines()
        box = self.rules.box
        for index in range(len(lines) - 1, -1, -1):
            if box is not None:
                if box.bottom in lines[index]:
                    return "\n".join(lines[index + 1 :])
            elif self._strip_box(lines[index]).startswith(self.rules.prompt_glyph):
                return "\n".join(lines[index + 1 :])
        return screen

    @staticmethod
    def _strip_box(line: str) -> str:
        return line.strip().strip("│").strip()

    def input_line(self, screen: str) -> str | None:
        """The text after the prompt glyph on the last input line, or None when there is none."""
        rules = self.rules
        if rules.box is not None:
            return self._box_text(screen, rules.box)
        lines = self._bottom(screen)
        if rules.input_at_bottom:
            lines = [line for line in lines if line.strip()][-1:]
        glyph = rules.prompt_glyph
        for line in reversed(lines):
            stripped = self._strip_box(line)
            if stripped.startswith(glyph):
                text = stripped[len(glyph) :].strip()
                return "" if rules.placeholder and text == rules.placeholder else text
        return None
