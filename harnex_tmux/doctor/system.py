"""Checks of what every session needs: tmux, Python, the state directory, adapter files."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from harnex_tmux.doctor.model import Check, Context, Status

MIN_PYTHON = (3, 11)
TMUX_TIMEOUT_S = 5.0
ELSEWHERE = "point HARNEX_STATE_DIR at a folder you own"
# Free space under which the state directory counts as full (no room for a message and the
# room kept for its status records), and as nearly full.
FULL_BYTES = 64 * 1024
LOW_BYTES = 1024 * 1024


def check_tmux() -> Check:
    """tmux as harnex runs it: the first ``tmux`` on PATH, 3.2 or newer."""
    from harnex_tmux.errors import TmuxUnavailable
    from harnex_tmux.tmux import MIN_VERSION, Tmux

    tmux = Tmux(socket_path="")  # only its binary is asked about, no server
    wanted = ".".join(str(n) for n in MIN_VERSION)
    install = f"install tmux {wanted} or newer and put it first on PATH"
    try:
        found = tmux.version(timeout=TMUX_TIMEOUT_S)
    except TmuxUnavailable as exc:
        return Check("tmux", Status.FAIL, str(exc), install)
    if found is None:
        return Check("tmux", Status.WARN, f"{tmux.binary} -V printed no version number", install)
    shown = f"{found[0]}.{found[1]}"
    if found < MIN_VERSION:
        return Check(
            "tmux", Status.FAIL, f"tmux {shown} ({tmux.binary}) is older than {wanted}", install
        )
    return Check("tmux", Status.OK, f"tmux {shown} ({tmux.binary})")


def check_python() -> Check:
    version = ".".join(str(n) for n in sys.version_info[:3])
    detail = f"python {version} ({sys.executable})"
    if sys.version_info[:2] < MIN_PYTHON:
        wanted = ".".join(str(n) for n in MIN_PYTHON)
        return Check("python", Status.FAIL, detail, f"install harnex under Python {wanted}+")
    return Check("python", Status.OK, detail)


def check_state_dir() -> list[Check]:
    """The state root and its folders: directories harnex can write, private to the user
    (the registry holds each session's bearer token). Missing is fine: the first ``run``
    creates them, provided the nearest existing folder above lets it."""
    from harnex_tmux.state import SUBDIRS, state_root

    root = state_root()
    if not root.exists() and not root.is_symlink():
        return [_missing_root(root)]
    if not root.is_dir():
        return [
            Check(
                "state-dir", Status.FAIL, f"{root} is not a directory", f"remove it, or {ELSEWHERE}"
            )
        ]
    problem = _unwritable(root)
    if problem:
        return [
            Check(
                "state-dir", Status.FAIL, f"{root} {problem}", f"chmod u+rwx {root}, or {ELSEWHERE}"
            )
        ]
    checks = [_privacy(root), _room(root)]
    for sub in SUBDIRS:
        folder = root / sub
        if not folder.exists():
            continue
        if not folder.is_dir():
            checks.append(
                Check(
                    f"state-dir/{sub}",
                    Status.FAIL,
                    f"{folder} is not a directory",
                    f"remove {folder} (harnex recreates it)",
                )
            )
        elif problem := _unwritable(folder):
            checks.append(
                Check(
                    f"state-dir/{sub}", Status.FAIL, f"{folder} {problem}", f"chmod u+rwx {folder}"
                )
            )
    return checks


def _missing_root(root: Path) -> Check:
    above = root.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        return Check(
            "state-dir",
            Status.FAIL,
            f"{root} cannot be created: {above} is not a directory",
            ELSEWHERE,
        )
    if problem := _unwritable(above):
        return Check(
            "state-dir",
            Status.FAIL,
            f"{root} cannot be created: {above} {problem}",
            f"mkdir -p -m 700 {root} as its owner, or {ELSEWHERE}",
        )
    return Check("state-dir", Status.OK, f"{root} (not there yet; the first run creates it)")


def _unwritable(folder: Path) -> str | None:
    """Why harnex could not create files in ``folder``, or None. ``access`` also answers
    for a read-only file system, where even root cannot write."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return "is not writable"
    return None


def _room(root: Path) -> Check:
    """Free space where the state lives: with none, new messages are refused (507) and
    queued ones wait; below a few messages' worth that is about to happen."""
    try:
        info = os.statvfs(root)
    except OSError as exc:
        return Check("state-dir/space", Status.WARN, f"cannot ask {root} for its free space: {exc}")
    free = info.f_bavail * info.f_frsize
    shown = f"{free // 1024} KiB free"
    fix = f"free space on the file system of {root}, or {ELSEWHERE}"
    if free < FULL_BYTES:
        return Check(
            "state-dir/space", Status.FAIL, f"the state directory is full: {root} ({shown})", fix
        )
    if free < LOW_BYTES:
        return Check("state-dir/space", Status.WARN, f"{root} is nearly full ({shown})", fix)
    return Check("state-dir/space", Status.OK, f"{root} ({free // (1024 * 1024)} MiB free)")


def _privacy(root: Path) -> Check:
    info = root.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid():
        return Check(
            "state-dir",
            Status.WARN,
            f"{root} belongs to uid {info.st_uid}, not you",
            f"chown {os.geteuid()} {root}, or {ELSEWHERE}",
        )
    if mode & 0o077:
        return Check(
            "state-dir",
            Status.WARN,
            f"{root} has mode {mode:04o}: other users can list its session tokens' files",
            f"chmod 700 {root}",
        )
    return Check("state-dir", Status.OK, f"{root} (mode {mode:04o})")


def check_hooks_switch(ctx: Context) -> list[Check]:
    """``HARNEX_NO_HOOKS`` turns every CLI's hooks off: worth saying once, up front."""
    if ctx.env.get("HARNEX_NO_HOOKS") in (None, "", "0"):
        return []
    return [
        Check(
            "hooks",
            Status.WARN,
            "HARNEX_NO_HOOKS is set: every session reads the screen only (no proven delivery, "
            "no replies)",
            "unset HARNEX_NO_HOOKS",
        )
    ]


def check_adapter_files(ctx: Context) -> list[Check]:
    """Every adapter file harnex would read here (shipped, the user's, the repository's).
    A broken one is skipped at run time, which silently undoes what it was written for."""
    from harnex_tmux.adapters.catalog import GENERIC, adapter_files, search_dirs
    from harnex_tmux.adapters.rules import load_rules
    from harnex_tmux.errors import AdapterFileError

    files = adapter_files(search_dirs(ctx.repo_root))
    checks = []
    for path in files:
        try:
            rules = load_rules(path)
        except AdapterFileError as exc:
            checks.append(
                Check(
                    f"adapter/{path.name}",
                    Status.FAIL,
                    f"skipped: {exc}",
                    f"correct it (harnex adapters check {ctx.show(path)}) or remove it",
                )
            )
            continue
        if rules.name == GENERIC:
            checks.append(
                Check(
                    f"adapter/{path.name}",
                    Status.FAIL,
                    f"skipped: {path}: the name 'generic' is reserved",
                    f"rename it in {ctx.show(path)}",
                )
            )
    if not checks:
        checks.append(Check("adapters", Status.OK, f"{len(files)} adapter files valid"))
    return checks
