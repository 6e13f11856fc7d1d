"""A terminal program that opens on a folder-trust dialog and quits on the first input it
reads, as Claude Code does when a forced send's keys choose "No, exit" in that dialog.

Run as ``python dialog_agent.py --record FILE``: what it read before quitting is appended to
FILE as one JSON line ``{"text": ...}``, so a test knows the text reached it.
"""

from __future__ import annotations

import argparse
import json
import os
import termios
import tty

SCREEN = "Do you trust this folder?\r\n ❯ 1. Yes, I trust this folder\r\n   2. No, exit\r\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    try:
        os.write(1, SCREEN.encode())
        data = os.read(0, 65536)
        with open(args.record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"text": data.decode("utf-8", errors="replace")}) + "\n")
        return 0
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    raise SystemExit(main())
