"""Small helpers for driving an agent CLI in a private tmux server: read the screen, wait for a
state, paste text, and the screen texts of each CLI's states (see shared/AGENT-SCREENS.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import libtmux

from harnex_tmux.adapters.choice import moves_to


class TmuxError(RuntimeError):
    pass


def tmux(server: libtmux.Server, *args: str) -> list[str]:
    """Run one tmux command on ``server``; raise :class:`TmuxError` if tmux complains."""
    result = server.cmd(*args)
    if result.stderr:
        raise TmuxError(f"tmux {' '.join(args)}: {' '.join(result.stderr)}")
    return list(result.stdout)


def capture(server: libtmux.Server, pane_id: str) -> str:
    """The visible screen of ``pane_id`` as text (wrapped lines kept as they are shown)."""
    return "\n".join(tmux(server, "capture-pane", "-p", "-t", pane_id))


def wait_for_screen(
    server: libtmux.Server,
    pane_id: str,
    predicate: Callable[[str], bool],
    what: str,
    timeout: float = 60.0,
    interval: float = 0.1,
) -> str:
    """Poll the screen until ``predicate(screen)`` holds; return that screen.

    On timeout the assertion error shows the last screen, which is usually all it takes to see
    why (an unexpected dialog, an error message).
    """
    deadline = time.monotonic() + timeout
    screen = ""
    while True:
        screen = capture(server, pane_id)
        if predicate(screen):
            return screen
        dead, status, _signal = pane_state(server, pane_id)
        if dead:
            raise AssertionError(
                f"pane {pane_id} died (status {status!r}) while waiting for {what}; "
                f"last screen:\n{screen}"
            )
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}; last screen:\n{screen}"
            )
        time.sleep(interval)


def answer_dialog(
    server: libtmux.Server,
    pane_id: str,
    showing: Callable[[str], bool],
    key: str = "Enter",
    timeout: float = 30.0,
    retry_after: float = 2.0,
    choose: tuple[str, str] | None = None,
) -> None:
    """Press ``key`` until the dialog that ``showing`` recognises has gone.

    A dialog can be on screen a moment before it takes keys (Codex's folder-trust dialog once
    ignored an Enter sent right after it appeared), so one press is not enough.

    ``choose`` is ``(option text, cursor glyph)``: before each press the cursor is moved onto
    that option, as harnex's adapters do (harnex_tmux/adapters/choice.py), and ``key`` goes
    only once the screen shows it there. Claude Code 2.1.332 lists "No, exit" first in its
    trust dialog with the cursor on it, so an Enter alone would decline.
    """
    deadline = time.monotonic() + timeout
    while True:
        if choose is not None:
            _move_onto(server, pane_id, showing, *choose, deadline)
        send_keys(server, pane_id, key)
        retry = time.monotonic() + retry_after
        while time.monotonic() < retry:
            if not showing(capture(server, pane_id)):
                return
            time.sleep(0.1)
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"the dialog stayed after {timeout:.0f}s of pressing {key}; last screen:\n"
                f"{capture(server, pane_id)}"
            )


def _move_onto(
    server: libtmux.Server,
    pane_id: str,
    showing: Callable[[str], bool],
    option: str,
    cursor: str,
    deadline: float,
) -> None:
    """Move the dialog's ``cursor`` onto ``option``; return once the screen shows it there
    (or the dialog has gone)."""
    while True:
        screen = capture(server, pane_id)
        if not showing(screen):
            return
        moves = moves_to(screen, option, cursor)
        if moves == ():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"the cursor {cursor!r} did not reach {option!r}; last screen:\n{screen}"
            )
        if moves:
            send_keys(server, pane_id, *moves)
        time.sleep(0.3)


def pane_state(server: libtmux.Server, pane_id: str) -> tuple[bool, str, str]:
    """``(dead, exit status, signal)`` of a pane (needs ``remain-on-exit on`` to see the dead)."""
    out = tmux(
        server,
        "display-message",
        "-p",
        "-t",
        pane_id,
        "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}",
    )
    dead, status, signal = (out[0] if out else "0||").split("|")
    return dead == "1", status, signal


def wait_for_exit(
    server: libtmux.Server, pane_id: str, timeout: float = 20.0, status_file: Path | None = None
) -> str:
    """Wait until the pane's program exited; return its exit status as text.

    With ``status_file`` (see :meth:`agents.AgentLaunch.shell_command`) the status is read from
    that file. Without it, tmux's ``#{pane_dead_status}`` is used, which tmux 3.3a sometimes
    never fills in: when the pane's terminal closes before tmux handles the child's exit, the
    pane shows as dead but its status stays empty for good (seen with Claude Code about one
    time in four, and with ``true`` now and then). Then ``""`` is returned, or
    ``"signal N"`` when tmux saw a signal.
    """
    deadline = time.monotonic() + timeout
    while not pane_state(server, pane_id)[0]:
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"pane {pane_id} still running {timeout:.0f}s after quitting; screen:\n"
                f"{capture(server, pane_id)}"
            )
        time.sleep(0.1)
    settle = time.monotonic() + 2.0
    while True:
        if status_file is not None:
            try:
                text = status_file.read_text().strip()
            except FileNotFoundError:
                text = ""
            if text:
                return text
        else:
            _dead, status, signal = pane_state(server, pane_id)
            if status or signal:
                return status if status or not signal else f"signal {signal}"
        if time.monotonic() >= settle:
            return ""
        time.sleep(0.05)


def paste(server: libtmux.Server, pane_id: str, text: str, scratch_dir: Path) -> None:
    """Type ``text`` into the pane as one bracketed paste (load-buffer + paste-buffer -p)."""
    name = f"harnex-e2e-{uuid.uuid4().hex[:8]}"
    path = scratch_dir / f"{name}.txt"
    path.write_bytes(text.encode())
    try:
        tmux(server, "load-buffer", "-b", name, str(path))
        tmux(server, "paste-buffer", "-p", "-d", "-b", name, "-t", pane_id)
    finally:
        path.unlink(missing_ok=True)


def send_keys(server: libtmux.Server, pane_id: str, *keys: str, literal: bool = False) -> None:
    """``send-keys`` (key names like ``Enter``; with ``literal`` the text as typed characters)."""
    tmux(server, "send-keys", "-t", pane_id, *(["-l"] if literal else []), *keys)


@dataclass(frozen=True)
class AgentScreens:
    """What each state of one CLI looks like on screen (observed; see AGENT-SCREENS.md)."""

    trust_dialog: tuple[str, ...]
    """All of these texts are on screen while the folder-trust dialog waits for Enter."""
    idle_markers: tuple[str, ...]
    """One of these is on screen when the CLI sits at its prompt (busy or not)."""
    prompt_prefix: str
    """The input line starts with this glyph (capture-pane drops the trailing space)."""
    busy_marker: str
    """On screen while a turn runs."""
    quit_command: str
    trust_choice: tuple[str, str] | None = None
    """The trust dialog's accepting option and the cursor glyph, when the cursor must be
    moved there (see :func:`answer_dialog`); None: Enter takes it."""

    def shows_trust_dialog(self, screen: str) -> bool:
        return all(t in screen for t in self.trust_dialog)

    def is_idle(self, screen: str) -> bool:
        """At the prompt and not busy: the glyph alone never means ready."""
        has_prompt = any(
            line.lstrip().startswith(self.prompt_prefix) for line in screen.splitlines()
        )
        return (
            has_prompt
            and any(marker in screen for marker in self.idle_markers)
            and self.busy_marker not in screen
            and not self.shows_trust_dialog(screen)
        )

    def is_busy(self, screen: str) -> bool:
        return self.busy_marker in screen


CLAUDE_SCREENS = AgentScreens(
    trust_dialog=("Is this a project you created or one you trust?", "Yes, I trust this folder"),
    # 2.1.332's default permission mode, auto, shows "⏵⏵ auto mode on" in the footer's place.
    idle_markers=("? for shortcuts", "auto mode on"),
    prompt_prefix="❯",
    busy_marker="esc to interrupt",
    quit_command="/exit",
    # 2.1.197 puts the cursor on it; 2.1.332 on "No, exit", listed first.
    trust_choice=("Yes, I trust this folder", "❯"),
)

CODEX_SCREENS = AgentScreens(
    trust_dialog=("Trust this folder?", "Trust and continue"),
    idle_markers=("? for shortcuts",),
    prompt_prefix="›",
    busy_marker="esc to interrupt",
    quit_command="/quit",
)

QWEN_SCREENS = AgentScreens(
    # Only with folder trust turned on (agents.qwen_launch(trust_dialog=True)).
    trust_dialog=("Do you trust this folder?", "1. Trust folder"),
    # The approval-mode line under the input box: "⏸ Ask permissions (shift + tab to cycle)".
    idle_markers=("(shift + tab to cycle)",),
    prompt_prefix=">",
    # The spinner line: "⠙ Preparing a witty response... (2s · esc to cancel)".
    busy_marker="esc to cancel",
    quit_command="/quit",
)

CLAUDE_API_KEY_DIALOG = ("Detected a custom API key in your environment", "use this API key?")
"""Claude's dialog when ``ANTHROPIC_API_KEY`` is not pre-approved (default answer: No; Up,
Enter picks Yes). ``agents.claude_launch(approve_api_key=True)``, the default, skips it."""

SCREENS: dict[str, AgentScreens] = {
    "claude": CLAUDE_SCREENS,
    "codex": CODEX_SCREENS,
    "qwen": QWEN_SCREENS,
}
