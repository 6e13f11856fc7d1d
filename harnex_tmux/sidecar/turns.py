"""What the agent's own hooks told us: prompts it accepted and turns it finished.

Hooks are exact where the screen is a guess: a prompt reported by the agent is the text it
really got, and a finished turn carries the agent's reply.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass


def _norm(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text).strip()


def same_text(typed: str, received: str) -> bool:
    """Equal up to line endings, trailing white space, and Unicode composition (Claude Code
    composes combining characters before it reports the prompt)."""
    return _norm(typed) == _norm(received)


def garbled_text(typed: str, received: str) -> bool:
    """``received`` is a damaged form of ``typed``: a part of it (a paste split into two
    prompts) or it inside more (typed onto a draft left in the input box). An unrelated
    prompt, such as one a person typed by hand, is not."""
    t, r = _norm(typed), _norm(received)
    return bool(t and r) and t != r and (r in t or t in r)


PROMPTS_KEPT = 32


@dataclass(frozen=True)
class Turn:
    number: int
    reply: str | None
    message_id: str | None
    completed_at: str


class Turns:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        # Only recent prompts are kept (they can be large); ``_dropped`` counts the older
        # ones so prompt numbers stay stable.
        self._prompts: list[str] = []
        self._dropped = 0
        self._turns: list[Turn] = []
        self.hooks_seen = False
        self._ended = False

    def end(self) -> None:
        """The agent ended: no prompt or turn can come any more, so waiters return now
        (the sidecar answers them before it exits)."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def saw_hook(self) -> None:
        with self._cond:
            self.hooks_seen = True

    @property
    def prompt_count(self) -> int:
        with self._cond:
            return self._dropped + len(self._prompts)

    def prompt_submitted(self, text: str) -> None:
        with self._cond:
            self._prompts.append(text)
            if len(self._prompts) > PROMPTS_KEPT:
                self._dropped += len(self._prompts) - PROMPTS_KEPT
                del self._prompts[:-PROMPTS_KEPT]
            self._cond.notify_all()

    def prompts_after(self, after: int) -> list[str]:
        """The prompts reported after the first ``after`` ones (as many as are kept)."""
        with self._cond:
            return self._prompts[max(0, after - self._dropped) :]

    def wait_prompt(self, after: int, timeout: float) -> str | None:
        """The first prompt reported after the first ``after`` ones, if one comes in time."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._ended or self._dropped + len(self._prompts) > after, timeout
            )
            later = self._prompts[max(0, after - self._dropped) :]
            return later[0] if later else None

    @property
    def turn_count(self) -> int:
        with self._cond:
            return len(self._turns)

    def turn_completed(self, reply: str | None, message_id: str | None, at: str) -> Turn:
        with self._cond:
            turn = Turn(len(self._turns) + 1, reply, message_id, at)
            self._turns.append(turn)
            del self._turns[:-100]  # only recent turns are ever asked for
            self._cond.notify_all()
            return turn

    def wait_turn(self, after: int, timeout: float) -> Turn | None:
        """The next turn to finish after turn number ``after``."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._ended or (bool(self._turns) and self._turns[-1].number > after),
                timeout,
            )
            later = [t for t in self._turns if t.number > after]
            return later[0] if later else None
