"""Message text rules shared by ``harnex send`` and the sidecar: size, safety, relay header."""

from __future__ import annotations

import re

from harnex_tmux.errors import MessageError

MAX_MESSAGE_BYTES = 256 * 1024
RELAY_PREFIX = "[harnex relay "

# Whole escape sequences first, so no "[31m" is left behind when the ESC goes: CSI,
# OSC/DCS/SOS/PM/APC strings up to their terminator, then two-byte ESC sequences. C1 code
# points (U+0080-U+009F) go one by one below: as text they are too rare to guess lengths.
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]P^_X][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[ -/]*[0-~]"
)
# ESC and every other C0 control except tab and newline, DEL, and the C1 range: typed into a
# terminal these could move the cursor, retitle windows, or drive tmux itself.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def check_size(text: str) -> int:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise MessageError(400, "message is not valid UTF-8 text") from exc
    if size > MAX_MESSAGE_BYTES:
        raise MessageError(413, f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")
    return size


def sanitize(text: str) -> str:
    """Line endings made ``\\n``, then escape sequences and other terminal controls removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", _SEQUENCES.sub("", text))


def relay_header(sender_cli: str, sender_id: str, at: str) -> str:
    return f"{RELAY_PREFIX}from={sender_cli} id={sender_id} at={at}]"


def with_relay(text: str, sender_cli: str, sender_id: str, at: str) -> str:
    """Prefix the relay header unless the text already carries one."""
    if text.lstrip().startswith(RELAY_PREFIX):
        return text
    return f"{relay_header(sender_cli, sender_id, at)}\n{text}"


# A caller's own message id: safe in a URL path and a log line, and unlike ours ("msg-...").
MESSAGE_ID_RULE = "1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"
_MESSAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_message_id(message_id: str) -> str:
    if not _MESSAGE_ID.fullmatch(message_id):
        raise MessageError(400, f"message_id {message_id!r} is not allowed: {MESSAGE_ID_RULE}")
    return message_id


def without_relay(text: str) -> str:
    """The text as its sender wrote it: a relay header (which carries the time of sending,
    different on a retry) removed."""
    if text.lstrip().startswith(RELAY_PREFIX):
        return text.lstrip().partition("\n")[2]
    return text
