"""One git worktree per session: creating it, measuring its work, and removing it safely.

Parallel agents in one checkout overwrite each other's files and mix their diffs; a worktree
on a branch of its own gives each agent a private copy that shares the repository's history.
Everything here shells out to ``git``, so what harnex does is what ``git worktree`` does.

A worktree's record (``worktrees/<key>.json`` under the state root) outlives the session:
``harnex stop`` never deletes work, and ``harnex clean`` needs to know what to remove later.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harnex_tmux.errors import GitError, HarnexError
from harnex_tmux.state import id_key, read_record, utc_now, write_private

INCLUDE_FILE = ".worktreeinclude"
BRANCH_PREFIX = "harnex/"


def _run(args: list[str], cwd: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        # Popen names neither the program nor the folder: tell them apart.
        if shutil.which("git") is None:
            raise GitError("git not found on PATH: worktrees need git") from exc
        raise GitError(f"folder {cwd} does not exist") from exc


def git(args: list[str], cwd: str | os.PathLike[str]) -> str:
    """Run ``git ARGS`` in ``cwd`` and return its stdout; raise GitError when it fails."""
    result = _run(args, cwd)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[0].removeprefix("fatal: ").removeprefix("error: ") if lines else ""
        raise GitError(f"git {args[0]} failed: {detail or f'exit {result.returncode}'}")
    return result.stdout


def _succeeds(args: list[str], cwd: str | os.PathLike[str]) -> bool:
    return _run(args, cwd).returncode == 0


@dataclass(frozen=True)
class WorktreeRequest:
    """What ``harnex run --worktree`` asked for; None fields take the defaults."""

    branch: str | None = None
    base: str | None = None
    folder: str | None = None
    setup: str | None = None


@dataclass(frozen=True)
class WorktreeRecord:
    """A session's worktree: where it is, its branch, and the commit it started from."""

    id: str
    repo_root: str
    path: str
    branch: str
    base: str
    base_ref: str | None = None
    created_at: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorktreeRecord:
        names = {"id", "repo_root", "path", "branch", "base", "base_ref", "created_at"}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def load(cls, path: Path) -> WorktreeRecord | None:
        return read_record(path, cls.from_dict)

    def save(self, path: Path) -> None:
        write_private(path, json.dumps(self.to_dict(), indent=2) + "\n")


@dataclass(frozen=True)
class Progress:
    """How far a worktree has moved from its base."""

    ahead: int
    changed_files: list[str]
    uncommitted: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def worktrees_folder(repo_root: str, folder: str | None = None) -> Path:
    """Where a repo's worktrees go: ``FOLDER/<repo name>`` when a folder is configured
    (``--worktree-dir`` or ``$HARNEX_WORKTREE_DIR``), else ``<repo>.worktrees`` beside the
    repository, so tools that scan the repo never see them as part of it."""
    root = Path(repo_root)
    if folder:
        return Path(folder).expanduser().resolve() / root.name
    return root.parent / f"{root.name}.worktrees"


def toplevel(cwd: str) -> str:
    """The git top-level of ``cwd``; a clear error outside a repository."""
    if not _succeeds(["rev-parse", "--is-inside-work-tree"], cwd):
        raise HarnexError(f"not a git repository: {cwd}")
    return git(["rev-parse", "--show-toplevel"], cwd).strip()


def create_worktree(
    repo_root: str,
    checkout: str,
    ident: str,
    request: WorktreeRequest,
    log: Path,
    env: dict[str, str] | None = None,
) -> WorktreeRecord:
    """Make the worktree on a new branch, copy the include files, run the setup command.

    ``repo_root`` is the repository the session belongs to (its main checkout), ``checkout``
    the folder it was launched from: the base defaults to that checkout's HEAD, and its
    uncommitted changes and include file are the ones that count. Any failure removes
    whatever was made (worktree, branch, folder) before it is raised.
    """
    top = toplevel(checkout)
    branch = request.branch or f"{BRANCH_PREFIX}{id_key(ident)}"
    if not _succeeds(["check-ref-format", "--branch", branch], top):
        raise HarnexError(f"not a valid branch name: {branch!r}")
    if _succeeds(["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], top):
        raise HarnexError(f"branch {branch!r} already exists (pick another with --worktree NAME)")
    if request.base is None:
        dirty = git(["status", "--porcelain", "--untracked-files=no"], top).splitlines()
        if dirty:
            raise HarnexError(
                f"{top} has uncommitted changes a new worktree would not get "
                "(commit or stash them, or pass --base REF)"
            )
    base_ref = request.base or "HEAD"
    if not _succeeds(["rev-parse", "--verify", "--quiet", f"{base_ref}^{{commit}}"], top):
        if request.base is None:
            raise HarnexError(f"{top} has no commit yet to start a worktree from")
        raise HarnexError(f"--base {base_ref!r} is not a commit in {top}")
    base = git(["rev-parse", f"{base_ref}^{{commit}}"], top).strip()
    folder = worktrees_folder(repo_root, request.folder)
    path = folder / id_key(ident)
    if path.exists():
        raise HarnexError(f"worktree path {path} already exists")
    record = WorktreeRecord(
        id=ident,
        repo_root=repo_root,
        path=str(path),
        branch=branch,
        base=base,
        base_ref=_branch_name(top, base_ref),
    )
    folder_existed = folder.exists()
    made = False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        git(["worktree", "add", "--quiet", "-b", branch, str(path), base], top)
        made = True
        copy_included(top, path)
        if request.setup:
            run_setup(record, request.setup, log, env)
    except BaseException:
        if made:
            remove_worktree(record, force=True)
        if not folder_existed:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return record


def agent_cwd(record: WorktreeRecord, launched_from: str) -> str:
    """Where the agent starts: the subfolder of the worktree matching the one it was launched
    from, when the branch has it, else the worktree's top."""
    relative = os.path.relpath(launched_from, toplevel(launched_from))
    inside = os.path.normpath(os.path.join(record.path, relative))
    return inside if not relative.startswith("..") and os.path.isdir(inside) else record.path


def _branch_name(top: str, ref: str) -> str | None:
    """The branch ``ref`` names (``HEAD`` on a branch gives that branch), else None."""
    result = _run(["rev-parse", "--abbrev-ref", "--verify", "--quiet", ref], top)
    out = result.stdout.strip() if result.returncode == 0 else ""
    if not out or out == "HEAD":
        return None
    if _succeeds(["show-ref", "--verify", "--quiet", f"refs/heads/{out}"], top):
        return out
    return None


def included_files(top: str) -> list[str]:
    """Untracked files of the checkout that match the patterns of its ``.worktreeinclude``
    (gitignore syntax), such as ``.env``: git does not carry them into a new worktree."""
    include = Path(top) / INCLUDE_FILE
    if not include.is_file():
        return []
    out = git(
        ["ls-files", "--others", "--ignored", f"--exclude-from={include}", "-z"],
        top,
    )
    return [name for name in out.split("\0") if name]


def copy_included(top: str, dest: Path) -> list[str]:
    copied = included_files(top)
    for name in copied:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(top) / name, target, follow_symlinks=False)
    return copied


def run_setup(
    record: WorktreeRecord, command: str, log: Path, env: dict[str, str] | None = None
) -> None:
    """Run ``command`` with the shell in the new worktree, its output appended to the
    session's transcript; a non-zero exit stops the launch."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as out:
        out.write(f"[harnex worktree setup in {record.path}: {command}]\n".encode())
        out.flush()
        child_env = dict(os.environ if env is None else env)
        child_env.update(
            HARNEX_ID=record.id, HARNEX_WORKTREE=record.path, HARNEX_BRANCH=record.branch
        )
        result = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=record.path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env,
            check=False,
        )
        out.write(f"[harnex worktree setup exited {result.returncode}]\n".encode())
    if result.returncode != 0:
        raise HarnexError(
            f"worktree setup command exited {result.returncode}; nothing was kept "
            f"(its output is in {log})"
        )


def remove_worktree(record: WorktreeRecord, force: bool = False) -> None:
    """Remove the worktree and delete its branch; the worktrees folder goes when empty."""
    where = record.repo_root  # the worktree itself may be gone
    if Path(record.path).exists():
        git(["worktree", "remove", *(["--force"] if force else []), record.path], where)
    else:
        git(["worktree", "prune"], where)
    if _succeeds(["show-ref", "--verify", "--quiet", f"refs/heads/{record.branch}"], where):
        git(["branch", "-D", record.branch], where)
    with contextlib.suppress(OSError):
        Path(record.path).parent.rmdir()


def uncommitted(path: str) -> list[str]:
    """Files with changes not committed (untracked ones too), as ``git status`` lists them."""
    out = git(["status", "--porcelain", "-z", "--untracked-files=all"], path)
    names = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if not entry:
            continue
        names.append(entry[3:])
        if entry[:1] in ("R", "C"):
            next(entries, None)  # a rename's source path follows
    return names


def progress(record: WorktreeRecord) -> Progress:
    """Commits on the branch since the base, files that differ from the base (committed or
    not, untracked included) and files not committed."""
    ahead = int(git(["rev-list", "--count", f"{record.base}..{record.branch}"], record.path))
    pending = uncommitted(record.path)
    changed = set(git(["diff", "--name-only", "-z", record.base], record.path).split("\0"))
    changed.update(pending)
    changed.discard("")
    return Progress(ahead=ahead, changed_files=sorted(changed), uncommitted=pending)


def describe(data: dict[str, Any]) -> dict[str, Any]:
    """A worktree record as ``status`` shows it: the record plus its progress, or the
    ``error`` that kept git from measuring it (one broken worktree never stops status)."""
    shown = dict(data)
    try:
        shown.update(progress(WorktreeRecord.from_dict(data)).to_dict())
    except (HarnexError, TypeError, ValueError, OSError) as exc:
        shown["error"] = str(exc)
    return shown


def diff_text(record: WorktreeRecord, stat: bool = False) -> str:
    """The work against the base, as ``git diff`` shows it (``--stat`` for a summary)."""
    return git(["diff", *(["--stat"] if stat else []), record.base], record.path)


def check_present(record: WorktreeRecord) -> None:
    """A clear error for a worktree folder removed behind harnex's back (git's own
    message would name only a missing directory)."""
    if not os.path.isdir(record.path):
        raise HarnexError(f"worktree {record.path} of {record.id!r} no longer exists")


def diff_report(record: WorktreeRecord, stat: bool = False) -> str:
    """What ``harnex diff`` prints (and the dashboard shows): the diff against the base,
    then the files never added to git, one ``untracked:`` line each, since git diff does not
    show their contents."""
    check_present(record)
    text = diff_text(record, stat=stat)
    return text + "".join(f"untracked: {name}\n" for name in untracked(record.path))


def numstat(record: WorktreeRecord) -> list[dict[str, Any]]:
    """Per-file added/deleted line counts against the base (None for binary files)."""
    out = git(["diff", "--numstat", "-z", record.base], record.path)
    files = []
    parts = iter(out.split("\0"))
    for part in parts:
        if not part:
            continue
        added, deleted, name = part.split("\t", 2)
        if not name:  # a rename: old and new path follow
            next(parts, None)
            name = next(parts, "")
        files.append(
            {
                "path": name,
                "added": int(added) if added.isdigit() else None,
                "deleted": int(deleted) if deleted.isdigit() else None,
            }
        )
    return files


def untracked(path: str) -> list[str]:
    out = git(["ls-files", "--others", "--exclude-standard", "-z"], path)
    return [name for name in out.split("\0") if name]


@dataclass(frozen=True)
class Verdict:
    """Whether ``clean`` may remove a worktree, and why (or why not)."""

    removable: bool
    reason: str


def judge(record: WorktreeRecord) -> Verdict:
    """Removable when nothing would be lost: no uncommitted changes, and every commit of the
    branch is in the base branch (or the main checkout's HEAD) or on a remote."""
    where = record.repo_root
    if Path(record.path).exists():
        pending = uncommitted(record.path)
        if pending:
            return Verdict(False, f"{len(pending)} uncommitted file(s) in {record.path}")
    if not _succeeds(["show-ref", "--verify", "--quiet", f"refs/heads/{record.branch}"], where):
        return Verdict(True, f"branch {record.branch} no longer exists")
    tip = git(["rev-parse", f"refs/heads/{record.branch}"], where).strip()
    if tip == record.base:
        return Verdict(True, "no commits since its base")
    targets = [record.base_ref] if record.base_ref else []
    targets.append("HEAD")
    for target in targets:
        if _succeeds(["merge-base", "--is-ancestor", tip, target], where):
            name = target if target != "HEAD" else "the main checkout's HEAD"
            return Verdict(True, f"merged into {name}")
    remotes = git(
        ["for-each-ref", "--contains", tip, "--format=%(refname:short)", "refs/remotes"], where
    )
    if remotes.strip():
        return Verdict(True, f"pushed ({remotes.split()[0]})")
    ahead = int(git(["rev-list", "--count", f"{record.base}..{tip}"], where))
    return Verdict(False, f"branch {record.branch} has {ahead} commit(s) neither merged nor pushed")


@dataclass(frozen=True)
class CleanResult:
    """What ``clean`` did with one worktree, and why."""

    id: str
    path: str
    branch: str
    removed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        if self.removed:
            return (
                f"removed {self.id}: worktree {self.path} and branch {self.branch} ({self.reason})"
            )
        return f"kept {self.id}: {self.reason}"


def clean_worktree(record: WorktreeRecord, force: bool = False) -> CleanResult:
    """Remove the worktree and its branch when nothing would be lost (or with ``force``)."""
    verdict = judge(record)
    if not verdict.removable and not force:
        return CleanResult(
            record.id,
            record.path,
            record.branch,
            False,
            f"{verdict.reason} (--force removes it anyway)",
        )
    remove_worktree(record, force=force)
    reason = verdict.reason if verdict.removable else f"forced; {verdict.reason}"
    return CleanResult(record.id, record.path, record.branch, True, reason)
