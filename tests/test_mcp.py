"""``harnex mcp`` over stdio, driven by the MCP SDK's own client: the tools it lists, each
tool against a real session (the demo agent on this test's private tmux server), errors,
progress, concurrency and cancellation."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types
import pytest
from conftest import MCP_TOOLS, Harnex, recorded, wait_for
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from harnex_tmux.tmux import default_socket_path
from harnex_tmux.waits import UNTIL

PYTHON = sys.executable
TOOLS = MCP_TOOLS


@asynccontextmanager
async def connect(harnex: Harnex, **env: str) -> AsyncIterator[Client]:
    """A client talking to ``harnex mcp`` started as an agent would start it: a child
    process on stdio, in the repo, with this test's socket and state dir."""
    params = StdioServerParameters(
        command=PYTHON,
        args=["-m", "harnex_tmux", "mcp"],
        env=dict(harnex.env, **env),
        cwd=str(harnex.repo),
    )
    # The initialize handshake, as the agent CLIs of today connect.
    async with Client(params, mode="legacy") as client:
        yield client


def run_async(harnex: Harnex, body: Callable[[Client], Awaitable[None]], **env: str) -> None:
    async def main() -> None:
        async with connect(harnex, **env) as client:
            await body(client)

    anyio.run(main)


def ok(result: mcp_types.CallToolResult) -> dict[str, Any]:
    """The structured result of a call that must have succeeded."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def text_of(result: mcp_types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, mcp_types.TextContent))


def demo_args(record: Path) -> list[str]:
    return ["-m", "harnex_tmux.demo_agent", "--busy", "0.3", "--record", str(record)]


def test_lists_the_tools_with_typed_inputs(harnex: Harnex) -> None:
    async def body(client: Client) -> None:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and tool.output_schema is not None
        send = tools["send"].input_schema
        assert set(send["required"]) == {"id", "message"}
        assert send["properties"]["reply"]["type"] == "boolean"
        until = tools["wait"].input_schema["properties"]["until"]
        assert {"prompt", "busy", "exit", "task_complete"} <= set(until["enum"])
        assert set(until["enum"]) == set(UNTIL)
        assert tools["run"].input_schema["required"] == ["cli"]
        resume = tools["resume"].input_schema
        assert "required" not in resume or resume["required"] == []
        assert resume["properties"]["all"]["type"] == "boolean"
        assert resume["properties"]["fresh"]["type"] == "boolean"
        annotations = tools["resume"].annotations
        assert annotations is not None
        assert (annotations.read_only_hint, annotations.destructive_hint) == (False, False)
        assert annotations.idempotent_hint is True
        limit = tools["run"].input_schema["properties"]["budget"]
        assert {"type": "string", "maxLength": 40} in limit["anyOf"]
        budget = tools["budget"].input_schema
        assert budget["required"] == ["id"]
        assert budget["properties"]["clear"]["type"] == "boolean"
        assert {"type": "string", "maxLength": 40} in budget["properties"]["add"]["anyOf"]
        annotations = tools["budget"].annotations
        assert annotations is not None
        assert (annotations.read_only_hint, annotations.destructive_hint) == (False, False)
        assert annotations.idempotent_hint is False, "add twice adds twice"

    run_async(harnex, body)


def test_offers_tools_only_and_marks_the_read_only_ones(harnex: Harnex) -> None:
    """No empty prompt or resource lists advertised for a client to go looking in; the tools
    that change nothing say so, so a client may run them without asking."""

    async def body(client: Client) -> None:
        capabilities = client.server_capabilities
        assert capabilities is not None and capabilities.tools is not None
        assert capabilities.prompts is None and capabilities.resources is None
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        read_only = {
            name
            for name, tool in tools.items()
            if tool.annotations is not None and tool.annotations.read_only_hint
        }
        assert read_only == {"status", "pane", "wait", "events"}

    run_async(harnex, body)


def test_each_tool_against_a_real_session(harnex: Harnex, tmp_path: Path) -> None:
    """run, wait, send, status, pane, events and stop on one demo session, all through MCP;
    the session is a normal one that the CLI sees too."""
    record = tmp_path / "received.jsonl"

    async def body(client: Client) -> None:
        started = ok(
            await client.call_tool(
                "run",
                {"cli": PYTHON, "id": "w1", "description": "via mcp", "args": demo_args(record)},
            )
        )
        assert started["id"] == "w1" and started["tmux_socket"] == default_socket_path(
            harnex.socket
        )
        waited = ok(await client.call_tool("wait", {"id": "w1", "until": "prompt", "timeout": 30}))
        assert waited == {"ok": True, "id": "w1", "state": "prompt"}
        # The CLI sees the session started through MCP.
        listed = harnex.json("status", "--json")
        assert [row["id"] for row in listed] == ["w1"]
        assert listed[0]["description"] == "via mcp"

        sent = ok(await client.call_tool("send", {"id": "w1", "message": "hello over mcp"}))
        assert sent["ok"] is True and sent["status"] == "delivered" and sent["message_id"]
        assert wait_for(lambda: recorded(record), timeout=20) == ["hello over mcp"]

        status = ok(await client.call_tool("status", {"id": "w1"}))
        assert [row["id"] for row in status["sessions"]] == ["w1"]
        assert "token" not in status["sessions"][0]
        everyone = ok(await client.call_tool("status", {}))
        assert [row["id"] for row in everyone["sessions"]] == ["w1"]

        async def shows_reply() -> dict[str, Any]:
            while True:
                shot = ok(await client.call_tool("pane", {"id": "w1", "lines": 20}))
                if "hello over mcp" in shot["text"]:
                    return shot
                await anyio.sleep(0.2)

        with anyio.fail_after(20):
            shot = await shows_reply()
        assert shot["id"] == "w1" and shot["lines"] == 20

        events = ok(await client.call_tool("events", {"id": "w1"}))
        types = [event["type"] for event in events["events"]]
        assert events["id"] == "w1" and types[0] == "started" and "delivered" in types
        later = ok(await client.call_tool("events", {"id": "w1", "since": "2999-01-01T00:00:00Z"}))
        assert later["events"] == []

        stopped = ok(await client.call_tool("stop", {"id": "w1", "timeout": 20}))
        assert stopped["ok"] is True and stopped["id"] == "w1"
        assert ok(await client.call_tool("status", {}))["sessions"] == []

    run_async(harnex, body)
    assert recorded(record) == ["hello over mcp"]


def test_send_with_reply_times_out_like_the_cli(harnex: Harnex, tmp_path: Path) -> None:
    """``reply: true`` holds the call after delivery until the turn's end is reported; a plain
    terminal agent reports none, so the call ends with the CLI's timeout line. (The reply
    itself is covered end to end with Claude Code in tests/e2e/test_mcp_agents.py.)"""
    record = tmp_path / "received.jsonl"
    harnex.start_demo("rp", record=record)
    harnex.run("wait", "--id", "rp", "--until", "prompt", "--timeout", "30", check=True)

    async def body(client: Client) -> None:
        args = {"id": "rp", "message": "2+2?", "reply": True, "timeout": 3}
        result = await client.call_tool("send", args)
        assert result.is_error and text_of(result) == "harnex: delivered, but no reply within 3s"

    run_async(harnex, body)
    assert recorded(record) == ["2+2?"]


def test_a_budget_through_run_and_the_budget_tool_refuses_and_releases_the_send_tool(
    harnex: Harnex, tmp_path: Path
) -> None:
    """run with a budget; a spent budget refuses the send tool with the CLI's line in the
    tool's terms; the budget tool shows it, raises it (the send goes through) and clears it."""
    from harnex_tmux.session.client import SidecarClient

    record = tmp_path / "received.jsonl"
    transcript = tmp_path / "session.jsonl"
    message = {"id": "m1", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 12}}
    transcript.write_text(json.dumps({"type": "assistant", "message": message}) + "\n")

    async def start(mcp: Client) -> None:
        bad = await mcp.call_tool("run", {"cli": PYTHON, "id": "mb", "budget": "5eur"})
        assert bad.is_error and text_of(bad) == (
            "harnex: argument 'budget': invalid budget '5eur' "
            "(use e.g. 5usd, $2.50, 2M, 150k or 2000000 (tokens))"
        )
        assert harnex.registry() == [], "nothing started"
        args = {"cli": PYTHON, "id": "mb", "budget": "10", "args": demo_args(record)}
        ok(await mcp.call_tool("run", args))

    run_async(harnex, start)
    (entry,) = harnex.registry()
    client = SidecarClient(entry["host"], entry["port"], entry["token"])
    hook = {"hook_event_name": "SessionStart", "transcript_path": str(transcript)}
    client.request("POST", "/hook/claude", hook)
    wait_for(lambda: (client.status().get("budget") or {}).get("state") == "exceeded", 20)
    cli = harnex.run("send", "--id", "mb", "-m", "hi")
    assert cli.returncode == 4
    line = "budget reached: spent 12 tokens of 10 tokens"
    assert cli.stderr.strip() == f"harnex: {line} (harnex budget --id mb --add 1M)"

    async def body(mcp: Client) -> None:
        result = await mcp.call_tool("send", {"id": "mb", "message": "hi"})
        assert result.is_error and text_of(result) == (
            f"harnex: {line} (the budget tool with id mb and add 1M lets it go on)"
        )
        shown = ok(await mcp.call_tool("budget", {"id": "mb"}))["budget"]
        assert (shown["spent"], shown["limit"], shown["state"]) == (12, 10, "exceeded")
        wrong = await mcp.call_tool("budget", {"id": "mb", "add": "2usd"})
        assert wrong.is_error and text_of(wrong) == (
            "harnex: the budget is in tokens; add tokens, not 2 USD"
        )
        both = await mcp.call_tool("budget", {"id": "mb", "add": "1k", "clear": True})
        assert text_of(both) == "harnex: give either add or clear, not both"
        typed = await mcp.call_tool("budget", {"id": "mb", "add": 5})
        assert (
            typed.is_error and text_of(typed) == "harnex: budget: argument 'add' must be a string"
        )
        raised = ok(await mcp.call_tool("budget", {"id": "mb", "add": "1k"}))["budget"]
        assert (raised["limit"], raised["state"]) == (1010, "ok")
        ok(await mcp.call_tool("send", {"id": "mb", "message": "hi"}))
        assert ok(await mcp.call_tool("budget", {"id": "mb", "clear": True}))["budget"] is None

    run_async(harnex, body)
    assert recorded(record) == ["hi"]


def test_errors_carry_the_clis_one_line_messages(harnex: Harnex) -> None:
    harnex.start_demo("idle")
    harnex.run("wait", "--id", "idle", "--until", "prompt", "--timeout", "30", check=True)
    cli_line = harnex.run("send", "--id", "nope", "-m", "hi").stderr.strip()
    assert cli_line == f"harnex: no session 'nope' in {harnex.repo}"

    async def body(client: Client) -> None:
        for name, args in [
            ("send", {"id": "nope", "message": "hi"}),
            ("pane", {"id": "nope"}),
            ("wait", {"id": "nope", "until": "prompt", "timeout": 1}),
            ("stop", {"id": "nope"}),
            ("events", {"id": "nope"}),
        ]:
            result = await client.call_tool(name, args)
            assert result.is_error and text_of(result) == cli_line, (name, text_of(result))

        empty = await client.call_tool("send", {"id": "idle", "message": ""})
        assert empty.is_error and text_of(empty) == "harnex: the message is empty"

        timed_out = await client.call_tool("wait", {"id": "idle", "until": "busy", "timeout": 0.5})
        assert timed_out.is_error
        assert text_of(timed_out) == "harnex: session 'idle' did not reach 'busy' within 0.5s"

        # The CLI's line names its flag (--from); the tool's names the argument.
        bad_since = await client.call_tool("events", {"id": "idle", "since": "yesterday"})
        assert bad_since.is_error and text_of(bad_since) == (
            "harnex: since 'yesterday' is not an ISO-8601 time (e.g. 2025-01-31T09:30:00Z)"
        )

        # Arguments the schema refuses never reach harnex: one line naming the argument.
        for name, args, line in [
            ("wait", {"id": "idle", "until": "sideways"}, "argument 'until' must be one of "),
            ("send", {"id": "idle"}, "argument 'message' is required"),
            ("pane", {"id": "idle", "lines": 0}, "argument 'lines' must be at least 1"),
            ("run", {}, "argument 'cli' is required"),
            ("send", {"id": 7, "message": "x"}, "argument 'id' must be a string"),
            ("wait", {"id": "idle", "timeout": "5"}, "argument 'timeout' must be a number"),
            ("wait", {"id": "idle", "timeout": 1e9}, "argument 'timeout' must be at most 86400"),
            ("stop", {"id": "idle", "timeout": -1}, "argument 'timeout' must be at least 0"),
            ("send", {"id": "idle", "message": "x", "reply": "yes"}, "argument 'reply' must be "),
            ("run", {"cli": "sh", "args": "-c"}, "argument 'args' must be a list of strings"),
        ]:
            result = await client.call_tool(name, args)
            text = text_of(result)
            assert result.is_error and text.startswith(f"harnex: {name}: {line}"), (name, text)
            assert "\n" not in text and "pydantic" not in text and "validation" not in text
        unknown = await client.call_tool("launch", {})
        assert unknown.is_error

        no_spawner = await client.call_tool("report", {"message": "done"})
        assert no_spawner.is_error
        assert text_of(no_spawner).startswith("harnex: no spawner pane: $HARNEX_SPAWNER_PANE")
        assert text_of(no_spawner).endswith("name one with the pane argument (like %3)")
        # Still the same session: an error leaves the server serving.
        assert ok(await client.call_tool("status", {}))["sessions"][0]["id"] == "idle"

    run_async(harnex, body)


def test_a_long_wait_reports_progress_blocks_nothing_and_can_be_cancelled(
    harnex: Harnex, tmp_path: Path
) -> None:
    record = tmp_path / "received.jsonl"
    harnex.start_demo("slow", record=record)
    harnex.run("wait", "--id", "slow", "--until", "prompt", "--timeout", "30", check=True)

    async def body(client: Client) -> None:
        progress: list[float] = []
        outcome: dict[str, Any] = {}

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            assert total == 120 and message and "slow" in message
            progress.append(value)

        async def wait_busy() -> None:
            result = await client.call_tool(
                "wait",
                {"id": "slow", "until": "busy", "timeout": 120},
                progress_callback=on_progress,
            )
            outcome.update(ok(result))

        async with anyio.create_task_group() as group:
            group.start_soon(wait_busy)
            with anyio.fail_after(60):
                while len(progress) < 2:
                    await anyio.sleep(0.1)
            # The wait is still pending, and other calls are answered meanwhile.
            assert not outcome
            assert ok(await client.call_tool("status", {"id": "slow"}))["sessions"]
            # The agent gets busy: the pending wait is answered.
            ok(await client.call_tool("send", {"id": "slow", "message": "/sleep 3"}))
        assert outcome == {"ok": True, "id": "slow", "state": "busy"}
        assert progress == sorted(progress) and progress[0] > 0

        # Cancelling a pending call ends it; the server goes on serving.
        with anyio.fail_after(30):
            await client.call_tool("wait", {"id": "slow", "until": "prompt", "timeout": 30})
        with anyio.move_on_after(1.5) as scope:
            await client.call_tool("wait", {"id": "slow", "until": "busy", "timeout": 120})
        assert scope.cancelled_caught
        with anyio.fail_after(10):
            again = await client.call_tool("wait", {"id": "slow", "until": "prompt", "timeout": 5})
        assert ok(again)["state"] == "prompt"

    run_async(harnex, body)


def test_run_makes_the_calling_agents_pane_the_spawner_and_report_reaches_it(
    harnex: Harnex, tmp_path: Path
) -> None:
    """The MCP server runs inside the calling agent's pane: sessions it starts get that pane
    as their spawner, and a buddy's ``report`` types into it."""
    record = tmp_path / "spawner.jsonl"
    spawner = harnex.start_demo("spawner", record=record)
    harnex.run("wait", "--id", "spawner", "--until", "prompt", "--timeout", "30", check=True)
    pane = str(spawner["pane_id"])
    inside = {"TMUX": f"{default_socket_path(harnex.socket)},1,0", "TMUX_PANE": pane}
    seen = tmp_path / "spawner-pane.txt"
    script = f'echo "$HARNEX_SPAWNER_PANE" > {seen}; exec {PYTHON} -m harnex_tmux.demo_agent'

    async def start(client: Client) -> None:
        ok(await client.call_tool("run", {"cli": "sh", "id": "buddy", "args": ["-c", script]}))

    run_async(harnex, start, **inside)
    assert wait_for(lambda: seen.exists() and seen.read_text().strip(), 20) == pane

    async def report(client: Client) -> None:
        answer = ok(await client.call_tool("report", {"message": "buddy says hi"}))
        assert answer["ok"] is True and answer["pane"] == pane

    # The buddy's own MCP server: its environment names the spawner pane.
    run_async(harnex, report, HARNEX_SPAWNER_PANE=pane)
    assert wait_for(lambda: recorded(record), 20) == ["buddy says hi"]


@pytest.mark.parametrize("client", ["claude", "codex", "gemini", "opencode", "qwen"])
def test_print_config_names_the_server_command(harnex: Harnex, client: str) -> None:
    result = harnex.run("mcp", "--print-config", client, check=True)
    text = result.stdout
    if client == "codex":
        assert text.startswith("[mcp_servers.harnex]\ncommand = ")
        assert '"mcp"]' in text
        # Codex passes MCP servers only the variables listed: harnex's own, tmux's.
        (passed,) = [line for line in text.splitlines() if line.startswith("env_vars = ")]
        names = json.loads(passed.removeprefix("env_vars = "))
        assert {"HARNEX_STATE_DIR", "HARNEX_SESSION_ID", "TMUX", "TMUX_PANE"} <= set(names)
        return
    data = json.loads(text)
    if client == "opencode":
        server = data["mcp"]["harnex"]
        assert server["type"] == "local" and server["command"][-1] == "mcp"
    else:
        server = data["mcpServers"]["harnex"]
        assert server["args"][-1] == "mcp"
    if client == "qwen":
        # Trusted (no dialog before each call) and allowed an hour per call.
        assert server["trust"] is True and server["timeout"] == 3_600_000
    elif client != "opencode":
        assert set(server) == {"command", "args"}


def test_usage_errors(harnex: Harnex) -> None:
    result = harnex.run("mcp", "--print-config", "emacs")
    assert result.returncode == 2 and "emacs" in result.stderr
    lonely = harnex.run("mcp", "--token", "t")
    assert lonely.returncode == 2 and "--token goes with --http" in lonely.stderr


def test_http_needs_the_token_and_serves_the_same_tools(harnex: Harnex) -> None:
    """``--http 0``: streamable HTTP on a free loopback port; without the bearer token a
    request gets 401, with it the SDK's HTTP client calls the tools."""
    harnex.start_demo("web")
    with harnex.mcp_http() as line:
        match = re.fullmatch(r"harnex mcp: serving (http://127\.0\.0\.1:\d+/mcp) token (\w+)", line)
        assert match, line
        url, token = match.groups()
        for auth in (None, "Bearer wrong"):
            headers = {"Content-Type": "application/json"}
            if auth is not None:
                headers["Authorization"] = auth
            request = urllib.request.Request(url, data=b"{}", headers=headers, method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 401
            # No bearer challenge: it would send spec-following clients to OAuth discovery.
            assert refused.value.headers.get("WWW-Authenticate") is None
            assert json.loads(refused.value.read())["error"].startswith("invalid token")
        # Where OAuth discovery looks: nothing, with or without the token.
        base = url.removesuffix("/mcp")
        for where in ("oauth-protected-resource", "oauth-authorization-server/mcp"):
            for auth in ({}, {"Authorization": f"Bearer {token}"}):
                probe = urllib.request.Request(f"{base}/.well-known/{where}", headers=auth)
                with pytest.raises(urllib.error.HTTPError) as missing:
                    urllib.request.urlopen(probe, timeout=10)
                assert missing.value.code == 404

        async def main() -> None:
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
                status = ok(await client.call_tool("status", {}))
                assert [row["id"] for row in status["sessions"]] == ["web"]
                missing = await client.call_tool("pane", {"id": "nope"})
                assert text_of(missing) == f"harnex: no session 'nope' in {harnex.repo}"

        anyio.run(main)


def test_http_port_in_use_is_a_one_line_error(harnex: Harnex) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = harnex.run("mcp", "--http", str(port), "--token", "t")
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"harnex: cannot listen on 127.0.0.1:{port}: ")


def test_a_long_call_answers_still_waiting_before_the_call_limit(
    harnex: Harnex, tmp_path: Path
) -> None:
    """Clients that end a request at 60 s get an answer before then: past the call limit
    (here the least allowed, 35 s) a wait and a send with reply return "still_waiting" with
    how to go on, and going on loses nothing: the wait continues from the turn it saw, the
    send finds its message instead of typing it again."""
    record = tmp_path / "received.jsonl"
    harnex.start_demo("lim", record=record)
    harnex.run("wait", "--id", "lim", "--until", "prompt", "--timeout", "30", check=True)
    answers: dict[str, dict[str, Any]] = {}

    async def body(client: Client) -> None:
        async def call(key: str, name: str, args: dict[str, Any]) -> None:
            answers[key] = ok(await client.call_tool(name, args))

        with anyio.fail_after(55):
            async with anyio.create_task_group() as group:
                group.start_soon(
                    call, "exit", "wait", {"id": "lim", "until": "exit", "timeout": 300}
                )
                group.start_soon(
                    call, "turn", "wait", {"id": "lim", "until": "task_complete", "timeout": 300}
                )
                group.start_soon(
                    call,
                    "reply",
                    "send",
                    {"id": "lim", "message": "hi", "reply": True, "timeout": 300},
                )
        for key in ("exit", "turn", "reply"):
            assert answers[key]["status"] == "still_waiting", answers[key]
            assert 35 <= answers[key]["waited_s"] < 50
        assert answers["exit"]["arguments"] == {"id": "lim", "until": "exit"}
        assert answers["turn"]["arguments"] == {
            "id": "lim",
            "until": "task_complete",
            "after_turn": 0,
        }
        message_id = answers["reply"]["message_id"]
        assert message_id in answers["reply"]["next"]
        # Going on as told: the send, sent again with its message id, finds the first one
        # (typed once) and waits for its reply again...
        resent = await client.call_tool(
            "send",
            {"id": "lim", "message": "hi", "reply": True, "timeout": 2, "message_id": message_id},
        )
        assert resent.structured_content is not None
        assert resent.structured_content["message_id"] == message_id
        assert text_of(resent) == "harnex: delivered, but no reply within 2s"
        # ...and the same wait ends when the agent does.
        async with anyio.create_task_group() as group:
            group.start_soon(call, "again", "wait", dict(answers["exit"]["arguments"], timeout=60))
            await anyio.sleep(1)
            ok(await client.call_tool("stop", {"id": "lim", "timeout": 20}))
        assert answers["again"]["state"] == "exited"

    run_async(harnex, body, HARNEX_MCP_CALL_LIMIT="35")
    assert recorded(record) == ["hi"]


def test_run_tool_starts_in_the_folder_it_is_given(harnex: Harnex, tmp_path: Path) -> None:
    """``run``'s ``cwd``: the agent starts there (a session of that folder's repository),
    and a folder that is not there is the tool's one-line error, nothing started."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()

    async def start(client: Client) -> None:
        run = {"cli": PYTHON, "id": "cw", "args": ["-m", "harnex_tmux.demo_agent"]}
        started = ok(await client.call_tool("run", {**run, "cwd": str(folder)}))
        assert os.readlink(f"/proc/{started['pid']}/cwd") == str(folder)
        missing = await client.call_tool("run", {**run, "id": "cw2", "cwd": str(folder / "x")})
        assert missing.is_error
        assert text_of(missing) == f"harnex: no folder '{folder / 'x'}' to start in (--cwd)"
        ok(await client.call_tool("stop", {"id": "cw", "timeout": 20}))

    run_async(harnex, start)
    assert harnex.registry() == []
