"""A dialog's option taken by its text (``[[dialogs]] choose``), not by where it sits.

Claude Code 2.1.197 lists "Yes, I trust this folder" first with the cursor on it; 2.1.332
lists "No, exit" first with the cursor there, so an Enter alone declines and Claude Code
quits. The screens are the real ones (tests/screens/claude-*/), and the fake pane below
moves its cursor and takes Enter as the CLI does, so a wrong key ends on the wrong screen.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from conftest import Harnex, user_cli

from harnex_tmux.adapters import adapter_for
from harnex_tmux.adapters.base import DialogAnswer, Observation, State
from harnex_tmux.adapters.choice import moves_to
from harnex_tmux.adapters.rules import parse_rules
from harnex_tmux.errors import AdapterFileError
from harnex_tmux.events import EventLog
from harnex_tmux.foreground import TerminalUse
from harnex_tmux.sidecar.delivery import Deliverer
from harnex_tmux.sidecar.dialog_keys import answer_dialog
from harnex_tmux.sidecar.inbox import Inbox, Message
from harnex_tmux.sidecar.ledger import Ledger
from harnex_tmux.sidecar.output_clock import OutputClock
from harnex_tmux.sidecar.readiness import Readiness
from harnex_tmux.tmux import CursorLine

SCREENS = Path(__file__).with_name("screens")
IDLE = "─" * 20 + "\n❯\n" + "─" * 20 + "\n  ? for shortcuts\n"
DECLINED = "Claude Code didn't start because this folder isn't trusted.\n"


def _screen(version: str, name: str = "trust-dialog") -> str:
    return (SCREENS / f"claude-{version}" / f"{name}.txt").read_text(encoding="utf-8")


class DialogPane:
    """Claude Code's trust dialog as a pane: Up and Down move the cursor between the two
    saved screens of a release, Enter takes the option under it (trusted: the prompt;
    declined: the exit message)."""

    def __init__(self, version: str, yes_first: bool) -> None:
        self.typing = threading.Lock()
        self.first, self.second = _screen(version), _screen(version, "trust-dialog-after-down")
        self.cursor_on_yes = {self.first: yes_first, self.second: not yes_first}
        self.screen = self.first
        self.keys: list[str] = []

    def send_keys(self, *keys: str) -> None:
        for key in keys:
            self.keys.append(key)
            if key == "Down" and self.screen == self.first:
                self.screen = self.second
            elif key == "Up" and self.screen == self.second:
                self.screen = self.first
            elif key == "Enter" and self.screen in self.cursor_on_yes:
                self.screen = IDLE if self.cursor_on_yes[self.screen] else DECLINED

    def capture_screen(self) -> str | None:
        return self.screen

    def type_text(self, text: str) -> None:
        raise AssertionError(f"nothing is typed at a dialog, got {text!r}")

    def paste(self, text: str) -> None:
        self.type_text(text)

    def cursor_line(self) -> CursorLine | None:
        return None

    def terminal_use(self) -> TerminalUse:
        return TerminalUse.UNKNOWN


@pytest.mark.parametrize(
    ("version", "name", "moves"),
    [
        ("2.1.197", "trust-dialog", ()),
        ("2.1.197", "trust-dialog-after-down", ("Up",)),
        ("2.1.332", "trust-dialog", ("Down",)),
        ("2.1.332", "trust-dialog-after-down", ()),
    ],
)
def test_the_trust_option_is_reached_from_where_the_cursor_is(
    version: str, name: str, moves: tuple[str, ...]
) -> None:
    claude = adapter_for("claude")
    screen = _screen(version, name)
    assert claude.detect(Observation(screen=screen, quiet_for=0.0)) == State.TRUST
    assert claude.dialog_answer(State.TRUST, screen) == DialogAnswer(moves, ("Enter",))


@pytest.mark.parametrize(("version", "yes_first"), [("2.1.197", True), ("2.1.332", False)])
def test_auto_accept_trusts_the_folder_on_both_releases(version: str, yes_first: bool) -> None:
    pane, lines = DialogPane(version, yes_first), list[str]()
    with pane.typing:
        assert answer_dialog(pane, adapter_for("claude"), State.TRUST, lines.append)
    assert pane.screen == IDLE, pane.screen
    assert pane.keys == (["Enter"] if yes_first else ["Down", "Enter"])


@pytest.mark.parametrize(("version", "yes_first"), [("2.1.197", True), ("2.1.332", False)])
def test_submit_only_at_the_trust_dialog_trusts_on_both_releases(
    tmp_path: Path, version: str, yes_first: bool
) -> None:
    inbox = Inbox(tmp_path / "inbox.jsonl", ttl_s=60)
    readiness = Readiness()
    ledger = Ledger(inbox, EventLog(tmp_path / "events.jsonl", "s1"), readiness)
    pane = DialogPane(version, yes_first)
    deliverer = Deliverer(
        adapter=adapter_for("claude"),
        pane=pane,
        clock=OutputClock(),
        ledger=ledger,
        readiness=readiness,
        log=lambda line: None,
    )
    message = inbox.add(Message(text="", submit=False, enter_only=True))
    deliverer.deliver(message)
    assert message.status == "delivered" and pane.screen == IDLE


def test_nothing_is_pressed_when_the_option_is_not_on_the_screen() -> None:
    """A dialog still being drawn (or worded otherwise): a key then would be a guess."""
    half = _screen("2.1.332").replace("Yes, I trust this folder", "")
    pane, lines = DialogPane("2.1.332", False), list[str]()
    pane.screen = half
    assert adapter_for("claude").dialog_answer(State.TRUST, half) is None
    assert not answer_dialog(pane, adapter_for("claude"), State.TRUST, lines.append)
    assert pane.keys == [] and "not on the screen" in lines[0]


def test_the_confirm_key_waits_for_the_cursor_to_show_on_the_option() -> None:
    """A CLI that has not redrawn after the move: Enter would take the old option."""
    pane, lines = DialogPane("2.1.332", False), list[str]()
    pane.send_keys = lambda *keys: pane.keys.extend(keys)  # type: ignore[method-assign]
    assert not answer_dialog(pane, adapter_for("claude"), State.TRUST, lines.append)
    assert pane.keys == ["Down"] and "did not reach" in lines[-1]


@pytest.mark.parametrize(
    ("screen", "wanted", "moves"),
    [
        # Numbered options count by their numbers, so a wrapped option is one step.
        (
            "│ › 1. Allow\n│   2. Allow always, for every file\n│      in this folder\n│   3. Deny",
            "Deny",
            ("Down", "Down"),
        ),
        ("  1. Allow\n  2. Allow always\n ❯ 3. Deny", "1. Allow", ("Up", "Up")),
        # Unnumbered: every non-blank line between is one option.
        ("  Keep\n  Drop\n ❯ Cancel", "Keep", ("Up", "Up")),
        ("❯ Cancel\n  Keep", "keep", ("Down",)),
        ("  Keep\n  Drop", "Keep", None),  # no cursor on screen
    ],
)
def test_moves_from_the_cursor_to_the_wanted_line(
    screen: str, wanted: str, moves: tuple[str, ...] | None
) -> None:
    cursor = "›" if "›" in screen else "❯"
    assert moves_to(screen, wanted, cursor) == moves


@pytest.mark.parametrize(
    ("dialog", "problem"),
    [
        ({"cursor": "❯"}, "only means something with choose"),
        ({"choose": " "}, "must not be empty"),
        ({"choose": 3}, "must be a string"),
    ],
)
def test_a_bad_choose_is_a_clean_error(dialog: dict[str, object], problem: str) -> None:
    data = {
        "name": "x",
        "prompt": {"empty_box_is_idle": True},
        "dialogs": [{"state": "workspace-trust-prompt", "patterns": ["trust"], **dialog}],
    }
    with pytest.raises(AdapterFileError, match=problem):
        parse_rules(data, "x.toml")


@pytest.mark.parametrize(
    ("name", "moves"),
    [("auto-mode-offer", ("Down",)), ("auto-mode-offer-after-down", ())],
)
def test_the_auto_mode_offer_is_a_dialog_answered_by_keeping_the_users_mode(
    name: str, moves: tuple[str, ...]
) -> None:
    """Claude Code 2.1.332 asks once, at launch, whether to make `auto` the default mode of a
    user whose settings name another one. Read as anything but a dialog, a message would be
    typed into it (its options sat where the input line is looked for); answered, harnex
    keeps the mode the user set rather than rewriting their settings."""
    claude = adapter_for("claude")
    screen = _screen("2.1.332", name)
    assert claude.detect(Observation(screen=screen, quiet_for=0.0)) == State.CONFIRMATION
    assert claude.dialog_answer(State.CONFIRMATION, screen) == DialogAnswer(moves, ("Enter",))


# A CLI whose trust dialog is drawn before it has finished starting (as Claude Code 2.1.332's
# is), described by a user adapter file.
SLOWTRUST = """
name = "slowtrust"
commands = ["slowtrust"]

[prompt]
glyph = "trust>"
empty_box_is_idle = true

[[dialogs]]
state = "workspace-trust-prompt"
patterns = ['trust this folder']
choose = "Yes, I trust this folder"
cursor = "❯"
"""


def test_auto_accept_waits_until_the_dialog_holds_still(harnex: Harnex, tmp_path: Path) -> None:
    """Keys pressed while the CLI still starts are undone by its next drawing of the dialog
    (an Enter then declines and the CLI quits): --auto-accept answers once it held still."""
    agent = Path(__file__).with_name("slow_trust_agent.py")
    env = user_cli(harnex, tmp_path, SLOWTRUST, f"{sys.executable} {agent} --starting 0.6")
    harnex.json("run", "--id", "slow", "--detach", "--auto-accept", "slowtrust", env=env)
    ready = harnex.run("wait", "--id", "slow", "--until", "prompt", "--timeout", "30", env=env)
    screen = harnex.run("pane", "--id", "slow", env=env).stdout
    assert ready.returncode == 0, ready.stderr + screen
    assert "trusted" in screen
