"""What goes over the kept channel to a host's op server (``harnex hosts serve``), written
once for both ends.

A request is one JSON line (``op``, ``args``, ``stdin``: how many bytes of stdin follow)
and then those bytes: message text and tokens travel here, never on a command line. The
server answers an ``accepted`` line once it starts the command (before it, nothing ran:
the client may send the request again by any path), then one ``done`` line with the
command's exit code and the lengths of its stdout and stderr, then those bytes. Any refusal
is a single ``error`` line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harnex_tmux.errors import BadOpRequest

# A request line longer than this is refused before it is parsed (arguments only: message
# text goes in the stdin part).
MAX_LINE = 64 * 1024
# The most stdin a request may carry (a message is typed into a terminal: far below this).
MAX_STDIN = 64 * 1024 * 1024
VERSION = 1
# The commands a request may run: the short operations on sessions the other machine makes
# (what streams or holds a terminal keeps its own ssh command).
COMMANDS = ("status", "send", "pane", "stop", "recover", "events", "wait")


@dataclass(frozen=True)
class Request:
    """One command for the op server: ``op`` is ``run`` (``harnex ARGS``) or ``ping``."""

    op: str
    args: list[str] = field(default_factory=list)
    stdin: bytes = b""

    def encode(self) -> bytes:
        head = {"v": VERSION, "op": self.op, "args": self.args, "stdin": len(self.stdin)}
        return json.dumps(head).encode() + b"\n" + self.stdin


def parse_head(line: bytes) -> tuple[str, list[str], int]:
    """A request line as (op, args, stdin length); BadOpRequest says what is wrong with it."""
    try:
        head = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadOpRequest(f"not a JSON request line ({exc.__class__.__name__})") from None
    if not isinstance(head, dict):
        raise BadOpRequest("a request is a JSON object")
    if head.get("v") != VERSION:
        raise BadOpRequest(f"protocol version {head.get('v')!r}, this server speaks {VERSION}")
    op, args, size = head.get("op"), head.get("args", []), head.get("stdin", 0)
    if op not in ("run", "ping"):
        raise BadOpRequest(f"unknown op {op!r}")
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise BadOpRequest("args must be a list of strings")
    if any("\0" in arg for arg in args):
        raise BadOpRequest("an argument holds a NUL byte")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_STDIN:
        raise BadOpRequest(f"stdin must be a byte count from 0 to {MAX_STDIN}")
    return op, list(args), size


def line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode() + b"\n"


@dataclass(frozen=True)
class Reply:
    """What came back on one connection, read to its end.

    ``accepted``: the server started the command, so it may have had its effect even when
    no ``done`` follows. ``head`` is the ``done``, ``pong`` or ``error`` line."""

    accepted: bool
    head: dict[str, Any] | None
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def complete(self) -> bool:
        return self.head is not None and ("done" in self.head or "pong" in self.head)


def parse_reply(data: bytes) -> Reply:
    """The bytes a connection gave, read to end-of-file; a cut answer is not complete."""
    accepted = False
    rest = data
    while rest:
        first, sep, tail = rest.partition(b"\n")
        if not sep:
            break
        try:
            head = json.loads(first)
        except (UnicodeDecodeError, json.JSONDecodeError):
            break
        if not isinstance(head, dict):
            break
        if "accepted" in head:
            accepted, rest = True, tail
            continue
        if "done" in head:
            out, err = head.get("stdout"), head.get("stderr")
            if not isinstance(out, int) or not isinstance(err, int) or len(tail) < out + err:
                break
            return Reply(accepted, head, tail[:out], tail[out : out + err])
        return Reply(accepted, head)
    return Reply(accepted, None)


def last_json(text: str) -> Any:
    """The JSON a remote ``harnex ... --json`` printed: its last non-empty line, parsed
    (lines before it may be warnings); None when that line is not JSON."""
    for line in reversed(text.splitlines()):
        if line.strip():
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None
