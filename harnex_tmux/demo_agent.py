"""A tiny terminal agent for ``harnex demo`` and the test suite.

It behaves like the real agent CLIs where harnex cares: it reads its terminal in raw mode,
asks for bracketed paste, shows a prompt, goes busy (with an "esc to interrupt" status line
that keeps changing) after each submitted message, and then replies. With ``--record FILE`` it
appends every submitted message to FILE as a JSON line, so tests can check what arrived.

Commands typed at its prompt: ``/exit`` (exit 0), ``/exit N`` (exit N), ``/sleep S`` (stay busy
for S seconds). Ctrl-C at an empty prompt exits 0; while busy it interrupts the work.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import os
import re
import select
import sys
import termios
import time
import tty

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
HANGUP_EXIT = 128 + 1  # as if killed by SIGHUP, which is what a closed terminal means
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def out(text: str) -> None:
    os.write(1, text.replace("\n", "\r\n").encode())


class DemoAgent:
    def __init__(self, prompt: str, busy_s: float, record: str | None) -> None:
        self.prompt = prompt
        self.busy_s = busy_s
        self.record = record
        self.buffer: list[str] = []
        self.pending = b""
        self.in_paste = False
        self.count = 0
        # A paste arrives in chunks that may split a multi-byte character.
        self.paste_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def run(self) -> int:
        out("\x1b[?2004h")
        out("harnex demo agent: type a message, or /exit\n")
        out(self.prompt)
        while True:
            select.select([0], [], [])
            try:
                data = os.read(0, 65536)
            except OSError:
                return HANGUP_EXIT  # the pane was closed under us
            if not data:
                return 0
            code = self.feed(data)
            if code is not None:
                out("\x1b[?2004l")
                return code

    def feed(self, data: bytes) -> int | None:
        self.pending += data
        while self.pending:
            if self.in_paste:
                end = self.pending.find(PASTE_END)
                if end < 0:
                    # Keep a possible partial end marker for the next read.
                    keep = len(PASTE_END) - 1
                    chunk, self.pending = self.pending[:-keep], self.pending[-keep:]
                    if not chunk:
                        return None
                    self._paste(chunk)
                    continue
                self._paste(self.pending[:end], final=True)
                self.pending = self.pending[end + len(PASTE_END) :]
                self.in_paste = False
                continue
            if self.pending.startswith(PASTE_START):
                self.pending = self.pending[len(PASTE_START) :]
                self.in_paste = True
                continue
            if len(self.pending) < len(PASTE_START) and PASTE_START.startswith(self.pending):
                return None
            byte = self.pending[:1]
            if byte == b"\x1b":
                # Other escape sequences (arrows and such) are ignored whole.
                self.pending = self.pending[1:]
                while self.pending[:1] and self.pending[:1] in b"[O0123456789;":
                    self.pending = self.pending[1:]
                if self.pending[:1]:
                    self.pending = self.pending[1:]
                continue
            char, size = self._next_char()
            if char is None:
                return None
            self.pending = self.pending[size:]
            code = self._key(char)
            if code is not None:
                return code
        return None

    def _next_char(self) -> tuple[str | None, int]:
        for size in range(1, 5):
            try:
                return self.pending[:size].decode(), size
            except UnicodeDecodeError:
                if size >= len(self.pending):
                    return None, 0
        return "\ufffd", 1

    def _paste(self, chunk: bytes, final: bool = False) -> None:
        text = self.paste_decoder.decode(chunk, final=final)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.buffer.append(text)
        out(text)

    def _key(self, char: str) -> int | None:
        if char in ("\r", "\n"):
            return self._submit()
        if char == "\x03":
            if not self.buffer:
                out("^C\nbye\n")
                return 0
            self.buffer.clear()
            out("^C\n" + self.prompt)
            return None
        if char in ("\x7f", "\x08"):
            if self.buffer:
                last = self.buffer.pop()
                if len(last) > 1:
                    self.buffer.append(last[:-1])
                out("\b \b")
            return None
        self.buffer.append(char)
        out(char)
        return None

    def _submit(self) -> int | None:
        text = "".join(self.buffer)
        self.buffer.clear()
        out("\n")
        self.count += 1
        if self.record:
            with open(self.record, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"n": self.count, "text": text, "ts": time.time()}) + "\n")
        # A command may follow the session header that harnex puts before --context.
        words = re.sub(r"^\[harnex session id=[^\]]*\]\s*", "", text.strip()).split()
        if words[:1] == ["/exit"]:
            out("bye\n")
            return int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
        busy = self.busy_s
        if words[:1] == ["/sleep"] and len(words) > 1:
            with contextlib.suppress(ValueError):
                busy = float(words[1])
        if text.strip():
            interrupted = self._work(busy)
            first = text.strip().splitlines()[0] if text.strip() else ""
            reply = "interrupted" if interrupted else f"echo: {first[:60]}"
            lines = text.count("\n") + 1
            out(f"{reply} ({len(text)} chars, {lines} lines)\n")
        out(self.prompt)
        return None

    def _work(self, seconds: float) -> bool:
        """Stay busy, redrawing a status line; Ctrl-C or Esc interrupts."""
        start = time.monotonic()
        tick = 0
        while time.monotonic() - start < seconds:
            elapsed = time.monotonic() - start
            out(f"\r{SPINNER[tick % len(SPINNER)]} Working ({elapsed:.1f}s · esc to interrupt)")
            tick += 1
            ready, _, _ = select.select([0], [], [], 0.1)
            if ready:
                data = os.read(0, 65536)
                if b"\x03" in data or data == b"\x1b":
                    out("\r\x1b[K")
                    return True
                # Typed ahead while busy: keep it for the next prompt, like the real CLIs.
                self.pending += data
        out("\r\x1b[K")
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harnex-demo-agent", description=__doc__)
    parser.add_argument("--prompt", default="demo> ")
    parser.add_argument("--busy", type=float, default=1.0, help="seconds of work per message")
    parser.add_argument("--record", help="append each submitted message to this JSONL file")
    args = parser.parse_args(argv)
    agent = DemoAgent(args.prompt, args.busy, args.record)
    if not os.isatty(0):
        print("harnex demo agent needs a terminal", file=sys.stderr)
        return 2
    saved = termios.tcgetattr(0)
    try:
        tty.setraw(0)
        return agent.run()
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    sys.exit(main())
