"""The MCP ``resume`` tool: what ``harnex resume`` does, through ``harnex mcp``, against a
demo session whose private tmux server was killed with a message still queued."""

from __future__ import annotations

from pathlib import Path

from conftest import Harnex, recorded, wait_for
from mcp import Client
from test_mcp import ok, run_async, text_of

from tests.procs import gone


def test_resume_lists_then_brings_back_and_delivers_the_queue(
    harnex: Harnex, tmp_path: Path
) -> None:
    record = tmp_path / "rec.jsonl"
    info = harnex.start_demo("keep", record=record)
    harnex.run("wait", "--id", "keep", "--until", "prompt", "--timeout", "30", check=True)
    harnex.json("send", "--id", "keep", "--message", "/sleep 30")
    harnex.run("wait", "--id", "keep", "--until", "busy", "--timeout", "10", check=True)
    queued = harnex.json("send", "--id", "keep", "--no-wait", "-m", "kept for later")
    assert queued["status"] == "queued"
    harnex.tmux("kill-server")
    wait_for(lambda: gone(info["sidecar_pid"]), timeout=20)

    async def body(client: Client) -> None:
        listed = ok(await client.call_tool("resume", {}))
        (row,) = listed["resumable"]
        assert (row["id"], row["state"], row["repo_root"]) == (
            "keep",
            "resumable",
            str(harnex.repo),
        )

        for args, line in [
            ({"id": "keep", "all": True}, "harnex: give either id or all, not both"),
            ({"id": "nope"}, f"harnex: no session 'nope' to resume in {harnex.repo}"),
            ({"id": ""}, "harnex: id must not be empty"),
            ({"id": 7}, "harnex: resume: argument 'id' must be a string"),
            ({"all": "yes"}, "harnex: resume: argument 'all' must be true or false"),
            ({"all": True, "fresh": 1}, "harnex: resume: argument 'fresh' must be true or false"),
        ]:
            result = await client.call_tool("resume", args)
            assert result.is_error and text_of(result) == line, (args, text_of(result))
        assert ok(await client.call_tool("resume", {}))["resumable"] == [row]  # nothing started

        (resumed,) = ok(await client.call_tool("resume", {"all": True}))["resumed"]
        assert resumed["id"] == "keep" and resumed["resumed"] is True
        assert resumed["queued"] == 1 and resumed["continued"] is False
        assert "started fresh" in resumed["note"]
        wait_for(lambda: len(recorded(record)) >= 2, timeout=30, interval=0.2)

        again = await client.call_tool("resume", {"id": "keep"})
        assert again.is_error
        assert text_of(again) == "harnex: session 'keep' is running; there is nothing to resume"
        assert ok(await client.call_tool("resume", {}))["resumable"] == []
        assert ok(await client.call_tool("resume", {"all": True}))["resumed"] == []
        assert ok(await client.call_tool("stop", {"id": "keep", "timeout": 20}))["ok"] is True

        # Stopped on purpose: not for `all`, but named it comes back (fresh, as asked).
        assert ok(await client.call_tool("resume", {"all": True}))["resumed"] == []
        named = ok(await client.call_tool("resume", {"id": "keep", "fresh": True}))
        assert named["id"] == "keep" and named["note"] == "started fresh, as asked (fresh)"
        assert ok(await client.call_tool("stop", {"id": "keep", "timeout": 20}))["ok"] is True

    run_async(harnex, body)
    assert recorded(record) == ["/sleep 30", "kept for later"]
