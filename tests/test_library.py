"""Pure functions of the library: ids, keys, paths, ports, text, events, server choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harnex_tmux.errors import UsageError
from harnex_tmux.events import EventLog, preview
from harnex_tmux.ports import preferred_port
from harnex_tmux.state import (
    id_key,
    normalize_id,
    random_id,
    repo_hash,
    repo_root_for,
    session_key,
    state_root,
)
from harnex_tmux.terminal_text import strip_ansi
from harnex_tmux.tmux import choose_server, default_socket_path


def test_id_keys() -> None:
    assert id_key("Impl-1") == "impl-1"
    assert id_key("  My Agent/#2  ") == "my-agent-2"
    assert id_key("__x__") == "x"
    assert normalize_id("  cx-1 ") == "cx-1"
    with pytest.raises(UsageError):
        normalize_id("   ")
    with pytest.raises(UsageError):
        id_key("!!!")
    adjective, noun = random_id().split("-")
    assert adjective.isalpha() and noun.isalpha()


def test_session_key_uses_repo_hash() -> None:
    assert len(repo_hash("/a/b")) == 16
    assert session_key("/a/b", "Impl 1") == f"{repo_hash('/a/b')}--impl-1"
    assert session_key("/a/b", "x") != session_key("/a/c", "x")


def test_state_root_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNEX_STATE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_root() == tmp_path / "explicit"
    monkeypatch.delenv("HARNEX_STATE_DIR")
    assert state_root() == tmp_path / "xdg" / "harnex"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert state_root() == tmp_path / ".local" / "state" / "harnex"


def test_repo_root(tmp_path: Path) -> None:
    (tmp_path / "r" / ".git").mkdir(parents=True)
    (tmp_path / "r" / "sub" / "deep").mkdir(parents=True)
    assert repo_root_for(tmp_path / "r" / "sub" / "deep") == str(tmp_path / "r")
    (tmp_path / "plain").mkdir()
    assert repo_root_for(tmp_path / "plain") == str(tmp_path / "plain")


def test_repo_root_of_a_linked_worktree_is_its_main_checkout(tmp_path: Path) -> None:
    # What `git worktree add` writes: a .git file pointing into the main .git, whose
    # commondir leads back to it.
    admin = tmp_path / "r" / ".git" / "worktrees" / "wt"
    admin.mkdir(parents=True)
    (admin / "commondir").write_text("../..\n")
    (tmp_path / "wt" / "sub").mkdir(parents=True)
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {admin}\n")
    assert repo_root_for(tmp_path / "wt" / "sub") == str(tmp_path / "r")
    # A submodule's .git file has no commondir: it stays a repository of its own.
    modules = tmp_path / "r" / ".git" / "modules" / "m"
    modules.mkdir(parents=True)
    (tmp_path / "r" / "m").mkdir()
    (tmp_path / "r" / "m" / ".git").write_text("gitdir: ../.git/modules/m\n")
    assert repo_root_for(tmp_path / "r" / "m") == str(tmp_path / "r" / "m")


def test_preferred_port_is_stable_and_in_span() -> None:
    port = preferred_port("/repo", "impl-1", 43000, 4000)
    assert port == preferred_port("/repo", "impl-1", 43000, 4000)
    assert 43000 <= port < 47000
    import hashlib

    digest = int.from_bytes(hashlib.sha256(b"/repo\0impl-1").digest(), "big")
    assert port == 43000 + digest % 4000


def test_strip_ansi() -> None:
    raw = "\x1b[1;31mred\x1b[0m\r\n\x1b]0;title\x07ok\x1b[?2004h done\x07\r\nnext"
    assert strip_ansi(raw) == "red\nok done\nnext"


def test_preview() -> None:
    assert preview("short") == ("short", False)
    text, cut = preview("x" * 250)
    assert cut and text == "x" * 200 + "…"


def test_event_log_envelope_and_seq_continues(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path, "impl-1")
    log.emit("started", pid=42)
    log.emit("state", **{"from": "busy", "to": "prompt"})
    again = EventLog(path, "impl-1")  # a restarted sidecar
    again.emit("exited", code=0)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert events[0] == {
        "schema_version": 1,
        "seq": 1,
        "ts": events[0]["ts"],
        "id": "impl-1",
        "type": "started",
        "pid": 42,
    }
    assert events[0]["ts"].endswith("Z") and "T" in events[0]["ts"]


def test_choose_server() -> None:
    assert choose_server(None, {}).socket_path == default_socket_path()
    inside = {"TMUX": "/tmp/tmux-1/work,123,0", "TMUX_PANE": "%7"}
    assert choose_server(None, inside).socket_path == "/tmp/tmux-1/work"
    assert choose_server(None, inside).caller_pane == "%7"
    named = choose_server("other", inside)
    assert named.socket_path == default_socket_path("other") and named.caller_pane is None
    assert choose_server(None, {"HARNEX_TMUX_SOCKET": "/x/sock"}).socket_path == "/x/sock"
