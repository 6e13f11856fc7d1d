"""What the agent CLIs run on their own events, reporting them to the session's sidecar.

Claude Code (with ``HARNEX_CLAUDE_HOOKS=command``; by default it posts to the sidecar itself),
Gemini CLI and Qwen Code run ``<python> -S hook.py claude|gemini|qwen <Event>`` with the event
as JSON on stdin; Codex runs ``<python> -S hook.py codex [--chain JSON-ARGV] <payload JSON>``
after each turn. A CLI with a notification command of its own (an adapter file's
``[ready]``) runs ``<python> -S hook.py notify <adapter> <event>``, which reports the event
with no payload. This runs on every turn, so it imports only the standard library (the
sidecars started it with ``-S``, skipping site-packages, and by file path), and it must never
break the agent: whatever goes wrong, it prints nothing and exits 0.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

TIMEOUT_S = 2.0


def _sidecar() -> tuple[str, int, str] | None:
    path = os.environ.get("HARNEX_REGISTRY")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        return str(record["host"]), int(record["port"]), str(record["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # the session ended or its sidecar is restarting


def post(source: str, event: str, payload: Any) -> None:
    target = _sidecar()
    if target is None:
        return
    host, port, token = target
    body = json.dumps({"source": source, "event": event, "payload": payload}).encode()
    head = (
        f"POST /hook HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
            sock.sendall(head + body)
            while sock.recv(4096):
                pass
    except OSError:
        pass


def _chain(argv: list[str], payload_text: str) -> None:
    """Run the user's own Codex notify program too, as Codex would have."""
    import subprocess  # only Codex sessions with a notify program of their own pay for it

    try:
        subprocess.Popen(
            [*argv, payload_text],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return


def main(argv: list[str]) -> int:
    try:
        if argv[:1] in (["claude"], ["gemini"], ["qwen"]) and len(argv) >= 2:
            raw = sys.stdin.read()
            post(argv[0], argv[1], json.loads(raw) if raw.strip() else {})
        elif argv[:1] == ["notify"] and len(argv) == 3:
            post(argv[1], argv[2], {})
        elif argv[:1] == ["codex"] and len(argv) >= 2:
            payload_text = argv[-1]
            if len(argv) >= 4 and argv[1] == "--chain":
                chained = json.loads(argv[2])
                if isinstance(chained, list) and chained:
                    _chain([str(a) for a in chained], payload_text)
            payload = json.loads(payload_text)
            event = payload.get("type", "unknown") if isinstance(payload, dict) else "unknown"
            post("codex", str(event), payload)
    except Exception:  # never let a reporting problem reach the agent
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
