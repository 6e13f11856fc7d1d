"""The dashboard's pop-up screens: the message editor, the dialog answer, stop, a worktree's
diff, the new-session form, and help."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from harnex_tmux.dash.model import LOOKS, UNCONFIRMED_LOOK
from harnex_tmux.dash.source import Adapter, NewSession, check_id
from harnex_tmux.errors import HarnexError

if TYPE_CHECKING:
    from textual.widgets import TextArea

# A diff longer than this is cut (drawing it all would stall the screen); the rest is one
# ``harnex diff`` away.
DIFF_LINES_SHOWN = 5000


class SendScreen(ModalScreen[tuple[str, bool] | None]):
    """A multi-line editor; Ctrl+S sends, Escape cancels. Answers (text, wait for reply)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        # Loaded here, not with the dashboard: the editor takes some 12 ms to import, and
        # the opening does not need it.
        from textual.widgets import TextArea

        with Vertical(id="send-box", classes="box"):
            yield Label(f"Message to {self.target}  (Ctrl+S sends, Esc cancels)")
            yield TextArea(id="send-text")
            with Horizontal(classes="buttons"):
                yield Checkbox("wait for the reply", id="send-reply")
                yield Button("Send", id="send-go", variant="primary")
                yield Button("Cancel", id="send-cancel")

    def _editor(self) -> TextArea:
        from textual.widgets import TextArea

        return self.query_one("#send-text", TextArea)

    def on_mount(self) -> None:
        self._editor().focus()

    def action_send(self) -> None:
        text = self._editor().text
        if not text.strip():
            self.notify("the message is empty", severity="warning")
            return
        self.dismiss((text, self.query_one(Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send-go":
            self.action_send()
        else:
            self.action_cancel()


class AnswerScreen(ModalScreen[tuple[str, ...] | None]):
    """The keys that answer the dialog on screen: each choice is a button and a digit."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, target: str, question: str, choices: list[tuple[str, tuple[str, ...]]]
    ) -> None:
        super().__init__()
        self.target = target
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="answer-box", classes="box"):
            yield Label(f"{self.target} asks:")
            yield Static(self.question, id="answer-question", markup=False)
            for number, (label, keys) in enumerate(self.choices, 1):
                yield Button(Text(f"{number}. {label}  [{' '.join(keys)}]"), id=f"answer-{number}")

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key.isdigit() and 1 <= int(key) <= len(self.choices):
            event.stop()
            self.dismiss(self.choices[int(key) - 1][1])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        number = int(str(event.button.id).rsplit("-", 1)[1])
        self.dismiss(self.choices[number - 1][1])

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """y/Enter confirms, n/Escape does not: stopping an agent is not undone."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(self.question, markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class DiffScreen(ModalScreen[None]):
    """A worktree session's ``harnex diff``, scrollable; Escape or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,d", "close", "Close")]

    def __init__(self, target: str, diff: str) -> None:
        super().__init__()
        self.target = target
        self.diff = diff

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-box", classes="box"):
            yield Label(f"harnex diff --id {self.target}  (arrows/PgUp/PgDn scroll, Esc closes)")
            with VerticalScroll(id="diff-view"):
                yield Static(coloured_diff(self.diff, self.target), id="diff-text")

    def on_mount(self) -> None:
        self.query_one("#diff-view").focus()

    def action_close(self) -> None:
        self.dismiss(None)


def coloured_diff(diff: str, target: str) -> Text:
    """Added lines green, removed red, hunks cyan: the colours people know from git."""
    lines = diff.splitlines()
    if not lines:
        return Text("(no changes against the base yet)")
    shown = Text()
    for line in lines[:DIFF_LINES_SHOWN]:
        style = ""
        if line.startswith(("+++", "---", "diff ", "index ")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("untracked: "):
            style = "yellow"
        shown.append(line + "\n", style=style)
    if len(lines) > DIFF_LINES_SHOWN:
        more = len(lines) - DIFF_LINES_SHOWN
        shown.append(f"({more} more lines: harnex diff --id {target})", style="italic")
    return shown


class NewScreen(ModalScreen[NewSession | None]):
    """The new-session form. Enter (in a field) or Ctrl+S starts, Escape cancels; a bad id
    or command is said under its field and nothing is started. One submit only: the form
    closes with the first, so a second Enter never starts a second session."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Start"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, adapters: list[Adapter]) -> None:
        super().__init__()
        self.adapters = {a.name: a for a in adapters}
        self.done = False

    def compose(self) -> ComposeResult:
        first = next(iter(self.adapters.values()))
        choices = [
            (f"{a.name}  ({a.command or 'any program'})", a.name) for a in self.adapters.values()
        ]
        # Scrolls in a small terminal, so every field stays reachable.
        with VerticalScroll(id="new-box", classes="box"):
            yield Label("New session  (Enter or Ctrl+S starts, Esc cancels)")
            yield Select(choices, value=first.name, allow_blank=False, id="new-cli")
            yield Input(
                first.command, placeholder="the command and its arguments", id="new-command"
            )
            yield Static("", id="new-command-error", classes="error", markup=False)
            yield Input(placeholder="id (empty: a random two-word id)", id="new-id")
            yield Static("", id="new-id-error", classes="error", markup=False)
            yield Checkbox("in a new git worktree (branch harnex/<id>)", id="new-worktree")
            yield Input(placeholder="description (shown in the list)", id="new-description")
            with Horizontal(classes="buttons"):
                yield Button("Start", id="new-go", variant="primary")
                yield Button("Cancel", id="new-cancel")

    def on_mount(self) -> None:
        self.query_one("#new-id", Input).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        """The chosen CLI's own command goes in the command field (still editable)."""
        event.stop()
        chosen = self.adapters.get(str(event.value))
        if chosen is not None:
            self.query_one("#new-command", Input).value = chosen.command

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()  # the app's filter field must not see the form's typing
        if event.input.id == "new-id":
            self._checked_id()
        elif event.input.id == "new-command":
            self._checked_command()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    def _checked_id(self) -> tuple[bool, str | None]:
        error = self.query_one("#new-id-error", Static)
        try:
            ident = check_id(self.query_one("#new-id", Input).value)
        except HarnexError as exc:
            error.update(str(exc))
            return False, None
        error.update("")
        return True, ident

    def _checked_command(self) -> list[str] | None:
        import shlex

        error = self.query_one("#new-command-error", Static)
        try:
            words = shlex.split(self.query_one("#new-command", Input).value)
        except ValueError as exc:
            error.update(f"the command cannot be read: {exc}")
            return None
        if not words:
            error.update("type the command that starts the agent")
            return None
        error.update("")
        return words

    def action_start(self) -> None:
        if self.done:
            return
        good_id, ident = self._checked_id()
        command = self._checked_command()
        if not good_id or command is None:
            return
        self.done = True
        self.dismiss(
            NewSession(
                adapter=str(self.query_one("#new-cli", Select).value),
                command=command,
                ident=ident,
                worktree=self.query_one("#new-worktree", Checkbox).value,
                description=self.query_one("#new-description", Input).value.strip(),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "new-go":
            self.action_start()
        else:
            self.action_cancel()


HELP = """\
Keys (the mouse works too: click a row, a button, or a key in the footer)

  up/down, click   select a session          /   filter (Esc clears)
  s or Enter       send a message            a   answer the dialog on screen
  j                jump to its tmux window   x   stop it (asks first)
  r                recover a dead sidecar    d   diff of a worktree session
  n                start a new session       ?   this help
  q                quit

Keys that do not apply to the selected session are greyed out in the footer;
with --read-only only d, /, ? and q remain.

A key that is in flight for a session (a send, a stop) does nothing until it ends,
so a double press never sends twice.

States (the glyph reads without colour too):
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        seen: set[str] = set()
        lines = []
        for state, look in [*LOOKS.items(), ("unconfirmed message", UNCONFIRMED_LOOK)]:
            if look.word in seen:
                continue
            seen.add(look.word)
            lines.append(f"  {look.glyph}  {look.word:<12} {state}")
        with Vertical(classes="box", id="help-box"):
            yield Static(HELP + "\n".join(lines), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
