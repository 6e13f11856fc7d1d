"""Errors in the tool's own terms: an MCP caller typed arguments, not command-line flags.

The library's messages are written for the CLI (``pick one with --id``, ``--from 'x' is not
an ISO-8601 time``); the CLI keeps them. At the MCP layer they pass through one small table
that names the tool argument instead, and a refused argument (wrong type, out of range,
missing) becomes one line naming it, in place of the schema library's multi-line report.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

# CLI wording -> MCP wording. Each pattern matches the flag as the library's messages use it.
_CLI_TERMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"pick one with --id\b"), "pick one with the id argument"),
    (re.compile(r"; use --repo\b"), "; start harnex mcp in the repo you mean"),
    (re.compile(r"^--id must not be empty"), "id must not be empty"),
    (re.compile(r"^--from (?=')"), "since "),
    (re.compile(r"^--until must be one of"), "until must be one of"),
    (re.compile(r"name one with --pane %N"), "name one with the pane argument (like %3)"),
    (re.compile(r"\(pick another with --worktree NAME\)"), "(pick another id)"),
    (re.compile(r"harnex recover --id \S+ gives"), "the command harnex recover gives"),
    (re.compile(r"\(--fresh\)"), "(fresh)"),
    (
        re.compile(r"\(harnex budget --id (\S+) --add (\S+)\)"),
        r"(the budget tool with id \1 and add \2 lets it go on)",
    ),
)


def in_tool_terms(message: str) -> str:
    """``message`` with the CLI flags it names replaced by the MCP arguments they are."""
    for pattern, replacement in _CLI_TERMS:
        message = pattern.sub(replacement, message)
    return message


_KINDS = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list of strings",
    "finite_number": "a finite number",
}
_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def _one(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "arguments"
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "missing":
        return f"argument {where!r} is required"
    if kind in _KINDS:
        return f"argument {where!r} must be {_KINDS[kind]}"
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        bound = context.get(key)
        shown = f"{bound:g}" if isinstance(bound, int | float) else bound
        return f"argument {where!r} must be {words} {shown}"
    if kind == "literal_error":
        return f"argument {where!r} must be one of {context.get('expected')}"
    # Anything rarer: the library's own one-line text, without its links.
    text = str(error.get("msg", "is not valid"))
    return f"argument {where!r}: {text[:1].lower()}{text[1:]}"


def argument_error(exc: ValidationError) -> str:
    """One line naming each refused argument (values are not echoed back)."""
    return "; ".join(_one(error) for error in exc.errors(include_url=False))
