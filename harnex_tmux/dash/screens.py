"""The dashboard's pop-up screens: the message editor, the dialog answer, stop, and help."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, Static, TextArea

from harnex_tmux.dash.model import LOOKS, UNCONFIRMED_LOOK


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
        with Vertical(id="send-box", classes="box"):
            yield Label(f"Message to {self.target}  (Ctrl+S sends, Esc cancels)")
            yield TextArea(id="send-text")
            with Horizontal(classes="buttons"):
                yield Checkbox("wait for the reply", id="send-reply")
                yield Button("Send", id="send-go", variant="primary")
                yield Button("Cancel", id="send-cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_send(self) -> None:
        text = self.query_one(TextArea).text
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


HELP = """\
Keys (the mouse works too: click a row, a button, or a key in the footer)

  up/down, click   select a session          /   filter (Esc clears)
  s or Enter       send a message            a   answer the dialog on screen
  j                jump to its tmux window   x   stop it (asks first)
  r                recover a dead sidecar    ?   this help
  q                quit

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
