"""Aider's usage read from its chat history file, in the lines aider-chat 0.86.2 writes
(``io.append_chat_history`` of ``Coder.calculate_and_show_tokens_and_cost``'s report): from the
session's offset, incrementally, k-rounded counts as written, its own cost figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harnex_tmux.usage.aider import AiderReader, tokens
from harnex_tmux.usage.prices import PriceTable
from harnex_tmux.usage.session import SessionUsage
from harnex_tmux.usage.sources import Source, at_launch, from_record

# What an earlier Aider session left in the file: not this session's. Aider ends its own lines
# with the two spaces of a Markdown line break (written "~" here).
BEFORE = """
# aider chat started at 2026-12-05 09:00:00

> Aider v0.86.2~
> Model: openai/old with whole edit format~

#### an old message~

old answer

> Tokens: 9.9k sent, 99 received. Cost: $0.50 message, $0.50 session.~
""".replace("~\n", "  \n")

SESSION = """
# aider chat started at 2026-12-05 10:00:00

> Aider v0.86.2~
> Main model: openai/gpt-4o with diff edit format~
> Weak model: openai/gpt-4o-mini~

#### first line~
#### second line~

The answer.

> Tokens: 2.3k sent, 150 received. Cost: $0.01 message, $0.01 session.~

#### again~

> Tokens: 12k sent, 3.4k cache hit, 1.2k received. Cost: $0.03 message, $0.0412 session.~
> Tokens: 3.9k sent, 1.0k cache write, 2.0k cache hit, 7 received.
Cost: $0.0051 message, $0.0463 session.~
""".replace("~\n", "  \n")


def test_counts_as_aider_writes_them() -> None:
    assert [tokens(t) for t in ("950", "2.3k", "12k", "1.0k", None)] == [950, 2300, 12000, 1000, 0]


def test_reads_the_sessions_part_with_aiders_figures(tmp_path: Path) -> None:
    history = tmp_path / ".aider.chat.history.md"
    history.write_text(BEFORE)
    start = history.stat().st_size
    with history.open("a") as handle:
        handle.write(SESSION)
    calls = AiderReader(str(history), start).read()
    # Fresh input is what "sent" holds besides the cached and cache-written part.
    kinds = [(c.input, c.cached, c.cache_write, c.output, c.reasoning) for c in calls]
    assert kinds == [(2300, 0, 0, 150, 0), (8600, 3400, 0, 1200, 0), (900, 2000, 1000, 7, 0)]
    assert all(c.model == "openai/gpt-4o" for c in calls)
    # The growth of the session cost; the first call of a start its message cost. A cost on a
    # line of its own (with a cache hit and write) belongs to the call above it.
    assert [c.cost_usd for c in calls] == [0.01, 0.0312, 0.0051]
    first, second, _ = (c.turn for c in calls)
    assert first != second and calls[2].turn == second, "one turn per user message"
    assert sum(c.tokens for c in calls) == 2300 + 150 + 12000 + 1200 + 3900 + 7, "sent + received"


def test_incremental_waits_for_whole_lines_and_a_new_start_resets_the_session_cost(
    tmp_path: Path,
) -> None:
    history = tmp_path / "h.md"
    history.write_text("#### hi  \n\n> Tokens: 1.5k sent, 20 rec")
    reader = AiderReader(str(history))
    assert reader.read() == []
    with history.open("a") as handle:
        handle.write("eived. Cost: $0.02 message, $0.02 session.  \n")
    (one,) = reader.read()
    assert (one.input, one.output, one.cost_usd) == (1500, 20, 0.02)
    assert reader.read() is reader.read(), "nothing new: the same answer, nothing parsed"
    with history.open("a") as handle:  # harnex resume started Aider again
        handle.write("\n# aider chat started at x\n\n#### more  \n\n")
        handle.write("> Tokens: 10 sent, 2 received. Cost: $0.0040 message, $0.0040 session.  \n")
    assert [c.cost_usd for c in reader.read()] == [0.02, 0.004]


def test_without_a_price_the_cost_is_unknown_and_bad_lines_count_nothing(tmp_path: Path) -> None:
    history = tmp_path / "h.md"
    history.write_text(
        "#### x  \n> Tokens: 5 sent, 1 received.  \n> Tokens: lots sent\n"
        "Cost: $1.00 message, $1.00 session.\n> Tokens: -3 sent, 1 received.\n\xff\n"
    )
    (call,) = AiderReader(str(history)).read()
    assert (call.input, call.output, call.cost_usd) == (5, 1, None)
    usage = SessionUsage(PriceTable({}), [Source("aider", str(history))]).read()
    assert usage.total.cost_usd is None and usage.total.tokens == 6


def test_a_replaced_or_missing_file(tmp_path: Path) -> None:
    history = tmp_path / "h.md"
    reader = AiderReader(str(history))
    assert reader.read() == [] and reader.problems() == [f"{history}: not found"]
    history.write_text("> Tokens: 5 sent, 1 received.  \n" * 2)
    assert [c.tokens for c in reader.read()] == [6, 6] and reader.problems() == []
    other = tmp_path / "new.md"
    other.write_text("> Tokens: 7 sent, 1 received.  \n" * 3)
    other.replace(history)
    assert [c.tokens for c in reader.read()] == [8, 8, 8], "a new file: read whole"
    history.write_text("> Tokens: 9 sent, 1 received.  \n")
    assert [c.tokens for c in reader.read()] == [10], "cut shorter: read again"


def test_the_source_is_known_from_the_launch_and_kept_with_its_offset(tmp_path: Path) -> None:
    facts = {"reply_file": str(tmp_path / "h.md"), "reply_offset": 120}
    source = at_launch("aider", facts)
    assert source == Source("aider", str(tmp_path / "h.md"), offset=120)
    assert at_launch("claude", facts) is None and at_launch("aider", {}) is None
    assert from_record({"usage_sources": [source.to_dict()]}) == [source]
    bad = {"cli": "aider", "path": "h", "offset": -1}
    assert from_record({"usage_sources": [bad]}) == [Source("aider", "h")]


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.binary(max_size=60)
        | st.from_regex(r"(> )?(Tokens|Cost): [0-9.k$,a-z ]{0,40}", fullmatch=True).map(str.encode),
        max_size=12,
    )
)
def test_never_raises_on_any_line(lines: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.md"
        path.write_bytes(b"\n".join(lines) + b"\n")
        reader = AiderReader(str(path))
        for call in reader.read():
            assert min(call.input, call.cached, call.cache_write, call.output) >= 0
            assert call.cost_usd is None or call.cost_usd >= 0
        reader.problems()


@pytest.mark.parametrize("chunk", [16, 64])
def test_a_history_bigger_than_a_read_is_read_in_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    import harnex_tmux.usage.aider as aider

    monkeypatch.setattr(aider, "CHUNK", chunk)
    history = tmp_path / "h.md"
    history.write_text("> Tokens: 1 sent, 1 received.  \n" * 20)
    assert len(AiderReader(str(history)).read()) == (20 if chunk == 64 else 0)
