"""Options shared by every command that targets a session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def target_options(func: F) -> F:
    """``--id``, ``--repo`` and ``--cli``: which session the command is about."""
    func = click.option("--cli", "cli_filter", help="Only sessions of this agent type.")(func)
    func = click.option("--repo", type=click.Path(file_okay=False), help="Resolve in that repo.")(
        func
    )
    return click.option("--id", "ident", help="Session id (default: the repo's only session).")(
        func
    )


class Timeout(click.ParamType[float]):
    """``--timeout``: seconds under the same rule as the MCP tools' (finite, 0 to a day)."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        from harnex_tmux.errors import UsageError
        from harnex_tmux.waits import check_timeout

        try:
            return check_timeout(float(value))
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)
        except UsageError as exc:
            self.fail(str(exc).removeprefix("timeout "), param, ctx)


def socket_option(ctx: click.Context) -> str | None:
    obj = ctx.find_root().obj
    return getattr(obj, "socket", None)


def print_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, ensure_ascii=False))


def human_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    seconds = int(value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
