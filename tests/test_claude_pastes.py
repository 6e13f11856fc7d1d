"""Claude Code's pasted-content wrapper (2.1.332): a long paste reaches the model, and the
``UserPromptSubmit`` hook, inside ``<pasted_content id="…">`` tags. The text inside is what
was typed, so the hook's prompt is read as that text and the message is proven delivered,
the same on every run; anything else in the prompt still makes it differ."""

from __future__ import annotations

import pytest

from harnex_tmux.adapters import adapter_for
from harnex_tmux.adapters.claude_pastes import unwrap_pastes, wrapped
from harnex_tmux.sidecar.turns import same_text

TEXT = "\n".join(f"line {i:02d}: ünï 日本 🚀 C-c Enter ; $(id)" for i in range(30))
# As the mock model server got it from Claude Code 2.1.332 (the 30-line e2e message).
WRAPPED = f'\n\n<pasted_content id="5491">\n{TEXT}\n</pasted_content id="5491">\n'


def test_the_text_inside_the_tags_is_the_typed_text() -> None:
    assert wrapped(WRAPPED) and not wrapped(TEXT)
    assert unwrap_pastes(WRAPPED) == TEXT


def test_the_hook_reports_the_unwrapped_prompt() -> None:
    report = adapter_for("claude").read_hook("UserPromptSubmit", {"prompt": WRAPPED})
    assert report is not None and report.kind == "prompt"
    assert report.text == TEXT and same_text(TEXT, report.text)


@pytest.mark.parametrize(
    ("prompt", "typed"),
    [
        # Typed words before a paste: Claude Code puts a blank line between them.
        (
            'look:\n\n<pasted_content id="00af">\na\nb\nc\n</pasted_content id="00af">\n',
            "look:a\nb\nc",
        ),
        # Its own tag inside a paste is escaped, and comes back as it was typed.
        (
            '\n\n<pasted_content id="1234">\nsee <\\/pasted_content id="1234"> here\n'
            '</pasted_content id="1234">\n',
            'see </pasted_content id="1234"> here',
        ),
    ],
)
def test_unwrap_keeps_what_is_around_and_undoes_the_escape(prompt: str, typed: str) -> None:
    assert unwrap_pastes(prompt) == typed


@pytest.mark.parametrize(
    "prompt",
    [
        # Ids that differ, or are not four hex digits: not Claude Code's block, left alone.
        '<pasted_content id="5491">\nx\n</pasted_content id="5492">\n',
        '<pasted_content id="zz91">\nx\n</pasted_content id="zz91">\n',
    ],
)
def test_anything_but_the_exact_wrapper_is_left_alone(prompt: str) -> None:
    assert unwrap_pastes(prompt) == prompt
    assert not same_text("x", unwrap_pastes(prompt))


def test_a_different_text_in_the_tags_still_differs() -> None:
    report = adapter_for("claude").read_hook(
        "UserPromptSubmit", {"prompt": WRAPPED.replace("line 07", "line 7")}
    )
    assert report is not None and not same_text(TEXT, report.text or "")
