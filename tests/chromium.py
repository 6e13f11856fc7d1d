"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol, for the web
dashboard's tests.

The dashboard draws into a canvas (xterm.js), so the page's DOM holds no text: what the
browser received is read from its own record of the websocket's frames (the DevTools
``Network`` events), and the body's ``-first-byte`` class says the terminal drew them.
Chromium is installed when missing (``apt-get``, as root); when it cannot be, the tests fail
with the reason rather than skip, so CI never passes without having looked.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM = "chromium"
LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
# CSI and OSC sequences, and the single-character escapes, of the terminal stream.
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def ensure_chromium() -> str:
    found = shutil.which(CHROMIUM)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("chromium is not installed and cannot be here: run apt-get install chromium")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", CHROMIUM]
    done = subprocess.run(install, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env)
        done = subprocess.run(install, capture_output=True, text=True, env=env)
    found = shutil.which(CHROMIUM)
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        pytest.fail(f"could not install chromium with apt-get: {' / '.join(tail)}")
    return found


@dataclass
class Loaded:
    """What the browser made of one address."""

    status: int | None = None  # the page's HTTP status
    body_text: str = ""
    body_class: str = ""
    frames: bytearray = field(default_factory=bytearray)  # websocket bytes received
    screenshot: bytes | None = None

    @property
    def terminal_text(self) -> str:
        """The terminal stream without its escape sequences."""
        return ESCAPES.sub(b"", bytes(self.frames)).decode("utf-8", "replace")


class Chromium:
    """One headless browser (its own profile folder), ended with :meth:`close`."""

    def __init__(self, width: int = 1500, height: int = 900) -> None:
        binary = ensure_chromium()
        self.profile = tempfile.mkdtemp(prefix="harnex-chromium-")
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",  # as root (CI) Chromium refuses to start with its sandbox
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.browser_ws = self._listening(deadline=time.monotonic() + 60)

    def _listening(self, deadline: float) -> str:
        assert self.process.stderr is not None
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            seen.append(line.strip())
            found = LISTENING.search(line)
            if found:
                # Keep reading what it says, so a full pipe never stops the browser.
                threading.Thread(target=self._drain, daemon=True).start()
                return found.group(1)
        self.close()
        raise AssertionError("chromium did not start its DevTools endpoint: " + " / ".join(seen))

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            pass

    def load(
        self, url: str, until: Callable[[Loaded], bool], timeout: float = 60.0, shot: bool = False
    ) -> Loaded:
        """Open ``url`` in a new tab and wait until ``until`` holds (or fail after timeout)."""
        return asyncio.run(self._load(url, until, timeout, shot))

    async def _load(
        self, url: str, until: Callable[[Loaded], bool], timeout: float, shot: bool
    ) -> Loaded:
        loaded = Loaded()
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(self.browser_ws, max_msg_size=0) as ws,
        ):
            devtools = _DevTools(ws, loaded)
            reader = asyncio.create_task(devtools.read())
            try:
                target = await devtools.call("Target.createTarget", url="about:blank")
                attached = await devtools.call(
                    "Target.attachToTarget", targetId=target["targetId"], flatten=True
                )
                session = attached["sessionId"]
                await devtools.call("Network.enable", session=session)
                await devtools.call("Page.enable", session=session)
                await devtools.call("Page.navigate", session=session, url=url)
                deadline = time.monotonic() + timeout
                while True:
                    answer = await devtools.call(
                        "Runtime.evaluate",
                        session=session,
                        expression="[document.body ? document.body.innerText : '',"
                        " document.body ? document.body.className : '']",
                        returnByValue=True,
                    )
                    value = answer.get("result", {}).get("value") or ["", ""]
                    loaded.body_text, loaded.body_class = value[0], value[1]
                    if until(loaded):
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"the page at {url} did not get there within {timeout}s: status "
                            f"{loaded.status}, body {loaded.body_text[:200]!r}, terminal text "
                            f"{loaded.terminal_text[-400:]!r}"
                        )
                    await asyncio.sleep(0.2)
                if shot:
                    picture = await devtools.call(
                        "Page.captureScreenshot", session=session, format="png"
                    )
                    loaded.screenshot = base64.b64decode(picture["data"])
                await devtools.call("Target.closeTarget", targetId=target["targetId"])
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        return loaded

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


class _DevTools:
    """Calls over one DevTools websocket, and the events this test wants from it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, loaded: Loaded) -> None:
        self.ws = ws
        self.loaded = loaded
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def call(self, method: str, session: str | None = None, **params: Any) -> Any:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = answer
        await self.ws.send_str(json.dumps(message))
        result = await asyncio.wait_for(answer, timeout=60)
        if "error" in result:
            raise AssertionError(f"DevTools {method} failed: {result['error']}")
        return result.get("result", {})

    async def read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.waiting:
                self.waiting.pop(data["id"]).set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Network.responseReceived" and params.get("type") == "Document":
                self.loaded.status = int(params["response"]["status"])
            elif method == "Network.webSocketFrameReceived":
                frame = params["response"]
                payload = frame.get("payloadData", "")
                if frame.get("opcode") == 2:
                    self.loaded.frames += base64.b64decode(payload)


@contextlib.contextmanager
def chromium() -> Iterator[Chromium]:
    browser = Chromium()
    try:
        yield browser
    finally:
        browser.close()


def save_screenshot(loaded: Loaded, path: Path) -> None:
    assert loaded.screenshot is not None and loaded.screenshot.startswith(b"\x89PNG")
    path.write_bytes(loaded.screenshot)
