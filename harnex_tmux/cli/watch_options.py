"""The watch options of ``harnex run`` and the ``watch`` config they turn into.

``--watch`` is a flag, but harnex 0.4.0 scripts also wrote ``--watch PATH`` for the file hook.
A click option cannot tell ``--watch notes.md`` (legacy file) from ``--watch claude`` (flag,
then the agent), so :class:`RunCommand` rewrites the argument list before click parses it:
``--watch VALUE`` becomes ``--watch-file VALUE`` only when VALUE looks like a path.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from typing import Any, TypeVar

import click

from harnex_tmux.durations import parse_duration
from harnex_tmux.errors import DurationError

F = TypeVar("F", bound=Callable[..., Any])

WATCH_FLAG = "--watch"
WATCH_FILE = "--watch-file"


def looks_like_path(value: str) -> bool:
    """A ``--watch`` value that is a file to watch, not the next word of the command line
    (an option, or the agent command: ``--watch claude``, ``--watch /usr/bin/codex``)."""
    if not value or value.startswith("-") or shutil.which(value) is not None:
        return False
    if os.sep in value or "/" in value or value.startswith(("~", ".")):
        return True
    return "." in value or os.path.exists(value)


def rewrite_legacy_watch(args: list[str]) -> list[str]:
    """Turn the 0.4.0 spellings ``--watch PATH`` / ``--watch=PATH`` into ``--watch-file``.

    Only arguments before ``--`` are looked at: what follows belongs to the agent.
    """
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            out.extend(args[index:])
            break
        if arg.startswith(WATCH_FLAG + "="):
            out += [WATCH_FILE, arg.split("=", 1)[1]]
        elif arg == WATCH_FLAG and index + 1 < len(args) and looks_like_path(args[index + 1]):
            out += [WATCH_FILE, args[index + 1]]
            index += 1
        else:
            out.append(arg)
        index += 1
    return out


class RunCommand(click.Command):
    """``run``'s command class: accepts the legacy ``--watch PATH`` spelling."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, rewrite_legacy_watch(args))


def duration_option(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Option callback: ``90s``, ``8m``, ``1h`` or plain seconds, more than zero (else exit 2)."""
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    if seconds <= 0:
        raise click.BadParameter(f"must be more than zero: {value!r}", ctx, param)
    return seconds


def build_watch(
    enabled: bool,
    preset_name: str | None,
    stall_after: float | None,
    max_resumes: int | None,
    watch_file: str | None,
) -> dict[str, Any] | None:
    """The ``watch`` dict a session carries (LaunchSpec and registry record), or None."""
    from harnex_tmux.errors import UsageError
    from harnex_tmux.watch_presets import DEFAULT_PRESET, get_preset

    # As in 0.4.0: --preset without --watch is a mistake, while --stall-after and
    # --max-resumes without it are checked and then ignored.
    if preset_name is not None and not enabled:
        raise UsageError("--preset needs --watch (e.g. --watch --preset impl)")
    watch: dict[str, Any] = {}
    if enabled:
        preset = get_preset(preset_name or DEFAULT_PRESET)
        watch.update(
            preset=preset.name,
            stall_after_s=stall_after if stall_after is not None else preset.stall_after_s,
            max_resumes=max_resumes if max_resumes is not None else preset.max_resumes,
        )
    if watch_file is not None:
        from harnex_tmux.state import repo_root_for

        # As in 0.4.0: relative to the repo root, its folder created, and named to the agent
        # as it was given.
        base = repo_root_for(os.getcwd())
        path = os.path.abspath(os.path.join(base, os.path.expanduser(watch_file)))
        if os.path.isdir(path):
            raise UsageError(f"--watch-file {watch_file} is a folder; name a file")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"--watch-file {watch_file}: cannot create its folder: {exc}"
            ) from None
        watch["file"] = path
        watch["file_shown"] = watch_file
    return watch or None


def watch_options(func: F) -> F:
    """Add the watch options to ``run`` and hand the command one ``watch`` argument."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["watch"] = build_watch(
            kwargs.pop("watch_enabled"),
            kwargs.pop("preset"),
            kwargs.pop("stall_after"),
            kwargs.pop("max_resumes"),
            kwargs.pop("watch_file"),
        )
        return func(*args, **kwargs)

    options = [
        click.option(
            "--watch",
            "watch_enabled",
            is_flag=True,
            help="Babysit the session: nudge it with 'resume' when it stalls "
            "(legacy: --watch PATH means --watch-file PATH).",
        ),
        click.option(
            "--preset",
            metavar="NAME",
            help="Watch limits by name: impl (8m, 1 resume), plan (3m, 2), gate (15m, 0); "
            "user presets in ~/.config/harnex/presets/. Default: impl.",
        ),
        click.option(
            "--stall-after",
            callback=duration_option,
            metavar="DUR",
            help="Stall window: 90s, 8m, 1h or seconds (overrides the preset).",
        ),
        click.option(
            "--max-resumes",
            type=click.IntRange(min=0),
            metavar="N",
            help="Resume nudges before giving up (overrides the preset).",
        ),
        click.option(
            "--watch-file",
            metavar="PATH",
            help="On a change to PATH (debounced 1 s), queue 'file-change-hook: read PATH'.",
        ),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
