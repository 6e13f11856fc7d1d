"""The MCP layer's wording: the library's CLI messages come out naming tool arguments, never
a flag an MCP caller did not type; the CLI keeps its own wording."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from pydantic import BaseModel, ValidationError

from harnex_tmux.errors import HarnexError
from harnex_tmux.mcp.wording import argument_error, in_tool_terms
from harnex_tmux.reporting import spawner_pane
from harnex_tmux.session.events import parse_since
from harnex_tmux.state import normalize_id
from harnex_tmux.waits import check_until

FLAG = re.compile(r"(?<![\w-])--[a-z]")


def message_of(call: Callable[[], object]) -> str:
    with pytest.raises(HarnexError) as caught:
        call()
    return str(caught.value)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: parse_since("soon"), "since 'soon' is not an ISO-8601 time"),
        (lambda: check_until("sideways"), "until must be one of "),
        (lambda: normalize_id("  "), "id must not be empty"),
        (lambda: spawner_pane(None, {}), "name one with the pane argument (like %3)"),
    ],
)
def test_library_messages_name_arguments_not_flags(
    call: Callable[[], object], expected: str
) -> None:
    cli = message_of(call)
    assert FLAG.search(cli), cli  # the CLI's own line is unchanged
    tool = in_tool_terms(cli)
    assert expected in tool and not FLAG.search(tool), tool


@pytest.mark.parametrize(
    "line",
    [
        "several sessions in /r (a, b); pick one with --id",
        "id 'w' exists in several repos (/a, /b); use --repo",
        "the agent of session 'w' still runs (its sidecar died): harnex recover --id w gives "
        "it a new one",
        "started fresh, as asked (--fresh)",
    ],
)
def test_lookup_messages_name_arguments_not_flags(line: str) -> None:
    assert not FLAG.search(in_tool_terms(line))


def test_a_message_without_flags_is_left_alone() -> None:
    line = "no session 'nope' in /repo; it ran --verbose"  # not one of the table's flags
    assert in_tool_terms("no session 'nope' in /repo") == "no session 'nope' in /repo"
    assert in_tool_terms(line) == line


class Arguments(BaseModel):
    timeout: float
    lines: int
    name: str


def test_a_refused_argument_is_one_line_naming_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Arguments.model_validate({"timeout": "soon", "lines": 1})
    line = argument_error(caught.value)
    assert line == "argument 'timeout' must be a number; argument 'name' is required"
