"""Every error harnex raises, each under HarnexError and carrying the exit code the CLI
reports for it, so one ``except HarnexError`` catches them all.

Exit codes are part of the interface scripts rely on: 0 ok, 1 error, 2 usage error,
3 a message typed but not confirmed (do not resend it blindly), 4 refused because the
session's budget is spent, 124 timed out.
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNCONFIRMED = 3
EXIT_BUDGET = 4
EXIT_TIMEOUT = 124


class HarnexError(Exception):
    """A failure with a one-line message meant for the user."""

    exit_code = EXIT_ERROR


class UsageError(HarnexError):
    exit_code = EXIT_USAGE


class TimedOut(HarnexError):
    exit_code = EXIT_TIMEOUT


class SessionNotFound(HarnexError):
    pass


class SidecarUnreachable(HarnexError):
    """The registry names a sidecar that does not answer (killed, or still starting)."""


class TmuxUnavailable(HarnexError):
    pass


class Cancelled(HarnexError):
    """The caller gave up waiting (an MCP client cancelled its request)."""


class FailedWithResult(HarnexError):
    """A failure that still has a result to give: a send that ended in an error names its
    message and says whether it was typed (``data``, the object ``harnex send`` prints)."""

    def __init__(self, message: str, data: dict[str, object]) -> None:
        super().__init__(message)
        self.data = data


class SendFailed(HarnexError):
    """The sidecar refused the send or answered with an error; ``body`` is its JSON answer,
    which ``harnex send`` reports as 0.4.0 did (it printed the sidecar's answer)."""

    def __init__(self, message: str, body: dict[str, Any], http_status: int | None) -> None:
        super().__init__(message)
        self.body = body
        self.http_status = http_status


class MessageError(HarnexError):
    """A message that cannot be typed; ``status`` is the HTTP answer the API gives."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class EventsUnreadable(HarnexError):
    """The events file cannot be read or holds something that is not an event."""


class DurationError(HarnexError):
    """The text is not a duration; the message says what is accepted."""


class PresetError(HarnexError):
    """A preset file that cannot be used; the message names the file and the problem."""


class AdapterFileError(HarnexError):
    """A file that cannot be used; the message is one line naming the file and the place."""


class AdapterCheckFailed(HarnexError):
    """``harnex adapters check`` found the file unusable: a usage error, exit 2."""

    exit_code = EXIT_USAGE


class GitError(HarnexError):
    """git is missing, or a git command failed; the message is git's own first line."""


class InboxFull(HarnexError):
    """The sidecar's inbox holds as many messages as it takes; the API answers 429."""


class MessageIdTaken(HarnexError):
    """A caller's message id already names a message with another text."""


class ApiError(HarnexError):
    """An answer of the sidecar's API other than success: ``status`` is the HTTP status, and
    ``extra`` goes into the JSON body next to the error text."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


class HostError(HarnexError):
    """A host of ``harnex hosts``: unknown, badly named, or not fit to run harnex; the
    message names the host and what to do."""


class HostUnreachable(HostError):
    """ssh could not connect to the host (or lost it before it could answer)."""


class BadOpRequest(HostError):
    """A request a host's op server cannot take (hosts/serve.py); the text is its one-line
    answer."""


class HostConnectionLost(HostUnreachable):
    """The connection to the host broke (or hung) after the command was handed over: it may
    have run there."""


class PriceFileError(HarnexError):
    """A price table that cannot be read or has a bad entry: the shipped table is used."""


class StateDirFull(HarnexError):
    """The state directory has no room (or cannot be written): new messages are refused,
    what is queued stays queued, and nothing is typed that could not be recorded first."""


class ResumeRefused(HarnexError):
    """A session that cannot be resumed: running, unknown, its folder or its CLI gone, or
    another ``harnex resume`` starting it right now."""


class BudgetError(HarnexError):
    """A budget that cannot be read (``--budget 5eur``), or an amount of the wrong kind."""

    exit_code = EXIT_USAGE


class BudgetReached(SendFailed):
    """The session spent its budget: the sidecar refused the message (HTTP 402) until
    ``harnex budget --add`` (or ``--clear``); the message says what was spent of what."""

    exit_code = EXIT_BUDGET
