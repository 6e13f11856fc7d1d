"""``harnex mcp``'s tools on sessions of another host (``NAME:id``, and ``run`` with a
host), driven by the MCP SDK's own client, through the real OpenSSH server of
``tests/sshd.py`` (see tests/test_hosts_ssh.py)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import Harnex, recorded, wait_for
from tests.remote_host import NAME, Remote

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def connect(harnex: Harnex) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "harnex_tmux", "mcp"],
        env=dict(harnex.env),
        cwd=str(harnex.repo),
    )
    async with Client(params, mode="legacy") as client:
        yield client


def run_async(harnex: Harnex, body: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        async with connect(harnex) as client:
            await body(client)

    anyio.run(main)


def ok(result: mcp_types.CallToolResult) -> dict[str, Any]:
    text = "\n".join(c.text for c in result.content if isinstance(c, mcp_types.TextContent))
    assert not result.is_error, text
    assert result.structured_content is not None
    return result.structured_content


def test_status_send_wait_pane_events_stop_on_a_host(remote: Remote) -> None:
    """Every tool that takes an id takes ``NAME:id``; the message arrives once, also when
    sent again with its message id."""
    h = remote.harnex
    remote.start_demo("m1")
    target = f"{NAME}:m1"
    text = "over mcp and ssh\nsecond line: héllo ✓"

    async def body(client: Client) -> None:
        waited = ok(
            await client.call_tool("wait", {"id": target, "until": "prompt", "timeout": 60})
        )
        assert waited["state"] == "prompt" and waited["id"] == target
        status = ok(await client.call_tool("status", {"id": target}))
        assert [(row["machine"], row["id"]) for row in status["sessions"]] == [(NAME, "m1")]
        everyone = ok(await client.call_tool("status", {}))
        assert (NAME, "m1") in {(row.get("machine"), row["id"]) for row in everyone["sessions"]}

        sent = ok(await client.call_tool("send", {"id": target, "message": text}))
        assert sent["status"] == "delivered" and sent["id"] == target, sent
        again = ok(
            await client.call_tool(
                "send", {"id": target, "message": text, "message_id": sent["message_id"]}
            )
        )
        assert again["message_id"] == sent["message_id"]

        shot = ok(await client.call_tool("pane", {"id": target, "lines": 20}))
        assert shot["id"] == target and "demo>" in shot["text"]
        events = ok(await client.call_tool("events", {"id": target}))
        types = [event["type"] for event in events["events"]]
        assert events["id"] == target and types[0] == "started" and "delivered" in types

    run_async(h, body)
    assert wait_for(lambda: recorded(remote.record("m1")), timeout=30) == [text]
    time.sleep(1.0)  # room for a second copy to show, were there one
    assert recorded(remote.record("m1")) == [text]

    async def stop(client: Client) -> None:
        stopped = ok(await client.call_tool("stop", {"id": target, "timeout": 20}))
        assert stopped["ok"] is True and stopped["id"] == target

    run_async(h, stop)
    assert h.json("status", "--host", NAME, "--json") == []


def _server_threads() -> int:
    """The thread count of the ``harnex mcp`` this test started (its child)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and b"mcp" in cmdline and b"harnex_tmux" in cmdline:
            return len(list((stat.parent / "task").iterdir()))
    raise AssertionError("no harnex mcp child found")


def test_a_remote_wait_holds_no_thread_and_blocks_nothing(remote: Remote) -> None:
    """Waits on a host in flight while other calls are answered; the server's threads do
    not grow with them (the ssh commands run on its event loop)."""
    h = remote.harnex
    remote.start_demo("m2")
    target = f"{NAME}:m2"
    counts: list[int] = []

    async def body(client: Client) -> None:
        ok(await client.call_tool("wait", {"id": target, "until": "prompt", "timeout": 60}))
        ok(await client.call_tool("status", {"id": target}))  # its worker thread is made
        counts.append(_server_threads())
        outcomes: list[dict[str, Any]] = []

        async def wait_busy() -> None:
            result = await client.call_tool("wait", {"id": target, "until": "busy", "timeout": 120})
            outcomes.append(ok(result))

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(wait_busy)
            # Other calls are answered while the three waits are pending.
            with anyio.fail_after(60):
                while True:
                    listed = ok(await client.call_tool("status", {"id": target}))
                    if listed["sessions"] and not outcomes:
                        break
            # The waits are in flight: their ssh commands run (the remote waits started).
            wait_for(lambda: len(_remote_waits(remote)) >= 3, timeout=60)
            counts.append(_server_threads())
            ok(await client.call_tool("send", {"id": target, "message": "/sleep 3"}))
        assert [o["state"] for o in outcomes] == ["busy"] * 3

    run_async(h, body)
    assert counts[1] <= counts[0], counts


def _remote_waits(remote: Remote) -> list[str]:
    """The commands running on the host for this machine: the children of its op server
    (each one a ``harnex wait`` here, forked to run the op; hosts/serve.py)."""
    server = remote.harnex.json("hosts", "check", NAME, "--json")["channel"]["server"]
    found = remote.host.ssh(f"pgrep -P {int(server['pid'])}")
    return found.stdout.splitlines()


def test_run_on_a_host_with_a_first_message(remote: Remote) -> None:
    h = remote.harnex
    record = remote.record("m3")
    args = ["-m", "harnex_tmux.demo_agent", "--busy", "0.2", "--record", str(record)]

    async def body(client: Client) -> None:
        started = ok(
            await client.call_tool(
                "run",
                {
                    "cli": remote.python,
                    "id": "m3",
                    "args": args,
                    "host": NAME,
                    "context": "first words",
                },
            )
        )
        assert started["id"] == f"{NAME}:m3"

    run_async(h, body)
    # As a local run's context: the agent's id first, so it can say where to reply.
    assert wait_for(lambda: recorded(record), timeout=60) == ["[harnex session id=m3] first words"]
    rows = h.json("status", "--host", NAME, "--json")
    assert [row["id"] for row in rows] == ["m3"]


def test_a_cancelled_remote_send_is_found_by_its_message_id_and_typed_once(
    remote: Remote,
) -> None:
    """The client gives up on a send while the remote agent is busy: its ssh command is
    killed and the message withdrawn on the host, so sending again with the same message id
    queues it once more, and it is typed once."""
    h = remote.harnex
    remote.start_demo("m4")
    target = f"{NAME}:m4"
    h.run("wait", "--id", target, "--until", "prompt", "--timeout", "60", check=True)

    async def body(client: Client) -> None:
        # Busy far longer than the 3 s the client gives the send below, counted from when
        # the server is up (its start takes seconds on a loaded machine).
        ok(await client.call_tool("send", {"id": target, "message": "/sleep 20"}))
        ok(await client.call_tool("wait", {"id": target, "until": "busy", "timeout": 60}))
        args = {"id": target, "message": "once only", "message_id": "mcp-cancel-1"}
        with anyio.move_on_after(3) as scope:
            await client.call_tool("send", args)
        assert scope.cancelled_caught  # the agent was busy: the call was still waiting
        again = ok(await client.call_tool("send", dict(args, timeout=120)))
        assert again["message_id"] == "mcp-cancel-1" and again["status"] == "delivered", again

    run_async(h, body)
    assert wait_for(lambda: len(recorded(remote.record("m4"))) >= 2, timeout=60)
    time.sleep(1.0)  # room for a second copy to show, were there one
    assert recorded(remote.record("m4")) == ["/sleep 20", "once only"]


def test_run_on_a_host_with_a_budget_then_the_budget_tool(remote: Remote) -> None:
    """``run`` with a host and a budget starts the session there with that budget, and the
    ``budget`` tool shows, raises and clears it by ``NAME:id``."""
    h = remote.harnex

    async def body(client: Client) -> None:
        started = ok(
            await client.call_tool(
                "run",
                {
                    "cli": remote.python,
                    "args": ["-m", "harnex_tmux.demo_agent"],
                    "id": "mb",
                    "host": NAME,
                    "budget": "$2.50",
                },
            )
        )
        target = started["id"]
        assert target == f"{NAME}:mb"
        shown = ok(await client.call_tool("budget", {"id": target}))
        assert shown["id"] == target, shown
        assert (shown["budget"]["kind"], shown["budget"]["limit"]) == ("usd", 2.5), shown
        raised = ok(await client.call_tool("budget", {"id": target, "add": "1usd"}))
        assert raised["budget"]["limit"] == 3.5, raised
        bad = await client.call_tool("budget", {"id": target, "add": "5eur"})
        assert bad.is_error
        cleared = ok(await client.call_tool("budget", {"id": target, "clear": True}))
        assert cleared["budget"] is None

    run_async(h, body)


def test_run_on_a_host_in_a_folder_there(remote: Remote) -> None:
    """The ``run`` tool's ``cwd`` with ``host``: a folder on that host (``~`` its user's
    home); one that is not there is the tool's error naming the host, nothing started."""
    h = remote.harnex
    folder = f"mcp-{h.socket}"
    assert remote.host.ssh("mkdir", "-p", folder).returncode == 0
    args = ["-m", "harnex_tmux.demo_agent", "--busy", "0"]

    async def body(client: Client) -> None:
        run = {"cli": remote.python, "id": "m5", "args": args, "host": NAME}
        started = ok(await client.call_tool("run", {**run, "cwd": f"~/{folder}"}))
        assert started["id"] == f"{NAME}:m5"
        (row,) = [r for r in h.json("status", "--host", NAME, "--json") if r["id"] == "m5"]
        assert row["repo_root"] == f"{remote.host.home}/{folder}", row
        missing = await client.call_tool("run", {**run, "id": "m6", "cwd": "~/no-such-folder"})
        text = "\n".join(c.text for c in missing.content if isinstance(c, mcp_types.TextContent))
        assert missing.is_error
        assert text == f"harnex: host '{NAME}': no folder '~/no-such-folder' to start in (--cwd)"
        ok(await client.call_tool("stop", {"id": f"{NAME}:m5", "timeout": 20}))

    try:
        run_async(h, body)
        rows = h.json("status", "--host", NAME, "--json")
    finally:
        remote.host.ssh("rm", "-rf", folder)
    assert [row["id"] for row in rows] == [], "m5 stopped, m6 never started"
