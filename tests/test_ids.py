"""One id, one session: a new session's id comes from a documented safe set (one check for
the CLI, the library and MCP), and a lookup finds the session with exactly that id, never
another whose id maps to the same file name. Sessions started under the older, looser rule
(``a/b``) are still found, stopped and listed by their own id."""

from __future__ import annotations

import subprocess

import pytest
from conftest import PYTHON, Harnex
from mcp import Client
from test_mcp import run_async, text_of

from harnex_tmux.errors import UsageError
from harnex_tmux.launch import spec_for
from harnex_tmux.state import ID_RULE, check_id

GOOD = ["a", "impl-1", "cx.plan_42", "A" * 64, "brave-otter", "7"]
BAD = ["a/b", "a b", "-x", ".hidden", "x" * 65, "ü", "a:b", "../up", "a\nb"]


@pytest.mark.parametrize("ident", GOOD)
def test_safe_ids_pass(ident: str) -> None:
    assert check_id(f" {ident} ") == ident


@pytest.mark.parametrize("ident", BAD)
def test_other_ids_are_refused_with_one_line(ident: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_id(ident)
    assert str(caught.value) == f"id {ident.strip()!r} is not allowed: {ID_RULE}"


def test_the_library_refuses_before_starting_anything(harnex: Harnex) -> None:
    with pytest.raises(UsageError):
        spec_for(["sh"], cwd=str(harnex.repo), socket=harnex.socket, ident="a/b")


def test_the_cli_and_mcp_refuse_the_same_way(harnex: Harnex) -> None:
    result = harnex.run("run", "--id", "a/b", "--detach", PYTHON, "--", "-c", "pass")
    assert result.returncode == 2
    assert result.stderr.strip() == f"harnex: id 'a/b' is not allowed: {ID_RULE}"

    async def body(client: Client) -> None:
        refused = await client.call_tool("run", {"cli": PYTHON, "id": "a/b"})
        assert refused.is_error and text_of(refused) == result.stderr.strip()

    run_async(harnex, body)
    assert harnex.registry() == []


# The previous rule, for a session started before this one: any id with a letter or digit.
LEGACY_START = """
import json, sys
import harnex_tmux.launch as launch
from harnex_tmux.state import normalize_id
launch.check_id = normalize_id
spec = launch.spec_for(sys.argv[2:], cwd=".", socket=None, ident=sys.argv[1])
print(json.dumps(launch.start_session(spec, timeout=20).summary()))
"""


def test_a_session_with_an_older_id_is_found_by_its_own_id_only(harnex: Harnex) -> None:
    started = subprocess.run(
        [PYTHON, "-c", LEGACY_START, "a/b", PYTHON, "-m", "harnex_tmux.demo_agent"],
        env=harnex.env,
        cwd=harnex.repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert '"id": "a/b"' in started.stdout
    harnex.run("wait", "--id", "a/b", "--until", "prompt", "--timeout", "30", check=True)

    # Its file-name twin is another id: not found, and not startable beside it.
    other = harnex.run("stop", "--id", "a-b")
    assert other.returncode == 1
    assert other.stderr.strip() == f"harnex: no session 'a-b' in {harnex.repo} (there is 'a/b')"
    twin = harnex.run("run", "--id", "a-b", "--detach", PYTHON, "--", "-c", "pass")
    assert twin.returncode == 1
    assert "would share files with running session 'a/b'" in twin.stderr
    assert [row["id"] for row in harnex.json("status", "--json")] == ["a/b"]

    # Its own id still reaches it: send, pane, stop.
    sent = harnex.json("send", "--id", "a/b", "-m", "still here")
    assert sent["status"] == "delivered"
    stopped = harnex.json("stop", "--id", "a/b", "--timeout", "20")
    assert stopped["id"] == "a/b"
    assert harnex.registry() == []
