"""The pieces of `harnex hosts` that need no ssh: names, targets, the host file, run --on."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Harnex

from harnex_tmux.cli.run_args import without
from harnex_tmux.errors import HostError, UsageError
from harnex_tmux.hosts.installer import HostFacts, remote_command
from harnex_tmux.hosts.store import (
    Host,
    check_dest,
    check_name,
    get_host,
    load_hosts,
    save_hosts,
    split_target,
)


def test_targets() -> None:
    assert split_target("w1") == (None, "w1")
    assert split_target("box:w1") == ("box", "w1")
    for bad, words in ((":w1", "no host name"), ("box:", "no session id"), ("b:a:c", "':'")):
        with pytest.raises(UsageError, match=words):
            split_target(bad)


def test_names_and_destinations() -> None:
    assert check_name("build-1.eu") == "build-1.eu"
    for bad in ("", "a:b", "a b", "-x", "x" * 64):
        with pytest.raises(UsageError):
            check_name(bad)
    for bad in ("-oProxyCommand=x", "a b", ""):
        with pytest.raises(UsageError):
            check_dest(bad)


def test_host_file_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNEX_STATE_DIR", str(tmp_path))
    assert load_hosts() == {}
    save_hosts({"box": Host("box", "me@box")})
    assert get_host("box") == Host("box", "me@box")
    assert (tmp_path / "hosts.json").stat().st_mode & 0o077 == 0
    with pytest.raises(HostError, match="unknown host 'other'"):
        get_host("other")


def test_run_on_words_keep_the_agents_own() -> None:
    words = ["--on", "box", "--id", "w1", "claude", "--", "--on", "x"]
    assert without(words, "--on") == ["--id", "w1", "claude", "--", "--on", "x"]
    assert without(["--on=box", "claude", "--"], "--on") == ["claude", "--"]
    # --cwd DIR goes too (the host's harnex starts there instead), the agent's own kept.
    words = ["--on", "box", "--cwd", "~/p", "--cwd=x", "claude", "--", "--cwd", "y"]
    assert without(words, "--on", "--cwd") == ["claude", "--", "--cwd", "y"]


def test_host_facts_problems() -> None:
    ok = HostFacts("3.11.2", "tmux 3.3a", "harnex 0.1.0", "x", "Linux x86_64")
    assert ok.problems() == [] and ok.harnex_version == "0.1.0"
    old = HostFacts("3.9.1", "tmux 3.0", "", "", "")
    assert len(old.problems()) == 2
    assert "no python3" in HostFacts("", "", "", "", "").problems()[0]


def test_remote_command_quotes_every_word() -> None:
    command = remote_command("send", "--id", "w1; rm -rf ~")
    assert command.endswith("send --id 'w1; rm -rf ~'")


def test_a_cli_request_reaches_a_remote_session_with_every_option() -> None:
    from harnex_tmux.session.send import SendOptions, SendRequest, options_of

    request = SendRequest(
        "hi",
        "box:w1",
        submit=False,
        force=True,
        relay=False,
        wait=False,
        wait_for_idle=True,
        reply=True,
        timeout=7.5,
        message_id="m-1",
        enter_only=True,
    )
    options = options_of(request)
    assert set(options) == set(SendOptions.__annotations__)
    assert options == {
        "submit": False,
        "enter_only": True,
        "force": True,
        "relay": False,
        "wait": False,
        "wait_for_idle": True,
        "reply": True,
        "timeout": 7.5,
        "message_id": "m-1",
    }


def test_a_down_host_is_shown_as_last_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harnex_tmux.hosts import seen

    monkeypatch.setenv("HARNEX_STATE_DIR", str(tmp_path))
    assert seen.stale_rows("box", "down") == []
    rows = [
        {"id": "a", "state": "busy", "log_idle_s": 3.0, "machine": "box"},
        {"id": "b", "state": "idle", "inbox": {"pending": 1}, "machine": "box"},
    ]
    seen.remember("box", rows)
    stale = seen.stale_rows("box", "host 'box': refused")
    assert [(r["id"], r["state"], r["last_state"], r["stale"]) for r in stale] == [
        ("a", "unknown", "busy", True),
        ("b", "unknown", "idle", True),
    ]
    assert all("log_idle_s" not in r and "inbox" not in r for r in stale)
    assert stale[0]["host_error"] == "host 'box': refused" and stale[0]["last_seen"]
    assert [r["id"] for r in seen.stale_rows("box", "down", "b")] == ["b"]
    seen.forget("box")
    assert seen.stale_rows("box", "down") == []


def test_remote_command_checks_the_build_without_a_round_trip() -> None:
    from harnex_tmux.hosts.installer import MISMATCH_PREFIX, build_id

    plain = remote_command("status", "--json")
    assert plain.startswith("HARNEX_ANY_REPO=1 exec ") and "harnex-build" not in plain
    # A run starts tmux and agents there: they do not inherit it.
    assert remote_command("run", "--detach", "x").startswith("exec ")
    checked = remote_command("status", "--json", host="box")
    assert build_id() in checked and "harnex-build" in checked
    assert MISMATCH_PREFIX in checked and "harnex hosts upgrade box" in checked
    assert checked.splitlines()[-1] == plain


def test_a_killed_ssh_client_is_a_lost_connection() -> None:
    from harnex_tmux.hosts.ssh import SshResult

    assert SshResult(255, b"", "").transport_failed
    assert SshResult(-9, b"", "").transport_failed  # our client was SIGKILLed
    assert not SshResult(1, b"", "").transport_failed


def test_a_followed_pane_keeps_its_host_in_each_id() -> None:
    from harnex_tmux.cli.on_host import _Relabel

    out: list[bytes] = []
    relabel = _Relabel("box:w1", out.append)
    for chunk in (b'{"id": "w1", "te', b'xt": "\xc3\xa9"}\n{"id"', b': "w1"}\nplain\n'):
        relabel(chunk)
    assert out == [b'{"id": "box:w1", "text": "\xc3\xa9"}\n', b'{"id": "box:w1"}\n', b"plain\n"]


def test_linger_off_is_a_warning_naming_the_fix() -> None:
    facts = HostFacts("3.11.2", "tmux 3.3a", "", "", "", linger="no", user="ann")
    [warning] = facts.warnings()
    assert "loginctl enable-linger ann" in warning and not facts.problems()
    assert HostFacts("3.11.2", "tmux 3.3a", "", "", "", linger="yes").warnings() == []
    assert HostFacts("3.11.2", "tmux 3.3a", "", "", "", linger="no-systemd").warnings() == []


def test_diff_and_clean_on_a_host_refuse_bad_input_in_one_line(harnex: Harnex) -> None:
    """Checked before any ssh: nothing is run on a host for a command that cannot stand."""
    for args, words in (
        (["clean", "--on", "a", "--id", "b:w1"], "name two hosts"),
        (["clean", "--on", "a", "--repo", "."], "--repo is for local sessions"),
        (["diff", "--id", "a:w1", "--repo", "."], "--repo is for local sessions"),
        (["diff", "--id", "a:"], "no session id"),
        (["clean", "--on", "nohost"], "nohost"),
        (["diff", "--id", "nohost:w1"], "nohost"),
    ):
        result = harnex.run(*args)
        assert result.returncode in (1, 2), (args, result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, result.stderr)
