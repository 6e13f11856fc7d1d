"""Every ``harnex ...`` command shown in a fenced block of the skills, the guide, the recipes
and the README must parse with the real CLI, so the docs cannot describe commands or flags that
do not exist (or values a flag would reject).

Commands are parsed with click's ``make_context`` on the real command objects, which checks
names, options and value types without running anything. ``<placeholders>`` become a plain
word; shell variables such as ``$HARNEX_ID`` stay as they are, which is fine for a value.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from harnex_tmux.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [
        *(ROOT / "skills").glob("*/SKILL.md"),
        *(ROOT / "harnex_tmux" / "data").glob("*.md"),
        ROOT / "README.md",
    ]
)
# Fences whose lines are shell or plain text; code in other languages is not a command line.
SHELL_FENCES = {"", "sh", "bash", "shell", "console", "zsh", "text"}
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_CANDIDATE = re.compile(r"(?:^|[;&|(]\s*)harnex(?:\s|$)")
_PLACEHOLDER = re.compile(r"<[A-Za-z][^<>]*>")
_OPERATOR = re.compile(r"^[();<>|&]+$")


def fenced_lines(text: str) -> list[tuple[int, str]]:
    """(line number, logical line) for each line in a shell-like fenced block, with
    backslash continuations joined."""
    found: list[tuple[int, str]] = []
    fence: str | None = None
    keep = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, keep = match.group(1), match.group(2).lower() in SHELL_FENCES
            continue
        if match and match.group(1).startswith(fence) and not match.group(2):
            fence = None
            continue
        if not keep:
            continue
        if pending is not None:
            start, head = pending
            line, number = head + " " + line.strip(), start
            pending = None
        if line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1])
            continue
        found.append((number, line))
    return found


def harnex_commands(line: str) -> list[list[str]]:
    """The argument lists of every ``harnex`` command on one shell line."""
    line = line.strip().removeprefix("$ ")
    if line.startswith("#") or not _CANDIDATE.search(line):
        return []
    lexer = shlex.shlex(_PLACEHOLDER.sub("PLACEHOLDER", line), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"  # shell comments after a command are not arguments
    segments: list[list[str]] = [[]]
    for token in lexer:
        if _OPERATOR.match(token):
            redirect = ">" in token or "<" in token
            if redirect and segments[-1] and segments[-1][-1].isdigit():
                segments[-1].pop()  # the fd of a redirection such as 2>/dev/null
            segments.append([])
        else:
            segments[-1].append(token)
    return [segment[1:] for segment in segments if segment[:1] == ["harnex"]]


def _remaining(ctx: click.Context) -> list[str]:
    protected = ctx.__dict__.get("_protected_args")
    if protected is None:  # click before 8.2
        protected = ctx.protected_args
    return [*protected, *ctx.args]


def parse(args: list[str]) -> None:
    """Parse ``harnex ARGS`` down to the leaf command; raises click errors like the CLI."""
    command: click.Command = cli
    ctx: click.Context | None = None
    name = "harnex"
    while True:
        try:
            ctx = command.make_context(name, list(args), parent=ctx)
        except click.exceptions.Exit:
            return  # --help / --version: valid, and nothing more to parse
        if not isinstance(command, click.Group):
            return
        args = _remaining(ctx)
        if not args:
            raise click.UsageError("missing command", ctx)
        found_name, found, args = command.resolve_command(ctx, args)
        assert found is not None and found_name is not None
        command, name = found, found_name


def collect() -> list[tuple[str, list[str]]]:
    commands: list[tuple[str, list[str]]] = []
    for doc in DOCS:
        for number, line in fenced_lines(doc.read_text(encoding="utf-8")):
            where = f"{doc.relative_to(ROOT)}:{number}"
            try:
                found = harnex_commands(line)
            except ValueError as exc:  # unbalanced quotes: not a command a reader can paste
                pytest.fail(f"{where}: cannot split {line!r}: {exc}")
            commands += [(where, args) for args in found]
    return commands


COMMANDS = collect()


@pytest.mark.parametrize(
    ("where", "args"), COMMANDS, ids=[f"{w} {' '.join(a[:2])}" for w, a in COMMANDS]
)
def test_documented_command_parses(where: str, args: list[str]) -> None:
    try:
        parse(args)
    except click.ClickException as exc:
        pytest.fail(f"{where}: harnex {shlex.join(args)}: {exc.format_message()}")


def test_every_doc_shows_commands() -> None:
    per_doc = {where.split(":")[0] for where, _ in COMMANDS}
    assert per_doc == {str(doc.relative_to(ROOT)) for doc in DOCS}
    used = {args[0] for _, args in COMMANDS if args}
    expected = {
        "run",
        "send",
        "wait",
        "pane",
        "status",
        "stop",
        "report",
        "skills",
        "diff",
        "clean",
    }
    assert expected <= used


def test_the_checker_catches_mistakes() -> None:
    """The parser above must reject what the docs must not contain."""
    for bad in (
        ["run", "--no-such-flag", "claude"],  # after the CLI it would be the agent's
        ["pane", "--id", "x", "--lines", "PLACEHOLDER"],
        ["no-such-command"],
        ["skills", "reinstall"],
    ):
        with pytest.raises(click.ClickException):
            parse(bad)
    assert harnex_commands('x=1 && harnex send --id <id> -m "a | b" 2>/dev/null | tail') == [
        ["send", "--id", "PLACEHOLDER", "-m", "a | b"]
    ]
    assert harnex_commands("(cd ../wt && harnex status)") == [["status"]]
    assert harnex_commands("echo harnex status") == []


@pytest.mark.parametrize(
    ("command", "filename"), [("guide", "GUIDE.md"), ("recipes", "RECIPES.md")]
)
def test_guide_and_recipes_print_the_packaged_files(command: str, filename: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harnex_tmux", command],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "harnex_tmux" / "data" / filename).read_text(encoding="utf-8")
