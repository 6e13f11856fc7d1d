"""Plain terminal programs of the kinds the generic adapter meets, for the delivery tests.

Run as ``python plain_agents.py MODE --record FILE``. Every submitted line (empty ones too, so
a stray second Enter shows) is appended to FILE as a JSON line ``{"text": ...}``.

Modes:
- ``silent``: raw mode, echoes what it reads; after a submit prints one line, then works
  silently (sleeps) for ``--work`` seconds before its prompt comes back.
- ``slow-echo``: raw mode, echoes what it reads slowly (a few KiB at a time, with pauses).
- ``no-echo``: raw mode, never echoes input; after a submit it answers with one line.
- ``mute``: an event loop (select, then read) in raw mode that never echoes and never
  answers: neither the screen nor the kernel shows whether a submit took.
- ``cooked``: the terminal's line discipline does the echo (canonical mode, no bracketed
  paste); reads with ``readline()``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import termios
import time
import tty

PROMPT = "plain> "


def out(text: str) -> None:
    os.write(1, text.encode())


def record(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": text}) + "\n")


def raw_loop(args: argparse.Namespace) -> int:
    fd = 0
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        out(PROMPT)
        line = bytearray()
        while True:
            if args.mode == "mute":
                # An event loop: the kernel shows it waiting in select(), not in read().
                select.select([fd], [], [])
            data = os.read(fd, 65536)  # a blocking read(): the kernel shows it as reading
            if not data:
                return 0
            for byte in data:
                if byte in (13, 10):
                    text = line.decode("utf-8", errors="replace")
                    line.clear()
                    record(args.record, text)
                    if text == "/exit":
                        return 0
                    if args.mode == "mute":
                        continue
                    out(f"\r\nworking on {len(text)} chars\r\n")
                    time.sleep(args.work)  # silent: no output at all meanwhile
                    out(PROMPT)
                elif byte == 3:
                    return 0
                else:
                    line.append(byte)
            if args.mode == "silent":
                out(data.replace(b"\r", b"").decode("utf-8", errors="replace"))
            elif args.mode == "slow-echo":
                visible = data.replace(b"\r", b"")
                for start in range(0, len(visible), 4096):
                    os.write(1, visible[start : start + 4096])
                    time.sleep(0.02)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def cooked_loop(args: argparse.Namespace) -> int:
    while True:
        out(PROMPT)
        text = sys.stdin.readline()
        if not text:
            return 0
        text = text.rstrip("\n")
        record(args.record, text)
        if text == "/exit":
            return 0
        out(f"working on {len(text)} chars\n")
        time.sleep(args.work)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["silent", "slow-echo", "no-echo", "mute", "cooked"])
    parser.add_argument("--record", required=True)
    parser.add_argument("--work", type=float, default=0.0)
    args = parser.parse_args()
    if args.mode == "cooked":
        return cooked_loop(args)
    return raw_loop(args)


if __name__ == "__main__":
    sys.exit(main())
