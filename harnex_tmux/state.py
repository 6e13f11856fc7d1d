"""Where a session's files live, and the registry records that let a stateless CLI find it.

Layout under the state root (``$HARNEX_STATE_DIR``, else ``$XDG_STATE_HOME/harnex``, else
``~/.local/state/harnex``), one file per session key ``<repo_hash>--<id key>``:

- ``sessions/<key>.json``  registry record, present while the sidecar runs
- ``output/<key>.log``     raw transcript appended by tmux ``pipe-pane``
- ``events/<key>.jsonl``   event log
- ``exits/<key>.json``     how the agent ended
- ``inbox/<key>.jsonl``    persisted message queue
- ``sidecar/<key>.log``    the sidecar's own diagnostics
- ``resume/<key>.json``   what it takes to start the session again (``harnex resume``)
- ``worktrees/<key>.json`` the session's git worktree (``run --worktree``), kept until
  ``harnex clean`` removes the worktree

Directories are 0700 and files 0600: the registry holds the bearer token.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from harnex_tmux.errors import UsageError
from harnex_tmux.tokens import sha256_hex, token_hex

SUBDIRS = (
    "sessions",
    "output",
    "events",
    "exits",
    "inbox",
    "sidecar",
    "worktrees",
    "agents",
    "resume",
    "budgets",
)


# Set to 1 in the harnex that another machine runs on this host (hosts/installer.py's
# remote command, and so the op server it starts): there ``NAME:id`` names a session by its
# id alone, in whichever repository of this host it was started (``run --on --cwd DIR``);
# see session/find.py. A `run` there is not given it (its tmux server and agents would keep it).
ANY_REPO_ENV = "HARNEX_ANY_REPO"


def state_root() -> Path:
    explicit = os.environ.get("HARNEX_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "harnex"
    return Path.home() / ".local" / "state" / "harnex"


def ensure_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def utc_now() -> str:
    """UTC time, ISO-8601 to the second with a ``Z`` suffix (the events-log format)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- ids and keys -----------------------------------------------------------------------------


def epoch_of(text: object) -> float | None:
    """A stored timestamp as seconds since the epoch; None when it is missing or not one
    (state read from files and other hosts is taken as it comes)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_time(text).timestamp()
    except ValueError:
        return None


def normalize_id(raw: str) -> str:
    ident = raw.strip()
    if not ident:
        raise UsageError("--id must not be empty")
    return ident


# The ids a new session may take. Each maps to a file name (its key) that no other id in the
# set shares except by case or by swapping . _ - ; lookups compare ids exactly, so one id
# names one session. Ids from before this rule (``a/b``) still find and stop their sessions.
ID_RULE = "1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_id(raw: str) -> str:
    """The id a new session is started with (trimmed), or a one-line usage error: the one
    check the CLI, the library's launch and the MCP ``run`` tool all go through."""
    ident = normalize_id(raw)
    if not _SAFE_ID.fullmatch(ident):
        raise UsageError(f"id {ident!r} is not allowed: {ID_RULE}")
    return ident


def id_key(ident: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "-", ident.lower()).strip("-")
    if not key:
        raise UsageError(f"id {ident!r} has no letters or digits to name its files by")
    return key


def repo_hash(repo_root: str) -> str:
    return sha256_hex(repo_root.encode())[:16]


def session_key(repo_root: str, ident: str) -> str:
    return f"{repo_hash(repo_root)}--{id_key(ident)}"


_ADJECTIVES = [
    "amber",
    "brave",
    "calm",
    "clever",
    "crisp",
    "eager",
    "fair",
    "gentle",
    "happy",
    "keen",
    "lively",
    "lucky",
    "mellow",
    "nimble",
    "polite",
    "quiet",
    "rapid",
    "sharp",
    "steady",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "witty",
    "zesty",
    "bold",
    "bright",
    "cosy",
    "jolly",
]
_NOUNS = [
    "badger",
    "beacon",
    "cedar",
    "comet",
    "falcon",
    "fern",
    "harbor",
    "heron",
    "lantern",
    "maple",
    "meadow",
    "otter",
    "pebble",
    "quartz",
    "raven",
    "river",
    "sparrow",
    "spruce",
    "summit",
    "thistle",
    "tiger",
    "walnut",
    "willow",
    "wren",
    "atlas",
    "bison",
]


def random_id(taken: Collection[str] = ()) -> str:
    """A two-word id not in ``taken`` (the ids in use in the repo)."""
    free = [f"{a}-{n}" for a in _ADJECTIVES for n in _NOUNS if f"{a}-{n}" not in taken]
    if not free:
        return f"session-{token_hex(4)}"
    import random  # random's own hash is built in: no OpenSSL (see harnex_tmux.tokens)

    return random.SystemRandom().choice(free)


def cli_key(name: str | None) -> str:
    """An agent name as filters compare it (``Claude`` and ``claude`` are one)."""
    return re.sub(r"[^a-z0-9]+", "-", (name or "").strip().lower()).strip("-")


def repo_root_for(path: str | os.PathLike[str] | None = None) -> str:
    """The git top-level containing ``path`` (default: cwd), else the directory itself.

    A linked worktree (``git worktree add``, ``run --worktree``) counts as its main checkout:
    its sessions belong to the original repository, so ids resolve the same from either.
    Walks up looking for ``.git`` rather than running git: this runs on every CLI call.
    """
    start = Path(path if path is not None else os.getcwd()).expanduser().resolve()
    for candidate in (start, *start.parents):
        marker = candidate / ".git"
        if marker.is_file():
            return _main_checkout(candidate, marker) or str(candidate)
        if marker.exists():
            return str(candidate)
    return str(start)


def _main_checkout(top: Path, marker: Path) -> str | None:
    """The main checkout of the linked worktree at ``top``, from its ``.git`` file
    (``gitdir: <repo>/.git/worktrees/<name>``, whose ``commondir`` leads to ``<repo>/.git``).
    None for anything else with a ``.git`` file, such as a submodule."""
    try:
        line = marker.read_text(encoding="utf-8").strip()
        if not line.startswith("gitdir:"):
            return None
        gitdir = top / line.removeprefix("gitdir:").strip()
        common = (gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except (OSError, UnicodeDecodeError):
        return None
    if common.name != ".git" or not common.is_dir():
        return None
    return str(common.parent)


# --- paths ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionPaths:
    """Every file that belongs to one session key."""

    root: Path
    key: str

    @classmethod
    def for_session(cls, repo_root: str, ident: str, root: Path | None = None) -> SessionPaths:
        return cls(root or state_root(), session_key(repo_root, ident))

    @property
    def registry(self) -> Path:
        return self.root / "sessions" / f"{self.key}.json"

    @property
    def output_log(self) -> Path:
        return self.root / "output" / f"{self.key}.log"

    @property
    def events_log(self) -> Path:
        return self.root / "events" / f"{self.key}.jsonl"

    @property
    def exit_record(self) -> Path:
        return self.root / "exits" / f"{self.key}.json"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox" / f"{self.key}.jsonl"

    @property
    def launch_env(self) -> Path:
        """The agent's environment, read and removed by its pane as it starts."""
        return self.root / "sidecar" / f"{self.key}.env"

    @property
    def agent_dir(self) -> Path:
        """A private folder for the agent's per-session wiring (settings an adapter writes)."""
        return self.root / "agents" / self.key

    @property
    def sidecar_log(self) -> Path:
        return self.root / "sidecar" / f"{self.key}.log"

    @property
    def resume_card(self) -> Path:
        """What ``harnex resume`` needs to continue the session: kept after it ends."""
        return self.root / "resume" / f"{self.key}.json"

    @property
    def resume_lock(self) -> Path:
        return self.root / "resume" / f"{self.key}.lock"

    @property
    def budget(self) -> Path:
        """The session's budget and what was done for it (kept across sidecar restarts)."""
        return self.root / "budgets" / f"{self.key}.json"

    @property
    def worktree(self) -> Path:
        return self.root / "worktrees" / f"{self.key}.json"

    def create_dirs(self) -> None:
        ensure_dir(self.root)  # itself private too, not only what is inside it
        for sub in SUBDIRS:
            ensure_dir(self.root / sub)


def write_private(path: Path, data: str) -> None:
    """Write atomically with mode 0600: readers never see half a file."""
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            # On disk before it replaces the old file: a crash leaves one or the other whole.
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def append_line(path: Path, line: bytes, *, sync: bool = False) -> None:
    """Append one whole record line (mode 0600), for the logs and journals that grow by small
    records instead of being rewritten.

    One ``write()`` on an ``O_APPEND`` descriptor keeps the line whole for concurrent writers
    and readers. A torn tail left by a crash gets a newline first, so the new record starts on
    a line of its own; a write the disk could take only part of is cut back to the old length
    and raised, so no half record is left for the next one to be glued to. ``sync``: on disk
    before this returns (the inbox journal must be true before a key is pressed).
    """
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        try:
            if os.write(fd, line) != len(line):
                raise OSError(errno.ENOSPC, "short write")
            if sync:
                os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


R = TypeVar("R")


def read_record(path: Path, from_dict: Callable[[dict[str, Any]], R]) -> R | None:
    """The typed record in the JSON file ``path``; None when it is missing, unreadable or
    not such a record (a file being written, or one without its required fields: the
    record's constructor raises TypeError)."""
    data = read_json(path)
    if data is None:
        return None
    try:
        return from_dict(data)
    except TypeError:
        return None


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


# --- registry ---------------------------------------------------------------------------------


@dataclass
class SessionRecord:
    """The registry record of a live session (``sessions/<key>.json``)."""

    id: str
    cli: str
    repo_root: str
    host: str
    port: int
    token: str
    session_id: str
    started_at: str
    output_log_path: str
    events_log_path: str
    description: str | None = None
    pid: int | None = None
    injected_count: int = 0
    last_injected_at: str | None = None
    tmux_socket: str | None = None
    tmux_session: str | None = None
    window_id: str | None = None
    pane_id: str | None = None
    pane_pid: int | None = None
    sidecar_pid: int | None = None
    adapter: str | None = None
    watch: dict[str, Any] | None = None
    # The session's git worktree (``worktree.WorktreeRecord`` as a dict), when it has one.
    worktree: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionRecord:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        record = cls(**known)
        record.extra = {k: v for k, v in data.items() if k not in names}
        return record

    @classmethod
    def load(cls, path: Path) -> SessionRecord | None:
        """The record in ``path``; None when it is missing, unreadable or not a record (a
        file being written, or one without its required fields)."""
        return read_record(path, cls.from_dict)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data

    @property
    def key(self) -> str:
        return session_key(self.repo_root, self.id)

    @property
    def paths(self) -> SessionPaths:
        return SessionPaths(state_root(), self.key)

    def save(self, path: Path) -> None:
        write_private(path, json.dumps(self.to_dict(), indent=2) + "\n")


def json_files(folder: Path) -> list[Path]:
    """The ``*.json`` files of a state folder, by name; none when the folder cannot be listed
    (missing, or unreadable): readers of the registry, the resume cards and doctor list
    what is there and must not fail on a state dir that is not (yet) there."""
    try:
        return sorted(folder.glob("*.json"))
    except OSError:
        return []


def iter_registry(root: Path | None = None) -> Iterator[tuple[Path, SessionRecord]]:
    for path in json_files((root or state_root()) / "sessions"):
        record = SessionRecord.load(path)
        if record is not None:
            yield path, record


def list_sessions(
    repo_root: str | None = None, cli: str | None = None, root: Path | None = None
) -> list[SessionRecord]:
    """Registry records, optionally only one repo's and one adapter's."""
    records = []
    for _, record in iter_registry(root):
        if repo_root is not None and record.repo_root != repo_root:
            continue
        if cli is not None and cli_key(cli) not in (cli_key(record.cli), cli_key(record.adapter)):
            continue
        records.append(record)
    return records


def process_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it has ended for our purposes.
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[0] != b"Z"
    except (OSError, IndexError):
        return True


@dataclass
class ExitRecord:
    """How a session's agent ended (``exits/<key>.json``)."""

    id: str
    code: int | None
    signal: int | None
    ended_at: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ExitRecord | None:
        data = read_json(path)
        if data is None or "id" not in data:
            return None
        known = {"id", "code", "signal", "ended_at"}
        return cls(
            id=str(data["id"]),
            code=data.get("code"),
            signal=data.get("signal"),
            ended_at=str(data.get("ended_at") or ""),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def locate(self, session: SessionRecord) -> None:
        """Note where the session ran, so ``pane`` and ``stop`` find its kept pane later."""
        self.extra.update(
            {
                "cli": session.cli,
                "repo_root": session.repo_root,
                "tmux_socket": session.tmux_socket,
                "window_id": session.window_id,
                "pane_id": session.pane_id,
                # Where the agent wrote its usage, for `harnex usage` after the end.
                "usage_sources": session.extra.get("usage_sources", []),
            }
        )

    def event_payload(self) -> dict[str, Any]:
        """The ``exited`` event's payload: the code, and the signal only when there was one."""
        payload: dict[str, Any] = {"code": self.code}
        if self.signal is not None:
            payload["signal"] = self.signal
        return payload

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "code": self.code,
            "signal": self.signal,
            "ended_at": self.ended_at,
        }
        data.update(self.extra)
        return data

    def save(self, path: Path) -> None:
        write_private(path, json.dumps(self.to_dict()) + "\n")
