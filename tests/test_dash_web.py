"""``harnex dash --web`` served for real and loaded in headless Chromium: refused without
its token, and with it the page draws the live sessions of this test's private tmux server.

Set ``DASH_WEB_SCREENSHOT=path.png`` to keep the browser's picture of the page (that is
how docs/dash-web.png was made).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chromium import chromium, save_screenshot
from conftest import Harnex, wait_for

from tests.procs import alive, descendants

TOKEN = "a-token-the-test-chose-0123456789"


@dataclass
class Served:
    process: subprocess.Popen[str]
    port: int
    line: str  # what it printed first

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        raise AssertionError(f"harnex dash --web printed nothing within {timeout}s") from None


@contextlib.contextmanager
def serve(harnex: Harnex, *extra: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    process = harnex.popen("dash", "--web", *extra, env=env)
    try:
        line = _first_line(process, timeout=60)
        address = line.split("http://127.0.0.1:", 1)[1]
        port = int(address.split("/", 1)[0])
        yield Served(process, port, line.strip())
    finally:
        children = descendants(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError("harnex dash --web did not end on SIGTERM") from None
        # Each browser tab had a dashboard process of its own: they end with the server.
        try:
            wait_for(lambda: not [pid for pid in children if alive(pid)], timeout=30)
        finally:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, body, Set-Cookie) of one plain HTTP request."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = answer.read().decode()
            return answer.status, body, answer.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(), ""


def start_ready(harnex: Harnex, ident: str, description: str) -> None:
    harnex.start_demo(ident, "--description", description)
    harnex.run("wait", "--id", ident, "--until", "prompt", "--timeout", "30", check=True)


def test_the_browser_is_refused_without_the_token_and_sees_the_sessions_with_it(
    harnex: Harnex, tmp_path: Path
) -> None:
    start_ready(harnex, "web-parser", "implement the parser")
    start_ready(harnex, "web-review", "review the parser")
    with serve(harnex) as served, chromium() as browser:
        assert "?token=" in served.line
        token = served.line.split("?token=", 1)[1].split()[0]
        assert len(token) >= 16

        answered = lambda page: page.status is not None and bool(page.body_text)  # noqa: E731
        refused = browser.load(served.base, answered)
        assert refused.status == 401 and "needs its token" in refused.body_text
        wrong = browser.load(served.base + "?token=nope", answered)
        assert wrong.status == 403 and "wrong token" in wrong.body_text

        def shows_both(page: object) -> bool:
            text = getattr(page, "terminal_text", "")
            return (
                "-first-byte" in getattr(page, "body_class", "")
                and "web-parser" in text
                and "web-review" in text
                and "2 idle" in text
            )

        page = browser.load(served.base + f"?token={token}", shows_both, timeout=90, shot=True)
        assert page.status == 200
        assert "implement the parser" in page.terminal_text
        picture = tmp_path / "dash-web.png"
        save_screenshot(page, picture)
        assert picture.stat().st_size > 10_000  # a drawn screen, not a blank one
        keep = os.environ.get("DASH_WEB_SCREENSHOT")
        if keep:
            save_screenshot(page, Path(keep))


def test_every_route_needs_the_token_and_this_host(harnex: Harnex) -> None:
    """Plain HTTP, no browser: the page, the websocket and the static files are all behind
    the token; the cookie the first request sets carries it after; other hosts and other
    sites' pages are refused (DNS rebinding, cross-site websockets)."""
    with serve(harnex, env={"HARNEX_DASH_TOKEN": TOKEN}) as served:
        assert TOKEN not in served.line  # a token the user chose is not echoed
        base = served.base
        for path in ("", "ws", "static/js/textual.js", "static/css/xterm.css"):
            status, body, _ = _get(base + path)
            assert (status, body) == (401, body) and body.count("\n") == 1, path
            assert _get(f"{base}{path}?token=wrong-{TOKEN}")[0] == 403, path
        status, page, cookie = _get(f"{base}?token={TOKEN}")
        assert status == 200 and "textual.js" in page
        assert f"harnex_dash_{served.port}={TOKEN}" in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        with_cookie = {"Cookie": f"harnex_dash_{served.port}={TOKEN}"}
        assert _get(base + "static/js/textual.js", with_cookie)[0] == 200
        # The page loads nothing from anywhere but this address.
        addresses = [part.split('"')[0] for part in page.split('="http')[1:]]
        assert addresses and all(a.startswith(f"://127.0.0.1:{served.port}/") for a in addresses)
        elsewhere = {**with_cookie, "Host": f"attacker.example:{served.port}"}
        assert _get(base, elsewhere)[0] == 403
        other_site = {**with_cookie, "Origin": "http://attacker.example"}
        assert _get(base + "ws", other_site)[0] == 403


def test_read_only_serves_a_dashboard_without_the_acting_keys(harnex: Harnex) -> None:
    start_ready(harnex, "watched", "only watched")
    with serve(harnex, "--read-only", "--token", TOKEN) as served, chromium() as browser:
        assert "watch only" in served.line

        def drawn(page: object) -> bool:
            text = getattr(page, "terminal_text", "")
            return "watched" in text and "read-only" in text and "Filter" in text

        page = browser.load(f"{served.base}?token={TOKEN}", drawn, timeout=90)
        footer = page.terminal_text
        for acting in ("Send", "Answer", "Jump", "Stop", "Recover", "New"):
            assert acting not in footer, acting


def test_usage_errors_short_token_window_with_web_web_options_alone(harnex: Harnex) -> None:
    short = harnex.run("dash", "--web", "--token", "short")
    assert short.returncode == 2 and "at least 16" in short.stderr
    both = harnex.run("dash", "--web", "--window")
    assert both.returncode == 2 and "--window and --web" in both.stderr
    for option, value in (("--port", "8800"), ("--token", TOKEN)):
        alone = harnex.run("dash", option, value)
        assert alone.returncode == 2 and f"{option} goes with --web" in alone.stderr


def test_a_port_in_use_is_a_clear_error(harnex: Harnex) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        answer = harnex.run("dash", "--web", "--port", str(port), timeout=60)
    assert answer.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in answer.stderr
