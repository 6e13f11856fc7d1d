"""``harnex mcp`` under load and under hostile input: waits in flight never starve other
calls, numbers are bounded, a failed or cancelled send is never typed later, a retry with
the same message id is typed once, and sidecars started through the server are reaped."""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from conftest import Figures, Harnex, recorded
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from test_mcp import PYTHON, demo_args, ok, run_async, text_of


@asynccontextmanager
async def http_server(harnex: Harnex) -> AsyncIterator[tuple[str, str]]:
    """``harnex mcp --http 0`` for this test: its URL and token."""
    with harnex.mcp_http() as line:
        match = re.fullmatch(r"harnex mcp: serving (\S+) token (\w+)", line)
        assert match, line
        yield match[1], match[2]


@asynccontextmanager
async def http_client(url: str, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=300)
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def test_two_hundred_waits_in_flight_starve_neither_status_nor_stop(
    harnex: Harnex, figures: Figures
) -> None:
    """200 ``wait`` calls from 4 clients on one server (more than its worker threads), then
    ``status`` from a fifth client is answered and ``stop`` ends the session, which ends
    every wait. (How fast status answers meanwhile: scripts/bench.py, mcp_under_load.)"""
    harnex.start_demo("busy-target")
    harnex.run("wait", "--id", "busy-target", "--until", "prompt", "--timeout", "30", check=True)
    results: list[Any] = []

    async def main() -> None:
        async with http_server(harnex) as (url, token):

            async def waiter(count: int) -> None:
                async with http_client(url, token) as client, anyio.create_task_group() as group:
                    for _ in range(count):

                        async def one() -> None:
                            args = {"id": "busy-target", "until": "busy", "timeout": 300}
                            results.append(await client.call_tool("wait", args))

                        group.start_soon(one)

            async with anyio.create_task_group() as waiters:
                for _ in range(4):
                    waiters.start_soon(waiter, 50)
                async with http_client(url, token) as other:
                    # Every wait has reached the sidecar: it holds 200 long-polls.
                    await anyio.sleep(3)
                    with anyio.fail_after(60):
                        rows = ok(await other.call_tool("status", {"id": "busy-target"}))
                        assert rows["sessions"][0]["state"] == "prompt"
                        assert not results  # the waits are all still pending
                        stopped = ok(
                            await other.call_tool("stop", {"id": "busy-target", "timeout": 20})
                        )
                    assert stopped["id"] == "busy-target"

    anyio.run(main)
    figures.record("waits in flight", len(results))
    assert len(results) == 200
    # Stopping types the agent's exit sequence, which may show it busy for a moment: each
    # wait ends either way, none is left hanging.
    outcomes = {
        text_of(result) if result.is_error else result.structured_content["state"]  # type: ignore[index]
        for result in results
    }
    assert outcomes <= {"busy", "harnex: session 'busy-target' exited before reaching 'busy'"}


def test_numbers_are_finite_and_bounded(harnex: Harnex, figures: Figures) -> None:
    harnex.start_demo("nums")

    async def body(client: Client) -> None:
        refused = []
        for name, args in [
            ("wait", {"id": "nums", "timeout": 1e300}),
            ("wait", {"id": "nums", "timeout": -1}),
            ("send", {"id": "nums", "message": "x", "timeout": 86401}),
            ("stop", {"id": "nums", "timeout": 1e12}),
            ("pane", {"id": "nums", "lines": 10**9}),
            # Strings and booleans are not numbers, "yes" is not true.
            ("wait", {"id": "nums", "timeout": "5"}),
            ("send", {"id": "nums", "message": "x", "reply": "yes"}),
            ("pane", {"id": "nums", "lines": True}),
        ]:
            result = await client.call_tool(name, args)
            assert result.is_error, (name, args, text_of(result))
            refused.append(name)
        figures.record("out-of-range or mistyped numbers refused", len(refused))

    run_async(harnex, body)


@pytest.fixture
def busy_demo(harnex: Harnex, tmp_path: Path) -> Path:
    """A demo agent at its prompt, recording what it gets."""
    record = tmp_path / "received.jsonl"
    harnex.start_demo("bz", record=record)
    harnex.run("wait", "--id", "bz", "--until", "prompt", "--timeout", "30", check=True)
    return record


async def keep_busy(client: Client, seconds: float) -> None:
    ok(await client.call_tool("send", {"id": "bz", "message": f"/sleep {seconds:g}"}))
    ok(await client.call_tool("wait", {"id": "bz", "until": "busy", "timeout": 10}))


def test_a_send_that_times_out_or_is_cancelled_is_never_typed(
    harnex: Harnex, busy_demo: Path, figures: Figures
) -> None:
    async def body(client: Client) -> None:
        await keep_busy(client, 4)
        late = await client.call_tool("send", {"id": "bz", "message": "zero", "timeout": 0})
        assert late.is_error and "withdrawn, never typed" in text_of(late)
        assert late.structured_content is not None
        assert late.structured_content["typed"] is False
        assert late.structured_content["status"] == "timeout"
        with anyio.move_on_after(1.0) as scope:
            await client.call_tool("send", {"id": "bz", "message": "cancelled", "timeout": 60})
        assert scope.cancelled_caught
        ok(await client.call_tool("wait", {"id": "bz", "until": "prompt", "timeout": 30}))
        # Long enough for a message left queued to be typed by now.
        await anyio.sleep(2)
        assert ok(await client.call_tool("status", {"id": "bz"}))["sessions"][0]["inbox"] == 0

    run_async(harnex, body)
    got = recorded(busy_demo)
    assert got == ["/sleep 4"]
    figures.record("sends timed out (timeout 0) or cancelled while queued", 2)
    figures.record("of them typed later", got.count("zero") + got.count("cancelled"))


def test_a_retry_with_the_same_message_id_is_typed_once(
    harnex: Harnex, busy_demo: Path, figures: Figures
) -> None:
    async def body(client: Client) -> None:
        await keep_busy(client, 3)
        first = await client.call_tool(
            "send", {"id": "bz", "message": "once", "timeout": 0.5, "message_id": "job-1"}
        )
        assert first.is_error  # withdrawn: the retry may go again
        again = {"id": "bz", "message": "once", "timeout": 30, "message_id": "job-1"}
        second = ok(await client.call_tool("send", again))
        assert second["status"] == "delivered" and second["message_id"] == "job-1"
        third = ok(await client.call_tool("send", again))
        assert third["status"] == "delivered" and third["message_id"] == "job-1"
        other = await client.call_tool(
            "send", {"id": "bz", "message": "another", "message_id": "job-1"}
        )
        assert text_of(other) == "harnex: message_id 'job-1' names another message"
        bad = await client.call_tool("send", {"id": "bz", "message": "x", "message_id": "a/b"})
        assert bad.is_error and "is not allowed" in text_of(bad)
        ok(await client.call_tool("wait", {"id": "bz", "until": "prompt", "timeout": 30}))
        await anyio.sleep(1)

    run_async(harnex, body)
    assert recorded(busy_demo) == ["/sleep 3", "once"]
    # The CLI's --message-id finds the same message: no third copy.
    cli = harnex.json("send", "--id", "bz", "-m", "once", "--message-id", "job-1")
    assert cli["status"] == "delivered" and cli["message_id"] == "job-1"
    time.sleep(1)
    assert recorded(busy_demo) == ["/sleep 3", "once"]
    figures.record("sends with one message id", 4)
    figures.record("times typed", recorded(busy_demo).count("once"))


def zombies_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z" and int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def mcp_server_pid() -> int:
    """The ``harnex mcp`` this test process started (the stdio client's child)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"harnex_tmux" in cmd and b"mcp" in cmd:
            return int(entry.name)
    raise AssertionError("no harnex mcp child found")


def test_sidecars_started_through_the_server_are_reaped(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    cycles = 20
    counts: dict[str, int] = {}

    async def body(client: Client) -> None:
        for i in range(cycles):
            args = {"cli": PYTHON, "id": f"z{i}", "args": demo_args(tmp_path / f"r{i}.jsonl")}
            ok(await client.call_tool("run", args))
            ok(await client.call_tool("stop", {"id": f"z{i}", "timeout": 20}))
        server = mcp_server_pid()
        # The reaper looks twice a second; give a loaded machine a few seconds.
        for _ in range(100):
            counts["zombies"] = len(zombies_of(server))
            if not counts["zombies"]:
                break
            await anyio.sleep(0.1)

    run_async(harnex, body)
    assert counts["zombies"] == 0
    figures.record("run/stop cycles through one harnex mcp", cycles)
    figures.record("<defunct> sidecars left", counts["zombies"])


def test_bad_calls_get_one_line_in_the_tools_terms(harnex: Harnex, figures: Figures) -> None:
    """What a client we did not write may send: wrong types, missing and out-of-range
    arguments, ids and times that do not exist. Each answer is one line naming the argument,
    with no schema-library dump and no command-line flag the caller never typed."""
    harnex.start_demo("terms")
    flag = re.compile(r"(?<![\w-])--[a-z]")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("wait", {"id": "terms", "timeout": "5"}),
        ("wait", {"id": "terms", "timeout": 1e300}),
        ("wait", {"id": "terms", "until": "sideways"}),
        ("wait", {"id": "terms", "until": "task_complete", "after_turn": -1}),
        ("send", {"id": "terms"}),
        ("send", {"id": ["terms"], "message": "x"}),
        ("send", {"id": "terms", "message": "x", "message_id": "a/b"}),
        ("pane", {"id": "terms", "lines": True}),
        ("run", {"cli": "sh", "id": "a/b"}),
        ("run", {"cli": "sh", "args": "-c"}),
        ("events", {"id": "terms", "since": "yesterday"}),
        ("stop", {"id": ""}),
        ("report", {"message": "done"}),
        ("status", {"all": "yes"}),
        ("resume", {"id": "terms", "all": True}),
        ("resume", {"id": "terms"}),
        ("resume", {"fresh": 1}),
    ]
    texts: list[str] = []

    async def body(client: Client) -> None:
        for name, args in calls:
            result = await client.call_tool(name, args)
            assert result.is_error, (name, args)
            texts.append(text_of(result))

    run_async(harnex, body)
    multi_line = [t for t in texts if "\n" in t or "pydantic" in t]
    flags = [t for t in texts if flag.search(t)]
    assert not multi_line and not flags, multi_line + flags
    assert all(t.startswith("harnex: ") for t in texts), texts
    figures.record("bad calls", len(calls))
    figures.record("answers longer than one line", len(multi_line))
    figures.record("answers naming a CLI flag", len(flags))
