"""Adapter files: a new CLI described by a short TOML file, a shipped adapter patched by one,
and broken files reported and skipped without breaking anything else."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import Harnex, recorded, wait_for
from hypothesis import given, settings
from hypothesis import strategies as st

from harnex_tmux.adapters import Observation, State, adapter_for, load_catalog
from harnex_tmux.adapters.catalog import repo_dir
from harnex_tmux.adapters.rules import AdapterFileError, load_rules, parse_rules

# The demo agent's screen, as a user would describe it for a CLI harnex does not know.
FAKECLI = """
name = "fakecli"
commands = ["fakecli"]
settle_s = 0.05

[prompt]
glyph = "demo>"
empty_box_is_idle = true

[busy]
markers = ["esc to interrupt"]

[[stop]]
text = "/exit"
keys = ["Enter"]
wait_s = 2.0
"""

CLAUDE_IDLE = "─" * 20 + "\n❯ \n" + "─" * 20 + "\n  ? for shortcuts\n"
# With a draft in the box, only the footer's idle marker says "ready".
CLAUDE_DRAFT = CLAUDE_IDLE.replace("❯ ", "❯ a draft")


def _fake_cli(tmp_path: Path, record: Path) -> Path:
    """An executable named ``fakecli`` that runs the demo agent."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "fakecli"
    script.write_text(
        f"#!/bin/sh\nexec {sys.executable} -m harnex_tmux.demo_agent --busy 0.3 --record {record}\n"
    )
    script.chmod(0o755)
    return script


def test_a_user_adapter_file_drives_a_new_cli(harnex: Harnex, tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "harnex" / "adapters").mkdir(parents=True)
    (config / "harnex" / "adapters" / "fakecli.toml").write_text(FAKECLI)
    record = tmp_path / "rec.jsonl"
    script = _fake_cli(tmp_path, record)
    env = dict(harnex.env, XDG_CONFIG_HOME=str(config))
    env["PATH"] = f"{script.parent}{os.pathsep}{env['PATH']}"
    info = harnex.json("run", "--id", "fake", "--detach", "fakecli", env=env)
    assert info["adapter"] == "fakecli"
    harnex.run("wait", "--id", "fake", "--until", "prompt", "--timeout", "30", env=env, check=True)
    sent = harnex.json("send", "--id", "fake", "--message", "hello fake", env=env)
    assert sent["status"] == "delivered"
    wait_for(lambda: recorded(record) == ["hello fake"], timeout=10)
    listed = harnex.json("adapters", "list", "--json", env=env)
    (row,) = [a for a in listed["adapters"] if a["name"] == "fakecli"]
    assert row["commands"] == ["fakecli"] and row["source"].endswith("fakecli.toml")
    # The stop steps come from the file: /exit ends the demo agent with code 0.
    stopped = harnex.json("stop", "--id", "fake", env=env)
    assert stopped.get("code", 0) == 0


def test_a_repo_file_overrides_a_shipped_marker_and_keeps_the_hooks(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    folder = repo_dir(str(repo))
    folder.mkdir(parents=True)
    shipped = load_rules(Path(adapter_for("claude").source))
    text = Path(shipped.source).read_text().replace('"? for shortcuts", ', '"? for help", ')
    (folder / "claude.toml").write_text(text)
    patched = adapter_for("claude", repo_root=str(repo))
    assert patched.source == str(folder / "claude.toml")
    assert patched.detect(Observation(CLAUDE_DRAFT, 0.0)) == State.UNKNOWN
    assert patched.detect(Observation(CLAUDE_DRAFT.replace("shortcuts", "help"), 0.0)) == (
        State.PROMPT
    )
    # Still Claude's code: its hooks go in through --settings.
    from harnex_tmux.adapters import HookTarget

    argv = patched.launch_argv(["claude"], HookTarget(["hook"], "http://127.0.0.1:1/hook"), {})
    assert "--settings" in argv
    assert adapter_for("claude").detect(Observation(CLAUDE_DRAFT, 0.0)) == State.PROMPT


def test_a_bad_user_file_is_skipped_and_reported(harnex: Harnex, tmp_path: Path) -> None:
    config = tmp_path / "config"
    adapters = config / "harnex" / "adapters"
    adapters.mkdir(parents=True)
    (adapters / "broken.toml").write_text('name = "broken"\n[prompt]\nglyph = 5\n')
    (adapters / "notoml.toml").write_text("this is [not toml")
    env = dict(harnex.env, XDG_CONFIG_HOME=str(config))
    catalog = load_catalog(dirs=[adapters])
    assert catalog.rules == {} and len(catalog.problems) == 2
    agent = [sys.executable, "-m", "harnex_tmux.demo_agent"]
    result = harnex.run("run", "--id", "still", "--detach", agent[0], "--", *agent[1:], env=env)
    assert result.returncode == 0, result.stderr
    assert "adapter file skipped" in result.stderr and "broken.toml" in result.stderr
    listed = harnex.run("adapters", "list", env=env)
    assert listed.returncode == 0 and "claude" in listed.stdout


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('name = "x"\ncolour = "red"\n', "unknown key 'colour'"),
        ('commands = ["x"]\n', "name: is missing"),
        ('name = "Bad Name"\n', "name: must be lower-case"),
        ('name = "x"\n[prompt]\nglyph = ">"\n', "needs idle_markers or empty_box_is_idle"),
        ('name = "x"\n[prompt]\nidle_markers = ["ok"]\n[busy]\npatterns = ["(x"]\n', "bad regex"),
        (
            'name = "x"\n[prompt]\nidle_markers = ["ok"]\n[[dialogs]]\nstate = "sleepy"\n'
            'patterns = ["x"]\n',
            "dialogs[0].state: must be one of",
        ),
        (
            'name = "x"\n[prompt]\nidle_markers = ["ok"]\n[[dialogs]]\nstate = "confirmation"\n',
            "dialogs[0].patterns: needs at least one pattern",
        ),
        ('name = "x"\nsubmit_keys = ["Enter key"]\n', "not a tmux key name"),
        ('name = "x"\nsettle_s = 600\n', "settle_s: must be a number of seconds"),
        ('name = "x"\n[[stop]]\nwait_s = 1\n', "stop[0]: needs text or keys"),
        ('name = "x"\n[launch]\nenv = { A = 1 }\n', "launch.env: must be a table of strings"),
        ('name = "generic"\n[prompt]\nidle_markers = ["ok"]\n', "reserved"),
    ],
)
def test_invalid_files_are_one_line_errors(
    harnex: Harnex, tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text)
    result = harnex.run("adapters", "check", str(path))
    if problem == "reserved":
        assert load_catalog(dirs=[tmp_path]).problems[0].endswith("is reserved (it has no screen)")
        return
    assert result.returncode == 2, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert problem in line and str(path) in line


def test_check_against_a_saved_screen(harnex: Harnex, tmp_path: Path) -> None:
    screen = tmp_path / "screen.txt"
    screen.write_text(CLAUDE_IDLE)
    shipped = adapter_for("claude").source
    result = harnex.run("adapters", "check", shipped, "--screen", str(screen))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "prompt"
    busy = tmp_path / "busy.txt"
    busy.write_text("✢ Pondering… (esc to interrupt)\n" + CLAUDE_IDLE)
    result = harnex.run("adapters", "check", shipped, "--screen", str(busy))
    assert result.stdout.splitlines()[0] == "busy"


def test_show_prints_the_winning_file(harnex: Harnex) -> None:
    result = harnex.run("adapters", "show", "codex")
    assert result.returncode == 0 and 'name = "codex"' in result.stdout
    assert harnex.run("adapters", "show", "nope").returncode == 1
    assert json.loads(harnex.run("adapters", "list", "--json").stdout)["skipped"] == []


TOML_VALUES = st.recursive(
    st.none().map(lambda _: "")
    | st.booleans()
    | st.integers(-5, 100)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
KEYS = st.sampled_from(
    [
        "name",
        "commands",
        "prompt",
        "busy",
        "dialogs",
        "stop",
        "launch",
        "ready",
        "settle_s",
        "submit_keys",
    ]
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(KEYS, TOML_VALUES, max_size=6))
def test_any_parsed_toml_is_accepted_or_a_clean_error(data: dict[str, object]) -> None:
    try:
        rules = parse_rules(data, "fuzz.toml")
    except AdapterFileError as exc:
        assert str(exc).startswith("fuzz.toml: ") and "\n" not in str(exc)
        return
    assert rules.name == data["name"]
