"""How ``harnex run`` reads its command line, the way harnex 0.4.0 scripts wrote it.

harnex's own options may come before or after the CLI word; any other word after the CLI
belongs to the agent, with or without ``--`` (``harnex run claude --id a --model opus``).
``--tmux`` takes the next word as its window name only when that word is not the CLI:
``harnex run --tmux claude`` names no window, ``harnex run --tmux w1 claude`` does; the same
goes for ``--worktree`` and its branch name.
"""

from __future__ import annotations

import click

from harnex_tmux.cli.watch_options import RunCommand, rewrite_legacy_watch

TMUX = "--tmux"
RUN_WORDS = "harnex.run_words"
# Options whose value is optional: the next word is theirs only when it is not the CLI.
OPTIONAL_VALUE = (TMUX, "--worktree")


def _options(command: click.Command) -> tuple[set[str], set[str]]:
    """(options that take a value, flags) of ``command``; ``--tmux`` and ``--worktree`` are
    handled apart."""
    valued: set[str] = set()
    flags: set[str] = {"-h", "--help"}
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        names = [*param.opts, *param.secondary_opts]
        (flags if param.is_flag else valued).update(names)
    valued.difference_update(OPTIONAL_VALUE)
    return valued, flags


def split_run_args(args: list[str], valued: set[str], flags: set[str]) -> list[str]:
    """Reorder ``args`` into ``[harnex options..., CLI, "--", agent args...]`` for click.

    Words before the CLI that are not harnex's are left for click to reject.
    """
    ours: list[str] = []
    cli: str | None = None
    agent: list[str] = []
    index = 0

    def is_ours(word: str) -> bool:
        name = word.split("=", 1)[0]
        return word in flags or name in valued or name in OPTIONAL_VALUE

    def cli_follows(start: int) -> bool:
        """Whether a CLI word comes after ``start`` among harnex's own options."""
        at = start
        while at < len(args):
            word = args[at]
            if word == "--":
                return False
            if word in valued:
                at += 2
                continue
            if not is_ours(word):
                return True
            at += 1
        return False

    while index < len(args):
        word = args[index]
        if word == "--":
            agent += args[index + 1 :]
            break
        if word in OPTIONAL_VALUE:
            following = args[index + 1] if index + 1 < len(args) else None
            named = (
                following is not None
                and not following.startswith("-")
                and (cli is not None or cli_follows(index + 2))
            )
            if named:
                ours.append(f"{word}={following}")
                index += 2
                continue
            ours.append(f"{word}=")
        elif word in valued:
            ours += args[index : index + 2]
            index += 2
            continue
        elif is_ours(word):
            ours.append(word)
        elif cli is None and not word.startswith("-"):
            cli = word
        elif cli is None:
            ours.append(word)  # an unknown option before the CLI: click reports it
        else:
            agent.append(word)
        index += 1
    if cli is None:
        return ours + (["--", *agent] if agent else [])
    return [*ours, cli, "--", *agent]


class RunArguments(RunCommand):
    """``run``'s command class: 0.4.0 argument order, then the legacy ``--watch PATH``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        valued, flags = _options(self)
        words = split_run_args(rewrite_legacy_watch(args), valued, flags)
        # Kept for `run --on HOST`, which hands the same words to the host's harnex.
        ctx.meta[RUN_WORDS] = list(words)
        return super().parse_args(ctx, words)


def without(words: list[str], *options: str) -> list[str]:
    """The run's words without harnex's own ``options`` and their values (``--on NAME``,
    ``--cwd DIR``), for the host's harnex; the agent's words after ``--`` are kept."""
    kept: list[str] = []
    skip = False
    end = words.index("--") if "--" in words else len(words)
    for index, word in enumerate(words):
        if skip:
            skip = False
        elif index > end or word.split("=", 1)[0] not in options:
            kept.append(word)
        else:
            skip = "=" not in word
    return kept
