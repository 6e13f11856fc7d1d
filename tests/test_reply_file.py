"""A turn's reply read from the file a CLI appends its conversation to (``[reply]``), as
Aider writes it: where the file is, what of it is the reply, and reading on from the last
turn (a file cut short or replaced is read from its start)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harnex_tmux.adapters import adapter_for
from harnex_tmux.adapters.reply_file import ReplyFile, ReplyRule, git_root, reply_in
from harnex_tmux.adapters.rules import parse_rules
from harnex_tmux.adapters.screen import FACT_REPLY_FILE, FACT_REPLY_OFFSET
from harnex_tmux.errors import AdapterFileError

AIDER = adapter_for("aider")
RULE = AIDER.rules.reply  # type: ignore[attr-defined]

# One turn as Aider 0.86.2 appends it (io.user_input, io.tool_output, io.ai_output).
TURN = (
    "\n#### fix the bug  \n#### in two lines  \n"
    "\nThe fix:\n\n> quoted in the answer\n#### A heading of the answer\ndone.\n\n"
    "> Tokens: 2.1k sent, 40 received.  \n"
    ">  \n"
)
REPLY = "The fix:\n\n> quoted in the answer\n#### A heading of the answer\ndone."


def test_aiders_file_says_where_and_how() -> None:
    assert isinstance(RULE, ReplyRule)
    assert RULE.file == ".aider.chat.history.md" and RULE.option == "--chat-history-file"


def test_the_reply_is_what_follows_the_message_less_aiders_own_lines() -> None:
    assert RULE is not None
    assert reply_in(TURN, RULE) == REPLY
    # A command (/add) answered by Aider alone: no reply.
    assert reply_in("\n#### /add x.py  \n> Added x.py to the chat  \n", RULE) is None
    # What came before the last message (an earlier turn, a restarted sidecar) is not it.
    assert reply_in("\n#### one  \n\nfirst answer\n\n" + TURN, RULE) == REPLY


def test_the_file_is_in_the_git_root_unless_named(tmp_path: Path) -> None:
    assert RULE is not None
    (tmp_path / ".git").mkdir()
    deep = tmp_path / "src" / "deep"
    deep.mkdir(parents=True)
    assert git_root(deep) == tmp_path
    assert RULE.path_for(["aider"], {}, str(deep)) == tmp_path / ".aider.chat.history.md"
    named = ["aider", "--chat-history-file", "notes.md"]
    assert RULE.path_for(named, {}, str(deep)) == deep / "notes.md"
    assert RULE.path_for(["aider", "--chat-history-file=/x/h.md"], {}, str(deep)) == Path("/x/h.md")
    env = {"AIDER_CHAT_HISTORY_FILE": "/y/h.md"}
    assert RULE.path_for(["aider"], env, str(deep)) == Path("/y/h.md")
    assert RULE.path_for(named, env, str(deep)) == deep / "notes.md", "the option wins"


def test_each_turn_reads_on_from_the_last(tmp_path: Path) -> None:
    assert RULE is not None
    history = tmp_path / "history.md"
    history.write_text("# aider chat started at 2026-01-01 00:00:00\n")
    reader = ReplyFile(RULE, history, history.stat().st_size)
    with history.open("a") as handle:
        handle.write(TURN)
    assert reader.turn_reply() == REPLY
    assert reader.turn_reply() is None, "nothing new: no reply"
    with history.open("a") as handle:
        handle.write("\n#### next  \n\nsecond answer\n\n")
    assert reader.turn_reply() == "second answer"
    # Cut short (or replaced): read from its start.
    history.write_text("\n#### again  \n\nthird answer\n\n")
    assert reader.turn_reply() == "third answer"
    history.unlink()
    assert reader.turn_reply() is None


def test_the_adapter_follows_the_file_from_the_launch(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    history = tmp_path / ".aider.chat.history.md"
    history.write_text("\n#### from an earlier session  \n\nold answer\n\n")
    adapter = adapter_for("aider")
    adapter.launch_argv(["aider"], None, {})
    facts = adapter.session_facts(str(tmp_path))
    assert facts == {FACT_REPLY_FILE: str(history), FACT_REPLY_OFFSET: history.stat().st_size}
    adapter.start_watching(facts, lambda event, payload: None)
    assert adapter.read_hook("ready", {}) is not None
    with history.open("a") as handle:
        handle.write(TURN)
    report = adapter.read_hook("ready", {})
    assert report is not None and report.kind == "turn" and report.text == REPLY


def test_a_reply_table_needs_ready_and_its_regexes() -> None:
    base = {"name": "x", "prompt": {"empty_box_is_idle": True}}
    reply = {"file": "h.md", "prompt_lines": "^> "}
    with pytest.raises(AdapterFileError, match="reply: needs \\[ready\\]"):
        parse_rules({**base, "reply": reply}, "x.toml")
    ready = {"args": ["--notify", "{command}"]}
    with pytest.raises(AdapterFileError, match=r"reply\.prompt_lines: is missing"):
        parse_rules({**base, "ready": ready, "reply": {"file": "h.md"}}, "x.toml")
    with pytest.raises(AdapterFileError, match=r"reply\.skip_lines: bad regex"):
        parse_rules({**base, "ready": ready, "reply": {**reply, "skip_lines": "("}}, "x.toml")
    rules = parse_rules({**base, "ready": ready, "reply": reply}, "x.toml")
    assert rules.reply == ReplyRule(file="h.md", prompt_lines="^> ")
