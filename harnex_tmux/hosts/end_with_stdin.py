"""The remote half of a followed command (``pane``/``logs``/``events --follow`` on a host):
end when the ssh channel that asked for it is gone.

Without a terminal, sshd does not signal a command whose client went away; the command
would learn of it only on its next write, and a follower may write nothing for hours. The
client keeps the command's stdin open and never writes to it, so end-of-file there means
the client is gone (its Ctrl-C, SIGTERM, SIGKILL, or a dropped connection).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

ENV = "HARNEX_END_WITH_STDIN"


def watch_if_asked() -> None:
    """When this process was started for a follower (``ENV`` set), end it with SIGTERM
    once its stdin reaches end-of-file. The variable is removed so that nothing this
    process starts inherits it."""
    if os.environ.pop(ENV, None) != "1":
        return

    def wait_for_eof() -> None:
        with open(sys.stdin.fileno(), "rb", buffering=0, closefd=False) as stdin:
            while stdin.read(4096):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait_for_eof, name="end-with-stdin", daemon=True).start()
