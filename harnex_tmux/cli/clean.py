"""``harnex clean``: remove the worktrees of ended sessions whose work is safe elsewhere, and
the resume cards and inbox journals of sessions that can no longer be, or need not be,
resumed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from harnex_tmux.cli.options import print_json

if TYPE_CHECKING:
    from harnex_tmux.forget import Forgotten
    from harnex_tmux.worktree import CleanResult, WorktreeRecord


@click.command()
@click.option(
    "--id",
    "ident",
    help="Only this session's worktree (default: every ended one); NAME:id on host NAME.",
)
@click.option("--on", "on_host", metavar="NAME", help="Clean on that host (harnex hosts).")
@click.option("--repo", type=click.Path(file_okay=False), help="Resolve in that repo.")
@click.option("--force", is_flag=True, help="Remove even uncommitted or unmerged work.")
@click.option(
    "--ended",
    is_flag=True,
    help="Also forget ended sessions without a worktree: stopped ones, and ones whose folder "
    "is gone (never one that ended without a stop).",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON list of what was removed or kept.")
def command(
    ident: str | None,
    on_host: str | None,
    repo: str | None,
    force: bool,
    ended: bool,
    as_json: bool,
) -> None:
    """Remove worktrees made by run --worktree, and their branches.

    A worktree goes only when its session has ended, it has no uncommitted changes, and
    every commit of its branch is merged (into its base branch or the main checkout's HEAD)
    or pushed; --force drops the last two checks. A removed worktree's session can no longer
    be resumed: its resume card and inbox journal go too. --ended also forgets ended sessions
    without a worktree (their resume card and inbox journal): those stopped on purpose, and
    those whose working directory is gone; one that ended without a stop is kept for
    harnex resume. Prints what was removed and what was kept, and why. With --id, exits 1
    when that session's worktree (or, with --ended, its card) was kept.
    """
    if (ident is not None and ":" in ident) or on_host is not None:
        _clean_on_host(ident, on_host, repo, [force, ended, as_json])
        return
    from harnex_tmux.errors import SessionNotFound
    from harnex_tmux.forget import forget_ended
    from harnex_tmux.session.find import find_worktree, list_worktrees
    from harnex_tmux.state import repo_root_for

    if ident is not None:
        try:
            targets = [find_worktree(ident, repo)]
        except SessionNotFound:
            if not ended:
                raise
            targets = []
    else:
        targets = list_worktrees(repo_root_for(repo))
    outcomes: list[CleanResult | Forgotten] = [
        _clean_one(path, record, force) for path, record in targets
    ]
    if ended:
        outcomes += forget_ended(repo, ident, stopped_too=True)
        if ident is not None and not outcomes:
            raise SessionNotFound(f"no ended session {ident!r} in {repo_root_for(repo)}")
    if as_json:
        print_json([o.to_dict() for o in outcomes])
    elif not outcomes:
        what = "worktrees or ended sessions" if ended else "worktrees"
        click.echo(f"No harnex {what} for {repo_root_for(repo)}.")
    else:
        click.echo("\n".join(o.line() for o in outcomes))
    if ident is not None and not all(o.removed for o in outcomes):
        click.get_current_context().exit(1)


def _clean_on_host(
    ident: str | None, on_host: str | None, repo: str | None, flags: list[bool]
) -> None:
    """The same clean by the harnex of the host (``--on NAME`` or ``--id NAME:id``), in its
    user's home where ``run --on`` starts sessions; its output and exit code ours."""
    from harnex_tmux.errors import UsageError
    from harnex_tmux.hosts.remote import command_on
    from harnex_tmux.hosts.store import split_target

    if repo is not None:
        raise UsageError("--repo is for local sessions (a host's runs are in its home)")
    named, ident = split_target(ident) if ident is not None else (None, None)
    if named is not None and on_host is not None and named != on_host:
        raise UsageError(f"--on {on_host} and --id {named}:{ident} name two hosts")
    name = named or on_host
    assert name is not None
    args = ["clean", *(["--id", ident] if ident is not None else [])]
    args += [f for f, on in zip(("--force", "--ended", "--json"), flags, strict=True) if on]
    code = command_on(name, args)
    if code:
        click.get_current_context().exit(code)


def _clean_one(path: Path, record: WorktreeRecord, force: bool) -> CleanResult:
    """Keep a running session's worktree whatever ``force`` says; otherwise clean it and,
    once it is gone, forget it: its record, resume card and inbox journal."""
    from harnex_tmux.errors import HarnexError
    from harnex_tmux.forget import remove_resume_files
    from harnex_tmux.state import SessionPaths, SessionRecord, process_alive, read_json
    from harnex_tmux.worktree import CleanResult, clean_worktree

    paths = SessionPaths.for_session(record.repo_root, record.id)
    live = read_json(paths.registry)
    if live is not None:
        session = SessionRecord.from_dict(live)
        if process_alive(session.sidecar_pid) or process_alive(session.pid):
            why = f"session is still running (harnex stop --id {record.id} first)"
            return CleanResult(record.id, record.path, record.branch, False, why)
    try:
        outcome = clean_worktree(record, force)
    except HarnexError as exc:
        # One broken worktree (its repository moved, say) must not stop the others.
        return CleanResult(record.id, record.path, record.branch, False, str(exc))
    if outcome.removed:
        path.unlink(missing_ok=True)
        remove_resume_files(paths)
    return outcome
