"""Everything harnex asks of tmux, in one place; the only module that uses libtmux.

Commands are issued through libtmux's command runner (``libtmux.common.tmux_cmd``, what
``libtmux.Server.cmd`` calls) with argument lists, so nothing is parsed by a shell except the
two command strings tmux itself insists on running through one (the ``pipe-pane`` command and
the pane's launch wrapper), which are quoted here.

Only that runner is loaded: libtmux's package ``__init__`` imports its whole object layer
(servers, sessions, windows, panes), some 4 MB of resident memory and tens of milliseconds in
every sidecar and CLI that needs none of it (see :func:`_libtmux_runner`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harnex_tmux.errors import HarnexError, TmuxUnavailable

if TYPE_CHECKING:
    from libtmux.common import tmux_cmd

DEFAULT_SESSION_NAME = "harnex"
MIN_VERSION = (3, 2)
# tmux sends each command to its server as one message of at most 16 KiB; longer text goes
# through a paste buffer loaded from a file.
_SEND_KEYS_LIMIT = 2048

# Variables describing the caller's own terminal or tmux client must not leak into the pane:
# tmux sets its own, and a stale TMUX would point ``harnex`` inside the pane at another server.
_ENV_SKIP = frozenset({"TMUX", "TMUX_PANE", "TERM", "COLUMNS", "LINES", "SHLVL", "PWD", "OLDPWD"})
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Read-only in some shells that /bin/sh may be: assigning one would stop the wrapper.
_SHELL_READONLY = frozenset({"SHELLOPTS", "BASHOPTS", "BASH_VERSINFO", "EUID", "PPID", "UID"})

# The pane runs this wrapper instead of the agent directly. It takes the agent's environment
# from a private file (never tmux's command line, which any local user can read in ``ps``,
# and which would show API keys and the session token). It waits on a tmux channel until
# the sidecar has set remain-on-exit and pipe-pane (so no early output or early exit is lost),
# then stays the agent's parent to write its exit record atomically. It ignores Ctrl-C meant
# for the agent, but not SIGHUP: when the pane is closed the kernel hangs up only on the
# session leader (this shell), and only its death passes the hangup on to the agent.
# Only builtins run before the agent: its only other child is the gate's tmux, so the
# sidecar can tell the agent's pid (an ``rm`` here was once taken for the agent). The
# emptied env file is removed by the sidecar once the agent runs.
_PANE_WRAPPER = r"""
set -a
. "$6" || exit 127
set +a
: >"$6"
_hx_exits=$1 _hx_id=$2 _hx_tmux=$3 _hx_sock=$4 _hx_gate=$5
shift 6
trap : INT QUIT TERM
"$_hx_tmux" -S "$_hx_sock" wait-for "$_hx_gate"
"$@"
_hx_rc=$?
_hx_sig=null
[ "$_hx_rc" -gt 128 ] && _hx_sig=$((_hx_rc - 128))
(
  umask 077
  printf '{"id": %s, "code": %s, "signal": %s, "ended_at": "%s"}\n' \
    "$_hx_id" "$_hx_rc" "$_hx_sig" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$_hx_exits.tmp" &&
    mv -f "$_hx_exits.tmp" "$_hx_exits"
)
exit "$_hx_rc"
"""


_LIBTMUX_LOCK = threading.Lock()


def _libtmux_runner() -> tuple[type[tmux_cmd], type[Exception]]:
    """libtmux's command runner and its "tmux not found" error, without its object layer.

    Importing any libtmux submodule runs the package ``__init__`` first, which imports every
    class libtmux has. When libtmux is not imported yet, the package is registered without
    running that ``__init__``; it runs (in place) the first time anyone asks the package for a
    name, so ``libtmux.Server`` still works for everyone else in the process.
    """
    with _LIBTMUX_LOCK:  # threads of one sidecar may ask first at the same moment
        if "libtmux" not in sys.modules:
            _register_libtmux_lazily()
    from libtmux.common import tmux_cmd
    from libtmux.exc import TmuxCommandNotFound

    return tmux_cmd, TmuxCommandNotFound


def load_runner() -> None:
    """Import libtmux's command runner now rather than at the first tmux call (a caller
    that replaces ``sys.stdout`` later, as a full-screen app does, needs this)."""
    _libtmux_runner()


def _register_libtmux_lazily() -> None:
    """Put libtmux in sys.modules without running its ``__init__`` (see above)."""
    spec = importlib.util.find_spec("libtmux")
    if spec is None or spec.loader is None:
        raise TmuxUnavailable("libtmux is not installed")
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    folder = Path(spec.origin or "").parent

    def load_all(name: str) -> Any:
        if (folder / f"{name}.py").exists() or (folder / name).is_dir():
            # ``from . import exc`` asks first: a submodule not imported yet is imported.
            raise AttributeError(name)
        del package.__getattr__
        loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = load_all  # type: ignore[method-assign]
    sys.modules["libtmux"] = package


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """``env`` as shell assignments for the pane wrapper to source, private to the user.

    Names a shell cannot assign (exported functions, odd characters) are left out.
    """
    lines = [
        f"{key}={shlex.quote(value)}"
        for key, value in env.items()
        if key not in _ENV_SKIP and key not in _SHELL_READONLY and _SHELL_NAME.fullmatch(key)
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write("\n".join(lines) + "\n")


def typed_as_keys(text: str) -> bool:
    """Whether :meth:`Tmux.type_text` types ``text`` as keys (one tmux write of a single
    line) rather than as a paste."""
    return "\n" not in text and len(text.encode()) <= _SEND_KEYS_LIMIT


def default_socket_path(name: str = "default", env: Mapping[str, str] | None = None) -> str:
    """Where tmux puts the socket of ``-L name``, for a process with ``env`` (ours by
    default): the folder follows ``TMUX_TMPDIR``, so a caller with another environment
    looks in another folder."""
    tmpdir = (os.environ if env is None else env).get("TMUX_TMPDIR") or "/tmp"
    return str(Path(tmpdir) / f"tmux-{os.getuid()}" / name)


@dataclass(frozen=True)
class ServerChoice:
    """Which tmux server to use, and whether the caller is a client of it."""

    socket_path: str
    caller_pane: str | None  # $TMUX_PANE when the caller runs inside this server


def choose_server(socket: str | None = None, env: Mapping[str, str] | None = None) -> ServerChoice:
    """``--socket``, else ``$HARNEX_TMUX_SOCKET``, else the caller's tmux server, else default.

    A socket containing ``/`` is a path (tmux ``-S``); otherwise a name (tmux ``-L``).
    """
    env = os.environ if env is None else env
    inside_path = env.get("TMUX", "").split(",")[0] or None
    caller_pane = env.get("TMUX_PANE") or None
    name = socket or env.get("HARNEX_TMUX_SOCKET") or None
    if name:
        path = name if "/" in name else default_socket_path(name)
    elif inside_path:
        path = inside_path
    else:
        path = default_socket_path()
    inside = inside_path is not None and os.path.realpath(inside_path) == os.path.realpath(path)
    return ServerChoice(socket_path=path, caller_pane=caller_pane if inside else None)


@dataclass(frozen=True)
class PanePlacement:
    session_id: str
    session_name: str
    window_id: str
    pane_id: str
    pane_pid: int


@dataclass(frozen=True)
class CursorLine:
    row: int  # counted from the top of the pane's history
    text: str


@dataclass(frozen=True)
class PaneStatus:
    pane_id: str
    window_id: str
    pid: int | None
    dead: bool
    dead_status: int | None
    dead_signal: int | None
    # Whether the transcript pipe is attached: its ``cat`` ends when the disk is full.
    piped: bool = True


class Tmux:
    """A handle on one tmux server, addressed by socket path."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._bin: str | None = None
        self._last_stderr: list[str] = []

    @property
    def binary(self) -> str:
        if self._bin is None:
            found = shutil.which("tmux")
            if found is None:
                raise TmuxUnavailable("tmux not found on PATH: install tmux 3.2 or newer")
            self._bin = found
        return self._bin

    def _run(self, *args: str) -> list[str]:
        runner, not_found = _libtmux_runner()
        try:
            # The clear error before libtmux's generic one, and the same command line as
            # ``libtmux.Server(socket_path=...).cmd(*args)``.
            result = runner(f"-S{self.socket_path}", *args, tmux_bin=self.binary)
        except not_found as exc:
            raise TmuxUnavailable("tmux not found on PATH: install tmux 3.2 or newer") from exc
        self._last_stderr = list(result.stderr)
        if result.returncode != 0:
            detail = "; ".join(result.stderr) or f"exit {result.returncode}"
            raise HarnexError(f"tmux {args[0]} failed: {detail}")
        return list(result.stdout)

    def _try(self, *args: str) -> list[str] | None:
        try:
            return self._run(*args)
        except TmuxUnavailable:
            raise
        except HarnexError:
            return None

    # --- server ---------------------------------------------------------------------------

    def version(self, timeout: float = 10.0) -> tuple[int, int] | None:
        """The (major, minor) ``tmux -V`` reports ("tmux 3.3a" is 3.3, "tmux next-3.5" 3.5),
        or None when its answer holds no version number."""
        import subprocess

        try:
            out = subprocess.run(
                [self.binary, "-V"],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            ).stdout
        except subprocess.TimeoutExpired as exc:
            raise TmuxUnavailable(f"{self.binary} -V did not answer within {timeout:g}s") from exc
        except OSError as exc:
            raise TmuxUnavailable(f"cannot run {self.binary}: {exc.strerror or exc}") from exc
        digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in out).split()
        try:
            major, minor = (int(p) for p in [*digits[0].split("."), "0"][:2])
        except (IndexError, ValueError):
            return None
        return major, minor

    def check_version(self) -> tuple[int, int]:
        found = self.version()
        if found is None:
            return MIN_VERSION
        major, minor = found
        if (major, minor) < MIN_VERSION:
            raise TmuxUnavailable(f"tmux {major}.{minor} is too old: harnex needs 3.2 or newer")
        return major, minor

    def session_of_pane(self, pane_id: str) -> str | None:
        out = self._try("display-message", "-p", "-t", pane_id, "#{session_id}")
        return out[0] if out else None

    # --- creating the agent's pane --------------------------------------------------------

    def create_agent_window(
        self,
        *,
        command: Sequence[str],
        window_name: str,
        cwd: str,
        env: Mapping[str, str],
        env_file: Path,
        exit_record: Path,
        ident: str,
        gate: str,
        target_session: str | None,
        session_name: str = DEFAULT_SESSION_NAME,
    ) -> PanePlacement:
        """Open a window whose pane waits at ``gate`` before starting ``command``.

        With ``target_session`` (the caller's own session) the window goes there; otherwise
        into ``session_name``, created detached when missing. The window is opened in the
        background so the caller keeps its focus. ``env`` reaches the pane through
        ``env_file`` (written private here, emptied by the pane once read).
        """
        self.ensure_socket_dir()
        write_env_file(env_file, env)
        argv = [
            "/bin/sh",
            "-c",
            _PANE_WRAPPER,
            "harnex-pane",
            str(exit_record),
            json.dumps(ident),
            self.binary,
            self.socket_path,
            gate,
            str(env_file),
            *command,
        ]
        fmt = "#{session_id}\t#{session_name}\t#{window_id}\t#{pane_id}\t#{pane_pid}"
        common = ["-P", "-F", fmt, "-n", window_name, "-c", cwd]
        try:
            # has-session prints nothing when the session exists: only None means it does not.
            missing = self._try("has-session", "-t", f"={session_name}") is None
            if target_session is None and missing:
                out = self._try(
                    "new-session", "-d", "-s", session_name, "-x", "200", "-y", "50", *common, *argv
                )
                if out is not None:
                    return self._placement(out)
                # Lost a race with another ``harnex run`` creating the same session.
            target = target_session or f"={session_name}"
            out = self._run("new-window", "-d", "-t", f"{target}:", *common, *argv)
            return self._placement(out)
        except BaseException:
            env_file.unlink(missing_ok=True)
            raise

    def _placement(self, out: list[str]) -> PanePlacement:
        # tmux can fail (e.g. it could not create its socket) yet exit 0 with nothing printed.
        fields = out[0].split("\t") if out else []
        if len(fields) != 5 or not fields[4].isdecimal():
            detail = "; ".join(self._last_stderr) or f"unexpected answer {out!r}"
            raise HarnexError(f"tmux could not open a window on {self.socket_path}: {detail}")
        session_id, session_name, window_id, pane_id, pane_pid = fields
        return PanePlacement(session_id, session_name, window_id, pane_id, int(pane_pid))

    def ensure_socket_dir(self) -> None:
        """Create the socket's folder as tmux does for ``-L``, which it skips for ``-S``.

        On a machine where tmux never ran, ``tmux-UID`` does not exist yet; tmux refuses a
        folder that others can enter, hence 0700.
        """
        folder = Path(self.socket_path).parent
        if folder.is_dir():
            return
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise HarnexError(f"cannot create the tmux socket folder {folder}: {exc}") from exc

    def prepare_pane(self, pane_id: str, output_log: Path, key: str) -> None:
        """Keep the pane after exit, tag it, and stream its output into the transcript."""
        # One tmux run for the three (``;`` separates commands), not one each.
        self._run(
            "set-option", "-p", "-t", pane_id, "remain-on-exit", "on", ";",
            "set-option", "-p", "-t", pane_id, "@harnex_key", key, ";",
            *self._pipe_args(pane_id, output_log),
        )  # fmt: skip

    def pipe_output(self, pane_id: str, output_log: Path) -> None:
        """(Re)attach the transcript pipe; appending keeps earlier output across restarts."""
        self._run(*self._pipe_args(pane_id, output_log))

    def _pipe_args(self, pane_id: str, output_log: Path) -> list[str]:
        # Created here, private: the shell's ``>>`` would use the umask.
        fd = os.open(output_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        os.close(fd)
        return ["pipe-pane", "-t", pane_id, f"exec cat >> {shlex.quote(str(output_log))}"]

    def release_gate(self, gate: str) -> None:
        self._run("wait-for", "-S", gate)

    # --- inspecting -----------------------------------------------------------------------

    def pane_status(self, pane_id: str) -> PaneStatus | None:
        names = ("pane_id", "window_id", "pane_pid", "pane_dead", "pane_dead_status")
        fmt = "\t".join("#{" + name + "}" for name in (*names, "pane_dead_signal", "pane_pipe"))
        out = self._try("display-message", "-p", "-t", pane_id, fmt)
        if not out or not out[0].startswith(pane_id + "\t"):
            return None
        pid, window, raw_pid, dead, status, signal, piped = out[0].split("\t")
        return PaneStatus(
            pane_id=pid,
            window_id=window,
            pid=int(raw_pid) if raw_pid.isdigit() else None,
            dead=dead == "1",
            dead_status=int(status) if status.lstrip("-").isdigit() else None,
            dead_signal=int(signal) if signal.isdigit() else None,
            piped=piped == "1",
        )

    def capture(self, pane_id: str, scrollback: int = 0) -> str:
        """The pane's text as a person sees it; ``scrollback`` adds that many history lines
        (all of the history when negative)."""
        args = ["capture-pane", "-p", "-t", pane_id]
        if scrollback < 0:
            args += ["-S", "-"]
        elif scrollback > 0:
            args += ["-S", str(-scrollback)]
        return "\n".join(self._run(*args))

    def cursor_line(self, pane_id: str) -> CursorLine | None:
        """The line the cursor is on, where a plain terminal program shows its input, and
        its place in the whole history (a submit moves it on, even when a new prompt
        looks just like the old one).

        One tmux run asks for the cursor and the visible screen together (``;`` between the
        commands), so both come from the same moment and the delivery path spawns one
        tmux process here, not two."""
        out = self._try(
            "display-message", "-p", "-t", pane_id, "#{history_size} #{cursor_y}", ";",
            "capture-pane", "-p", "-t", pane_id,
        )  # fmt: skip
        fields = out[0].split() if out else []
        if len(fields) != 2 or not all(f.isdecimal() for f in fields):
            return None
        assert out is not None
        row = int(fields[1])
        screen = out[1:]  # trailing blank lines are left out: the cursor's may be one
        text = screen[row].rstrip() if row < len(screen) else ""
        return CursorLine(int(fields[0]) + row, text)

    # --- typing ---------------------------------------------------------------------------

    def send_keys(self, pane_id: str, *keys: str) -> None:
        """Press named keys (``Enter``, ``C-c``, ``Up``): tmux key names, not text."""
        self._run("send-keys", "-t", pane_id, *keys)

    def type_text(self, pane_id: str, text: str) -> None:
        """Type ``text`` literally: short single lines as keys, anything else as a paste.

        Multi-line text goes through a bracketed paste so the agent sees one prompt rather
        than a submit at every newline.
        """
        if not text:
            return
        if typed_as_keys(text):
            self._run("send-keys", "-l", "-t", pane_id, "--", text)
            return
        self.paste(pane_id, text)

    def paste(self, pane_id: str, text: str) -> None:
        buffer = f"harnex-{os.getpid()}-{pane_id.lstrip('%')}"
        fd, path = tempfile.mkstemp(prefix="harnex-paste-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode())
            self._run("load-buffer", "-b", buffer, path)
        finally:
            os.unlink(path)
        self._run("paste-buffer", "-p", "-d", "-b", buffer, "-t", pane_id)

    # --- ending ---------------------------------------------------------------------------

    def kill_window(self, window_id: str) -> bool:
        return self._try("kill-window", "-t", window_id) is not None

    def has_session(self, name: str) -> bool:
        # has-session prints nothing when the session exists: only None means it does not.
        return self._try("has-session", "-t", f"={name}") is not None

    def show_window(self, window_id: str) -> None:
        """Make ``window_id`` its session's current window and, when the caller is a tmux
        client (``harnex dash`` inside tmux), show that session on the caller's client.
        With no client (a detached session), selecting the window is all there is to do."""
        self._run("select-window", "-t", window_id)
        self._try("switch-client", "-t", window_id)

    def open_window(
        self, name: str, argv: Sequence[str], cwd: str, session_name: str | None
    ) -> str:
        """A new window running ``argv`` in ``session_name`` (created detached when missing),
        or in the caller's session with None; returns its window id."""
        self.ensure_socket_dir()
        common = ["-P", "-F", "#{window_id}", "-n", name, "-c", cwd]
        if session_name is not None and not self.has_session(session_name):
            out = self._run("new-session", "-d", "-s", session_name, *common, *argv)
        else:
            target = [] if session_name is None else ["-t", f"={session_name}:"]
            out = self._run("new-window", *target, *common, *argv)
        if not out or not out[0].startswith("@"):
            raise HarnexError(f"tmux could not open a window on {self.socket_path}")
        return out[0]

    def attach_command(self, window_id: str) -> list[str]:
        """argv that attaches the current terminal to ``window_id``'s session at that window."""
        return [self.binary, "-S", self.socket_path, "attach-session", "-t", window_id]
