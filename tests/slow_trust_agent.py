"""A terminal program whose folder-trust dialog is drawn before it has finished starting, as
Claude Code 2.1.332's is: keys pressed in its first moments move the cursor on the screen,
but the dialog is then drawn again with the cursor back on "No, exit", and an Enter pressed
meanwhile acts on that. "Yes" leaves it at a prompt; "No" ends it with exit code 1.

Run as ``python slow_trust_agent.py --starting S`` (how long it takes to start).
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import termios
import time
import tty

OPTIONS = ("No, exit", "Yes, I trust this folder")
DOWN = (b"\x1b[B", b"\x1bOB")
UP = (b"\x1b[A", b"\x1bOA")


def draw(cursor: int) -> None:
    lines = [" Do you trust this folder?", ""]
    lines += [f" {'❯' if i == cursor else ' '} {text}" for i, text in enumerate(OPTIONS)]
    os.write(1, ("\x1b[2J\x1b[H" + "\r\n".join(lines) + "\r\n").encode())


def keys(data: bytes) -> list[str]:
    """The keys in one read: arrows and Enter; anything else is ignored."""
    found: list[str] = []
    while data:
        if data[:3] in DOWN or data[:3] in UP:
            found.append("down" if data[:3] in DOWN else "up")
            data = data[3:]
        else:
            if data[:1] in (b"\r", b"\n"):
                found.append("enter")
            data = data[1:]
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starting", type=float, default=0.6)
    args = parser.parse_args()
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    try:
        cursor, held = 0, 0
        draw(cursor)
        started = time.monotonic() + args.starting
        while time.monotonic() < started:  # starting: moves show, an Enter waits
            ready, _, _ = select.select([0], [], [], started - time.monotonic())
            if ready:
                for key in keys(os.read(0, 1024)):
                    if key == "enter":
                        held += 1
                    else:
                        cursor = 1 if key == "down" else 0
                        draw(cursor)
        cursor = 0  # drawn again once started: the cursor is back on the first option
        draw(cursor)
        pending = ["enter"] * held
        while True:
            if not pending:
                pending = keys(os.read(0, 1024))
            key = pending.pop(0) if pending else ""
            if key == "enter":
                break
            if key:
                cursor = 1 if key == "down" else 0
                draw(cursor)
        if cursor == 0:
            os.write(1, b"\x1b[2J\x1b[Hdeclined\r\n")
            return 1
        os.write(1, b"\x1b[2J\x1b[Htrusted\r\ntrust> ")
        while os.read(0, 1024):
            pass
        return 0
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    sys.exit(main())
