"""Errors that carry the exit code the CLI reports for them.

Exit codes are part of the interface scripts rely on: 0 ok, 1 error, 2 usage error,
3 a message typed but not confirmed (do not resend it blindly), 124 timed out.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNCONFIRMED = 3
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


class StateDirFull(HarnexError):
    """The state directory has no room (or cannot be written): new messages are refused,
    what is queued stays queued, and nothing is typed that could not be recorded first."""


class ResumeRefused(HarnexError):
    """A session that cannot be resumed: running, unknown, its folder or its CLI gone, or
    another ``harnex resume`` starting it right now."""
