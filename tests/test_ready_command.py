"""A CLI's own "waiting for input" command (an adapter file's ``[ready]``), ``[prompt]
last_line``, and the shipped Aider file read against its real screens."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Harnex, user_cli, wait_for
from test_hooks import _Recorder, _run_hook, recording_sidecar

from harnex_tmux import hook
from harnex_tmux.adapters import HookReport, HookTarget, Observation, State, adapter_for
from harnex_tmux.adapters.rules import parse_rules

HOOK = [sys.executable, "-S", "-P", hook.__file__]
TARGET = HookTarget(command=HOOK, url="http://127.0.0.1:4711/hook")

# A CLI that runs the command given with --on-ready each time it waits for input again.
READY_CLI = """
import subprocess, sys, time
args = sys.argv[1:]
command = args[args.index("--on-ready") + 1] if "--on-ready" in args else None
print("ready cli", flush=True)
while True:
    try:
        line = input("ready> ")
    except EOFError:
        break
    if line == "/exit":
        break
    time.sleep(0.3)
    print("REPLY: " + line, flush=True)
    if command:
        subprocess.run(command, shell=True)
"""

READY_TOML = """
name = "readycli"
settle_s = 0.05

[prompt]
glyph = "ready>"
empty_box_is_idle = true
last_line = true

[[stop]]
text = "/exit"
keys = ["Enter"]
wait_s = 2.0

[ready]
args = ["--on-ready", "{command}"]
"""


def _rules(text: str) -> Any:
    import tomllib

    return parse_rules(tomllib.loads(text), "readycli.toml")


def test_ready_args_are_applied_with_the_hook_command() -> None:
    from harnex_tmux.adapters.screen import ScreenAdapter

    adapter = ScreenAdapter(_rules(READY_TOML))
    adapter.name = "readycli"
    assert adapter.has_hooks and adapter.busy_after_submit
    assert adapter.signals.startswith("ready command")
    argv = adapter.launch_argv(["readycli", "--fast"], TARGET)
    assert argv[:3] == ["readycli", "--fast", "--on-ready"]
    assert argv[3].endswith(" notify readycli ready") and hook.__file__ in argv[3]
    assert len(argv) == 4
    # No hooks (HARNEX_NO_HOOKS=1), or the user's own command: nothing is added.
    assert adapter.launch_argv(["readycli"], None) == ["readycli"]
    own = ["readycli", "--on-ready", "notify-send hi"]
    assert adapter.launch_argv(own, TARGET) == own
    assert adapter.read_hook("ready", {}) == HookReport("turn", None, hold=False)
    assert adapter.read_hook("other", {}) is None
    plain = ScreenAdapter(_rules(READY_TOML.split("[ready]")[0]))
    assert not plain.has_hooks and plain.read_hook("ready", {}) is None
    assert plain.launch_argv(["readycli"], TARGET) == ["readycli"]


def test_the_hook_script_reports_a_notify_event(tmp_path: Path) -> None:
    with recording_sidecar(tmp_path) as registry:
        done = _run_hook(["notify", "aider", "ready"], registry)
        assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert _Recorder.received[-1]["body"] == {"source": "aider", "event": "ready", "payload": {}}
    # Without a sidecar it stays silent and never fails the CLI that runs it.
    gone = _run_hook(["notify", "aider", "ready"], tmp_path / "gone.json")
    assert gone.returncode == 0 and gone.stdout == "" and gone.stderr == ""


def test_last_line_reads_only_the_bottom_line_as_input() -> None:
    from harnex_tmux.adapters.screen import ScreenAdapter

    submitted = "ready> hello\nREPLY: hel\n"
    waiting = "ready> hello\n\n\n"
    bottom = ScreenAdapter(_rules(READY_TOML))
    assert bottom.input_line(submitted) is None and bottom.input_line(waiting) == "hello"
    anywhere = ScreenAdapter(_rules(READY_TOML.replace("last_line = true", "")))
    assert anywhere.input_line(submitted) == "hello"


def test_a_ready_command_reports_the_turn_end(harnex: Harnex, tmp_path: Path) -> None:
    """The CLI runs the command harnex gave it: ``send --reply`` returns with the turn, and
    the sidecar logs ``turn_complete`` (the screen alone never does: see the control)."""
    program = tmp_path / "ready_cli.py"
    program.write_text(READY_CLI)
    env = user_cli(harnex, tmp_path, READY_TOML, f'{sys.executable} {program} "$@"')

    def turns_logged(info: dict[str, Any]) -> list[dict[str, Any]]:
        lines = Path(info["events_log_path"]).read_text().splitlines()
        return [e for e in map(json.loads, lines) if e["type"] == "turn_complete"]

    info = harnex.json("run", "--id", "rd", "--detach", "readycli", env=env)
    assert info["adapter"] == "readycli"
    harnex.run("wait", "--id", "rd", "--until", "prompt", "--timeout", "30", env=env, check=True)
    sent = harnex.json(
        "send", "--id", "rd", "--message", "hello ready", "--reply", "--json", env=env
    )
    assert sent["status"] == "delivered" and sent["completed_at"], sent
    assert sent["reply"] is None  # the command says when, not what
    (turn,) = wait_for(lambda: turns_logged(info), timeout=10)
    assert turn["message_id"] == sent["message_id"]
    assert "REPLY: hello ready" in harnex.json("pane", "--id", "rd", "--json", env=env)["text"]
    # Its screen never shows work: --wait-for-idle relies on the reported turn (or the busy
    # state a delivered message holds) instead of waiting to see it busy.
    idle = ["send", "--id", "rd", "--message", "then idle", "--wait-for-idle", "--timeout", "20"]
    waited = harnex.json(*idle, env=env)
    assert waited["status"] == "delivered" and waited["state"] == "prompt", waited
    assert harnex.json("stop", "--id", "rd", env=env).get("code", 0) == 0

    # The control: without hooks the CLI gets no command, and no turn end is reported.
    quiet = dict(env, HARNEX_NO_HOOKS="1")
    info = harnex.json("run", "--id", "rq", "--detach", "readycli", env=quiet)
    harnex.run("wait", "--id", "rq", "--until", "prompt", "--timeout", "30", env=quiet, check=True)
    sent = harnex.json("send", "--id", "rq", "--message", "no hooks", "--wait-for-idle", env=quiet)
    assert sent["status"] == "delivered"
    assert "REPLY: no hooks" in harnex.json("pane", "--id", "rq", "--json", env=quiet)["text"]
    assert turns_logged(info) == []
    harnex.json("stop", "--id", "rq", env=quiet)


# Aider 0.86.2's screens, captured from the pinned version against the e2e mock (80 columns;
# the rule lines are shorter here).
RULE = "─" * 40
AIDER_GITIGNORE = f"""Analytics have been permanently disabled.
{RULE}
You can skip this check with --no-gitignore
Add .aider* to .gitignore (recommended)? (Y)es/(N)o [Yes]:



"""
AIDER_IDLE = f"""Add .aider* to .gitignore (recommended)? (Y)es/(N)o [Yes]:
Added .aider* to .gitignore
Aider v0.86.2
Model: openai/gpt-mock-1 with whole edit format
Git repo: .git with 0 files
Repo-map: using 4096 tokens, auto refresh
{RULE}
>


"""
AIDER_TYPED = AIDER_IDLE.replace("\n>\n", "\n> line one ünï\n> line two 日本 🚀\n")
AIDER_WAITING = AIDER_TYPED + "   ░█      Waiting for openai/gpt-mock-1\n"
AIDER_STREAMING = AIDER_TYPED + "MOCK REPLY: line one\n"
AIDER_ANSWERED = AIDER_TYPED + f"MOCK REPLY: line one\nTokens: 627 sent, 21 received.\n{RULE}\n>\n"


@pytest.mark.parametrize(
    ("screen", "state", "line"),
    [
        (AIDER_GITIGNORE, State.CONFIRMATION, None),
        (AIDER_IDLE, State.PROMPT, ""),
        (AIDER_TYPED, State.UNKNOWN, "line two 日本 🚀"),
        (AIDER_WAITING, State.BUSY, None),
        (AIDER_WAITING.replace("░█", "#="), State.BUSY, None),
        (AIDER_STREAMING, State.UNKNOWN, None),
        (AIDER_ANSWERED, State.PROMPT, ""),
    ],
)
def test_aider_screens(screen: str, state: State, line: str | None) -> None:
    aider = adapter_for("aider")
    assert aider.detect(Observation(screen, quiet_for=5.0)) == state
    assert aider.input_line(screen) == line


def test_aider_is_chosen_and_wired() -> None:
    aider = adapter_for("aider")
    assert aider.name == "aider" and aider.has_hooks
    argv = aider.launch_argv(["/venv/bin/aider", "--model", "m"], TARGET)
    assert argv[3:5] == ["--notifications", "--notifications-command"]
    assert argv[5].endswith("notify aider ready")
