"""Adapter files: an agent CLI's screen described as data (TOML), checked before use.

A CLI's screen changes with its versions; the rules that read it should be a short file a
user can patch, not code. A file says which command names it matches and how its screen
shows each state::

    name = "mycli"
    commands = ["mycli"]          # command basenames it is chosen for
    submit_keys = ["Enter"]       # tmux key names
    interrupt_keys = ["Escape"]   # stop a turn, back to the prompt (a spent budget)
    settle_s = 0.15               # pause between typed text and the submit key
    dialogs_below_input = false   # if true, dialogs count only below the last input line

    [prompt]
    glyph = ">"                   # the input line starts with this
    idle_markers = ["? for help"] # ready needs one of these near the bottom ...
    empty_box_is_idle = false     # ... or, if true, an empty input line will do
    placeholder = "Ask anything"  # the hint an empty input line shows (read as empty)
    skip_blank_lines = false      # if true, blank lines do not count toward the bottom

    [prompt.box]                  # an input box with no glyph (instead of glyph)
    side = "┃"                    # the box's lines start with this ...
    bottom = "╹▀"                 # ... above a line holding this
    footer_lines = 1              # its last lines are the CLI's own, not typed text
    last_line = false             # the input line must be the screen's last line of text

    [busy]
    markers = ["esc to interrupt"]
    patterns = ['^\\s*Thinking']  # regexes, per line, near the bottom

    [[dialogs]]
    state = "confirmation"        # or "workspace-trust-prompt"
    patterns = ['Allow .*\\?']    # all must match (case-insensitive)
    keys = ["Enter"]              # what accepts it (--auto-accept, send --submit-only)
    choose = "Yes, I trust"       # the option to take, by its text: the cursor is moved there
    cursor = "❯"                  # the glyph marking the option under the cursor (default:
                                  # the prompt glyph); only with choose
    answered = ['restarting']     # any of these: the dialog is answered, still drawn

    [[stop]]                      # a graceful stop, step by step
    text = "/quit"
    keys = ["Enter"]
    wait_s = 2.0

    [paste]
    always = false                # if true, even one short line goes in as a paste
    collapsed = '\\[\\d+ lines\\]'   # a paste shown collapsed in the input line ...
    collapsed_keys = ["BSpace"]   # ... and the keys pressed then, before submitting
    pending = ["Pasting…"]        # shown near the bottom while the CLI still takes a paste:
                                  # submit waits until none shows and the input line has text
    shown = false                 # if true, submit waits until the input line has text

    [launch]
    args = ["--no-color"]         # added after the command
    env = { NO_COLOR = "1" }

    [ready]                       # the CLI's own "waiting for input" notification command
    args = ["--notify-command", "{command}"]  # added after the command; {command} becomes
                                  # a shell command that tells the sidecar the turn ended

    [reply]                       # where the turn's reply is read when [ready] reports it
    file = ".chat.md"             # the file the CLI appends to (in the git root)
    option = "--chat-file"        # the command-line option that names another file
    env = "MYCLI_CHAT_FILE"       # ... or the variable that does
    prompt_lines = '^> '          # the user's lines: the reply follows the last of them
    skip_lines = '^# '            # the CLI's own lines between them, left out of the reply

``[ready] args`` are added only when the session has hooks (not with
``HARNEX_NO_HOOKS=1``) and the command line has none of its options (``-...`` items) already:
the user's own notification command stays. Everything but ``name`` is optional. Unknown
keys, wrong types, bad regexes and unknown states are errors with one line saying where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.adapters.base import (
    DEFAULT_STOP_STEPS,
    DialogAnswer,
    State,
    StopStep,
)
from harnex_tmux.adapters.choice import moves_to
from harnex_tmux.adapters.reply_file import ReplyRule
from harnex_tmux.errors import AdapterFileError
from harnex_tmux.toml_files import read_toml

# What a ``[ready]`` argument holds where harnex's hook command goes.
READY_PLACEHOLDER = "{command}"
DIALOG_STATES = {State.TRUST.value: State.TRUST, State.CONFIRMATION.value: State.CONFIRMATION}
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
# tmux key names: words like Enter, C-c, M-Enter, BSpace, F5, or a single character.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,19}|.")


@dataclass(frozen=True)
class Dialog:
    """A dialog as the screen shows it: what marks it, and what shows it was answered."""

    state: State
    # Every pattern must match (case-insensitive) for the dialog to be recognised.
    patterns: tuple[str, ...]
    # A text that shows the dialog was answered while it is still drawn (any one matching).
    answered: tuple[str, ...] = ()

    def matches(self, screen: str) -> bool:
        return all(re.search(p, screen, re.IGNORECASE) for p in self.patterns) and not any(
            re.search(p, screen, re.IGNORECASE) for p in self.answered
        )


@dataclass(frozen=True)
class DialogRule:
    state: State
    patterns: tuple[str, ...]
    keys: tuple[str, ...] = ()
    answered: tuple[str, ...] = ()
    # The option to take, by its text, and the glyph that marks the option under the cursor.
    choose: str | None = None
    cursor: str | None = None

    @property
    def dialog(self) -> Dialog:
        return Dialog(self.state, self.patterns, self.answered)


@dataclass(frozen=True)
class BoxRule:
    """An input box drawn with no glyph: lines starting with ``side`` above a ``bottom`` line,
    whose last ``footer_lines`` lines are the CLI's own."""

    side: str
    bottom: str
    footer_lines: int = 0


@dataclass(frozen=True)
class ScreenRules:
    """What one adapter file says, checked."""

    name: str
    source: str
    commands: tuple[str, ...] = ()
    description: str = ""
    prompt_glyph: str = ">"
    idle_markers: tuple[str, ...] = ()
    empty_box_is_idle: bool = False
    placeholder: str | None = None
    skip_blank_lines: bool = False
    dialogs_below_input: bool = False
    box: BoxRule | None = None
    input_at_bottom: bool = False
    busy_markers: tuple[str, ...] = ()
    busy_patterns: tuple[str, ...] = ()
    dialogs: tuple[DialogRule, ...] = ()
    submit_keys: tuple[str, ...] = ("Enter",)
    interrupt_keys: tuple[str, ...] = ()
    settle_s: float = 0.15
    first_prompt_settles: bool = True
    stop_steps: tuple[StopStep, ...] = DEFAULT_STOP_STEPS
    types_by_paste: bool = False
    collapsed_paste: str | None = None
    collapsed_paste_keys: tuple[str, ...] = ()
    # Texts near the bottom of the screen while the CLI is still taking a paste.
    paste_pending: tuple[str, ...] = ()
    # The input line shows a paste (or its collapsed marker) once the CLI has taken it.
    paste_shown: bool = False
    launch_args: tuple[str, ...] = ()
    launch_env: dict[str, str] = field(default_factory=dict)
    ready_args: tuple[str, ...] = ()
    # How the CLI continues a conversation (``[resume] args``, put right after the program).
    resume_args: tuple[str, ...] = ()
    # Where a turn's reply text is read when the turn's end is reported (``[reply]``).
    reply: ReplyRule | None = None

    @property
    def trust_accept_keys(self) -> tuple[str, ...]:
        for rule in self.dialogs:
            if rule.state == State.TRUST and rule.keys:
                return rule.keys
        return ("Enter",)

    def declared_keys(self, state: str) -> list[tuple[str, ...]]:
        """Each distinct key sequence this file's dialog rules give for ``state`` (a state's
        name), in file order: the answers a person may choose from (the dashboard's ``a``)."""
        found: list[tuple[str, ...]] = []
        for rule in self.dialogs:
            if rule.state.value == state and rule.keys and rule.keys not in found:
                found.append(rule.keys)
        return found

    def dialog_answer(self, state: State, screen: str | None) -> DialogAnswer | None:
        """The keys that take the accepting option of the ``state`` dialog on ``screen``:
        its rule's ``choose`` line, reached from wherever the cursor is, then its ``keys``
        (or the submit keys); None when that line or the cursor is not on the screen."""
        default = self.trust_accept_keys if state == State.TRUST else self.submit_keys
        for rule in self.dialogs:
            if rule.state != state or screen is None or not rule.dialog.matches(screen):
                continue
            keys = rule.keys or default
            if rule.choose is None:
                return DialogAnswer((), keys)
            moves = moves_to(screen, rule.choose, rule.cursor or self.prompt_glyph)
            return None if moves is None else DialogAnswer(moves, keys)
        return DialogAnswer((), default)


def load_rules(path: Path) -> ScreenRules:
    """Read and check one adapter file."""
    data = read_toml(path, lambda problem: AdapterFileError(f"{path}: {problem}"))
    return parse_rules(data, str(path))


def parse_rules(data: dict[str, Any], source: str) -> ScreenRules:
    check = _Checker(source)
    check.keys(
        data,
        "",
        {"name", "commands", "description", "submit_keys", "settle_s", "first_prompt_settles"}
        | {"dialogs_below_input", "prompt", "busy", "dialogs", "stop", "paste", "launch"}
        | {"ready", "resume", "interrupt_keys", "reply"},
    )
    name = check.string(data, "name", required=True)
    if not _NAME.fullmatch(name):
        check.fail("name", "must be lower-case letters, digits, '-', '_' or '.'")
    prompt = check.table(data, "prompt")
    check.keys(
        prompt,
        "prompt",
        {"glyph", "idle_markers", "empty_box_is_idle", "placeholder", "skip_blank_lines", "box"}
        | {"last_line"},
    )
    busy = check.table(data, "busy")
    check.keys(busy, "busy", {"markers", "patterns"})
    paste = check.table(data, "paste")
    check.keys(paste, "paste", {"always", "collapsed", "collapsed_keys", "pending", "shown"})
    launch = check.table(data, "launch")
    check.keys(launch, "launch", {"args", "env"})
    env = launch.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        check.fail("launch.env", "must be a table of strings")
    ready = check.table(data, "ready")
    check.keys(ready, "ready", {"args"})
    ready_args = check.strings(ready, "args", where="ready")
    if ready and not any(READY_PLACEHOLDER in arg for arg in ready_args):
        check.fail("ready.args", f"needs an argument holding {READY_PLACEHOLDER}")
    reply = _reply(check, data)
    if reply is not None and not ready_args:
        check.fail("reply", "needs [ready]: the reply is read when the turn's end is reported")
    resume = check.table(data, "resume")
    check.keys(resume, "resume", {"args"})
    # Without {conversation} the CLI continues from what it keeps in its folder (Aider).
    resume_args = check.strings(resume, "args", where="resume")
    if resume and not resume_args:
        check.fail("resume.args", "needs at least one argument")
    glyph = check.string(prompt, "glyph", where="prompt") or ">"
    idle = check.strings(prompt, "idle_markers", where="prompt")
    empty_idle = check.boolean(prompt, "empty_box_is_idle", False, where="prompt")
    collapsed = check.regex(paste, "collapsed", where="paste")
    collapsed_keys = check.keys_list(paste, "collapsed_keys", where="paste")
    if bool(collapsed) != bool(collapsed_keys):
        check.fail("paste", "collapsed and collapsed_keys go together (the keys tidy the marker)")
    rules = ScreenRules(
        name=name,
        source=source,
        commands=check.strings(data, "commands") or (name,),
        description=check.string(data, "description"),
        prompt_glyph=glyph,
        idle_markers=idle,
        empty_box_is_idle=empty_idle,
        placeholder=check.text(prompt, "placeholder", where="prompt"),
        skip_blank_lines=check.boolean(prompt, "skip_blank_lines", False, where="prompt"),
        dialogs_below_input=check.boolean(data, "dialogs_below_input", False),
        box=_box(check, prompt),
        input_at_bottom=check.boolean(prompt, "last_line", False, where="prompt"),
        busy_markers=check.strings(busy, "markers", where="busy"),
        busy_patterns=check.regexes(busy, "patterns", where="busy"),
        dialogs=tuple(_dialogs(check, data)),
        submit_keys=check.keys_list(data, "submit_keys") or ("Enter",),
        interrupt_keys=check.keys_list(data, "interrupt_keys"),
        settle_s=check.seconds(data, "settle_s", 0.15),
        first_prompt_settles=check.boolean(data, "first_prompt_settles", True),
        stop_steps=tuple(_stop_steps(check, data)) or ScreenRules.stop_steps,
        types_by_paste=check.boolean(paste, "always", False, where="paste"),
        collapsed_paste=collapsed,
        collapsed_paste_keys=collapsed_keys,
        paste_pending=check.strings(paste, "pending", where="paste"),
        paste_shown=check.boolean(paste, "shown", False, where="paste"),
        launch_args=check.strings(launch, "args", where="launch"),
        launch_env=dict(env),
        ready_args=ready_args,
        resume_args=resume_args,
        reply=reply,
    )
    if not idle and not empty_idle:
        check.fail("prompt", "needs idle_markers or empty_box_is_idle = true, or it is never ready")
    return rules


def _reply(check: _Checker, data: dict[str, Any]) -> ReplyRule | None:
    if "reply" not in data:
        return None
    table = check.table(data, "reply")
    check.keys(table, "reply", {"file", "option", "env", "prompt_lines", "skip_lines"})
    prompt_lines = check.regex(table, "prompt_lines", where="reply")
    if prompt_lines is None:
        check.fail("reply.prompt_lines", "is missing")
    return ReplyRule(
        file=str(check.text(table, "file", required=True, where="reply")),
        prompt_lines=str(prompt_lines),
        option=check.text(table, "option", where="reply"),
        env=check.text(table, "env", where="reply"),
        skip_lines=check.regex(table, "skip_lines", where="reply"),
    )


def _box(check: _Checker, prompt: dict[str, Any]) -> BoxRule | None:
    if "box" not in prompt:
        return None
    box = check.table(prompt, "box", where="prompt")
    check.keys(box, "prompt.box", {"side", "bottom", "footer_lines"})
    side = check.text(box, "side", required=True, where="prompt.box")
    bottom = check.text(box, "bottom", required=True, where="prompt.box")
    footer = check.integer(box, "footer_lines", 0, 0, 10, where="prompt.box")
    return BoxRule(str(side), str(bottom), footer)


def _dialogs(check: _Checker, data: dict[str, Any]) -> list[DialogRule]:
    rules = []
    for index, item in enumerate(check.tables(data, "dialogs")):
        where = f"dialogs[{index}]"
        check.keys(item, where, {"state", "patterns", "keys", "answered", "choose", "cursor"})
        state = check.string(item, "state", required=True, where=where)
        if state not in DIALOG_STATES:
            check.fail(f"{where}.state", f"must be one of {sorted(DIALOG_STATES)}")
        patterns = check.regexes(item, "patterns", where=where)
        if not patterns:
            check.fail(f"{where}.patterns", "needs at least one pattern")
        keys = check.keys_list(item, "keys", where=where)
        answered = check.regexes(item, "answered", where=where)
        choose = check.text(item, "choose", where=where)
        cursor = check.text(item, "cursor", where=where)
        if cursor is not None and choose is None:
            check.fail(f"{where}.cursor", "only means something with choose")
        rules.append(
            DialogRule(
                DIALOG_STATES[state], patterns, keys, answered, choose, cursor and cursor.strip()
            )
        )
    return rules


def _stop_steps(check: _Checker, data: dict[str, Any]) -> list[StopStep]:
    steps = []
    for index, item in enumerate(check.tables(data, "stop")):
        where = f"stop[{index}]"
        check.keys(item, where, {"text", "keys", "wait_s"})
        text = check.string(item, "text", where=where)
        keys = check.keys_list(item, "keys", where=where)
        if not text and not keys:
            check.fail(where, "needs text or keys")
        steps.append(StopStep(text=text, keys=keys, wait_s=check.seconds(item, "wait_s", 1.0)))
    return steps


@dataclass
class _Checker:
    """Typed reads from parsed TOML, each failing with the file and the key's place."""

    source: str

    def fail(self, where: str, problem: str) -> None:
        raise AdapterFileError(f"{self.source}: {where}: {problem}")

    @staticmethod
    def _at(where: str, key: str) -> str:
        return f"{where}.{key}" if where else key

    def keys(self, table: dict[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            place = where or "top level"
            self.fail(place, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")

    def table(self, data: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(self._at(where, key), "must be a table")
        return dict(value)

    def tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(key, f"must be an array of tables ([[{key}]])")
        return list(value)

    def string(
        self, data: dict[str, Any], key: str, required: bool = False, where: str = ""
    ) -> str:
        if key not in data:
            if required:
                self.fail(self._at(where, key), "is missing")
            return ""
        value = data[key]
        if not isinstance(value, str):
            self.fail(self._at(where, key), "must be a string")
        return str(value)

    def text(
        self, data: dict[str, Any], key: str, required: bool = False, where: str = ""
    ) -> str | None:
        """A string that must not be empty when given; None when it is not there."""
        if key not in data and not required:
            return None
        value = self.string(data, key, required, where)
        if not value.strip():
            self.fail(self._at(where, key), "must not be empty")
        return value

    def strings(self, data: dict[str, Any], key: str, where: str = "") -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(self._at(where, key), "must be a list of non-empty strings")
        return tuple(value)

    def regexes(self, data: dict[str, Any], key: str, where: str = "") -> tuple[str, ...]:
        patterns = self.strings(data, key, where)
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.fail(self._at(where, key), f"bad regex {pattern!r}: {exc}")
        return patterns

    def regex(self, data: dict[str, Any], key: str, where: str = "") -> str | None:
        pattern = self.text(data, key, where=where)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.fail(self._at(where, key), f"bad regex {pattern!r}: {exc}")
        return pattern

    def keys_list(self, data: dict[str, Any], key: str, where: str = "") -> tuple[str, ...]:
        keys = self.strings(data, key, where)
        for name in keys:
            if not _KEY.fullmatch(name):
                self.fail(self._at(where, key), f"{name!r} is not a tmux key name")
        return keys

    def boolean(self, data: dict[str, Any], key: str, default: bool, where: str = "") -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(self._at(where, key), "must be true or false")
        return bool(value)

    def integer(
        self, data: dict[str, Any], key: str, default: int, low: int, high: int, where: str = ""
    ) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(self._at(where, key), f"must be a whole number from {low} to {high}")
        return int(value)

    def seconds(self, data: dict[str, Any], key: str, default: float, where: str = "") -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
            self.fail(self._at(where, key), "must be a number of seconds from 0 to 60")
        return float(value)
