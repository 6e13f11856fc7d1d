"""``harnex doctor``: check tmux, the state directory, adapter files, the agent CLIs and
the live sessions, and say how to fix each problem (see harnex_tmux.doctor)."""

from __future__ import annotations

import click

from harnex_tmux.cli.options import print_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON list of checks instead of text.")
@click.option(
    "--exit-code", "exit_code", is_flag=True, help="Exit 1 when any check failed (for scripts)."
)
def command(as_json: bool, exit_code: bool) -> None:
    """Check everything harnex depends on; change nothing.

    tmux (3.2+) and Python; the state directory; adapter files; each known agent CLI on
    PATH and its version against the tested one (docs/compat.md); whether each will take
    harnex's hooks (settings readable, folder trust); whether harnex mcp is registered with
    it; every live session's sidecar, and stale records. Each check is ok, warn, fail or
    skip (does not apply here); every problem comes with a line saying how to fix it.

    Exit codes: 0, also when checks failed, unless --exit-code is given; then 1 when any
    check failed (warnings do not count).
    """
    from harnex_tmux.doctor import failed, format_text, run_doctor

    checks = run_doctor()
    if as_json:
        print_json([check.to_dict() for check in checks])
    else:
        click.echo(format_text(checks))
    if exit_code and failed(checks):
        click.get_current_context().exit(1)
