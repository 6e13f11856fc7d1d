"""A terminal program that opens with a yes/no question, for the dashboard's answer key.

Run as ``python dash_agents.py --record FILE``: it shows "Allow the change? (y/n)", records
the key that answers it as ``{"answer": KEY}``, clears the screen, then prompts ``> `` and
records every submitted line as ``{"text": ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import termios
import tty


def record(path: str, item: dict[str, str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(item) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    try:
        os.write(1, b"Allow the change? (y/n)")
        key = os.read(0, 16).decode(errors="replace")
        record(args.record, {"answer": key})
        os.write(1, b"\x1b[2J\x1b[Hanswered\r\n> ")
        line = b""
        while True:
            data = os.read(0, 4096)
            if not data:
                return 0
            for byte in data:
                if byte in (10, 13):
                    record(args.record, {"text": line.decode(errors="replace")})
                    line = b""
                    os.write(1, b"\r\n> ")
                elif byte == 3:
                    return 0
                else:
                    line += bytes([byte])
                    os.write(1, bytes([byte]))
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    raise SystemExit(main())
