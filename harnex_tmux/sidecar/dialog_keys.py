"""Answering a dialog the way its adapter says: the cursor moved onto the wanted option,
then the confirming key once the screen shows it there.

Both the main loop (``--auto-accept`` at the folder-trust dialog) and the deliverer
(``send --submit-only`` at a dialog) answer dialogs. The keys come from the screen each
time (:meth:`Adapter.dialog_answer`), and the confirming key waits until the cursor is seen
on the wanted line: a CLI that gets the move and the Enter in one read can act on the
Enter with the option that was under the cursor before.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from harnex_tmux.adapters.base import Adapter, Observation, State
from harnex_tmux.sidecar.pane import Pane

# How long the cursor gets to show on the wanted option after the moves, and how often the
# screen is looked at meanwhile.
MOVE_WAIT_S = 2.0
MOVE_POLL_S = 0.05


def answer_dialog(pane: Pane, adapter: Adapter, state: State, log: Callable[[str], None]) -> bool:
    """Press the keys that take the ``state`` dialog's accepting option (the caller holds
    ``pane.typing``). False when nothing was confirmed: the option is not on the screen, or
    the cursor did not get there; the next call reads the screen afresh."""
    answer = adapter.dialog_answer(state, pane.capture_screen() if adapter.reads_screen else None)
    if answer is None:
        log(f"the {state.value} dialog's option to choose is not on the screen; nothing pressed")
        return False
    if answer.moves:
        pane.send_keys(*answer.moves)
        deadline = time.monotonic() + MOVE_WAIT_S
        while True:
            time.sleep(MOVE_POLL_S)
            screen = pane.capture_screen()
            if adapter.detect(Observation(screen=screen, quiet_for=0.0)) != state:
                log(f"the {state.value} dialog went while its cursor moved; nothing confirmed")
                return False
            now = adapter.dialog_answer(state, screen)
            if now is not None and not now.moves:
                break
            if time.monotonic() >= deadline:
                log(f"the {state.value} dialog's cursor did not reach the option to choose")
                return False
    pane.send_keys(*answer.keys)
    return True
