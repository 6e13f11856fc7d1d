"""The Session handle answers what the CLI prints: the CLI and the MCP server both go through
it, so its typed results' ``to_dict`` must be the objects of ``--json``, for a live session
and for one that has ended."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Harnex, recorded, wait_for

from harnex_tmux.errors import SessionNotFound
from harnex_tmux.session.handle import LocalSession, Session


def test_a_live_session_through_the_handle(harnex: Harnex, tmp_path: Path) -> None:
    record_file = tmp_path / "rec.jsonl"
    harnex.start_demo("hd", record=record_file)
    session = Session.find("hd")
    assert isinstance(session, LocalSession) and session.id == "hd"

    assert session.wait("prompt", timeout=30).to_dict() == {
        "ok": True,
        "id": "hd",
        "state": "prompt",
    }
    status = session.status().to_dict()
    (shown,) = harnex.json("status", "--id", "hd", "--json")
    assert set(status) == set(shown) and "token" not in status
    assert status["state"] == shown["state"] == "prompt"

    sent = session.send("hello handle", wait_for_idle=True, timeout=30)
    assert sent.status == "delivered" and sent.exit_code == 0
    assert wait_for(lambda: recorded(record_file), timeout=10) == ["hello handle"]

    shot = session.pane()
    cli_shot = harnex.json("pane", "--id", "hd", "--json")
    assert set(shot.to_dict()) == set(cli_shot)
    assert (shot.id, shot.pane_id, shot.lines) == ("hd", cli_shot["pane_id"], None)
    assert "hello handle" in shot.text
    assert len(session.pane(lines=2).text.split("\n")) <= 2

    types = [event.type for event in session.events()]
    assert types[0] == "started" and "send" in types

    stopped = session.stop(timeout=10)
    assert stopped.id == "hd" and not stopped.already_exited
    assert stopped.to_dict()["ok"] is True and "already_exited" not in stopped.to_dict()


def test_an_ended_session_answers_its_exit_stop_and_events(harnex: Harnex) -> None:
    harnex.start_demo("gone")
    harnex.run("wait", "--id", "gone", "--until", "prompt", "--timeout", "30", check=True)
    harnex.run("send", "--id", "gone", "--message", "/exit 3", check=True)
    cli_wait = harnex.run("wait", "--id", "gone", "--timeout", "30")
    assert cli_wait.returncode == 3

    ended = Session.find("gone")
    waited = ended.wait("exited")
    assert waited.to_dict() == {"ok": True, "id": "gone", "state": "exited", "code": 3}
    assert waited.exit_code == 3
    assert [event.type for event in ended.events()][-1] == "exited"

    cli_line = harnex.run("wait", "--id", "gone", "--until", "prompt").stderr.strip()
    with pytest.raises(SessionNotFound) as caught:
        ended.wait("prompt")
    assert cli_line == f"harnex: {caught.value}"
    with pytest.raises(SessionNotFound):
        ended.status()
    with pytest.raises(SessionNotFound):
        ended.send("too late")

    stopped = ended.stop()
    assert stopped.to_dict() == {
        "ok": True,
        "id": "gone",
        "already_exited": True,
        "code": 3,
        "signal": None,
    }


def test_nothing_to_find_is_the_lookups_error(harnex: Harnex) -> None:
    with pytest.raises(SessionNotFound, match="no session 'nope'"):
        Session.find("nope")
