"""Adapter rules on the screens observed from the real CLIs (see docs/adapters.md).

The end-to-end suite checks these against the live CLIs; these tests pin the rules down
quickly and show, by example, what each state looks like.
"""

from __future__ import annotations

import os

import pytest

from harnex_tmux.adapters import HookReport, Observation, State, adapter_for, adapter_name_for
from harnex_tmux.errors import HarnexError

RULE = "─" * 60

CLAUDE_TRUST = """
 Accessing workspace:

 /tmp/repo

 Quick safety check: Is this a project you created or one you trust? (Like your own code)

 Claude Code'll be able to read, edit, and execute files here.

 ❯ 1. Yes, I trust this folder
   2. No, exit

 Enter to confirm · Esc to cancel
"""

CLAUDE_IDLE = f"""
 ● MOCK REPLY: hello

✻ Worked for 0s

{RULE}
❯
{RULE}
  ? for shortcuts · ← for agents                                   ● high · /effort
"""

CLAUDE_BUSY = f"""
✢ Hatching… (0s · ↓ 4 tokens)

{RULE}
❯
{RULE}
  esc to interrupt · ← for agents
"""

CLAUDE_BUSY_NOTICE = f"""
❯ slow one

✢ Catapulting…

{RULE}
❯
{RULE}
  ? for shortcuts · ← for agents      tmux focus-events off · add 'set -g focus-events on'
"""

CLAUDE_TYPED = CLAUDE_IDLE.replace("❯\n", "❯ hello there\n")

CLAUDE_API_KEY = """
 Detected a custom API key in your environment

 ANTHROPIC_API_KEY: sk-ant-...key-0123456789abcdef

 Do you want to use this API key?

   1. Yes
 ❯ 2. No (recommended)
"""

CODEX_TRUST = """
  Folder access  /tmp/repo

  Trust this folder? Codex can read, edit, and run files here, subject to your permission
  settings.

› 1. Trust and continue
  2. Back to Agent Command Center

  enter continue · esc back
"""

CODEX_IDLE = """
>_ OpenAI Codex (v0.169.0)

• MOCK REPLY: hi

  Worked for <1s • 12:05

› Ask Codex to do anything

  gpt-mock-1 default · /tmp/repo
  ← for agents · ? for shortcuts                          ⚠ 1 warning · f2 to view
"""

CODEX_BUSY = """
◦ Working (1s • esc to interrupt)

› Ask Codex to do anything

  gpt-mock-1 default · /tmp/repo
  ← for agents · ? for shortcuts
"""

# Tool-permission dialogs as tests/e2e/test_permission_dialogs.py brings them up (the mock
# model asks for a Bash / exec_command call), and the screens once they were answered.
PERM_CMD = "echo harnex-permission-check > perm.txt"
CLAUDE_BASH_PERMISSION = f"""
❯ please write perm.txt

● Bash(echo harnex-permission-check > perm.txt)
  ⎿  Waiting…

{RULE}
 Bash command

   echo harnex-permission-check > perm.txt
   Write perm.txt for the harnex test

 Do you want to proceed?
 ❯ 1. Yes
   2. Yes, and always allow access to repo/ from this project
   3. No

 Esc to cancel · Tab to amend · ctrl+e to explain
"""

CLAUDE_AFTER_PERMISSION = f"""
❯ please write perm.txt

● Bash(echo harnex-permission-check > perm.txt)
  ⎿  (No output)

● MOCK TOOL DONE

✻ Crunched for 0s

{RULE}
❯
{RULE}
  ? for shortcuts · ← for agents
"""

# Codex draws the dialog under its working line, which can still show the busy marker.
CODEX_EXEC_APPROVAL = f"""
› please write perm.txt

◦ Running echo harnex-permission-check > perm.txt
◦ Working (0s • esc to interrupt)

  Would you like to run the following command?

  Environment: local

  Reason: Write perm.txt for the harnex test?

  $ echo harnex-permission-check > perm.txt

› 1. Yes, proceed (y)
  2. Yes, and don't ask again for commands that start with `{PERM_CMD}` (p)
  3. No, and tell Codex what to do differently (esc)

  Press enter to confirm or esc to cancel
"""

CODEX_AFTER_APPROVAL = """
› please write perm.txt

✔ You approved codex to run echo harnex-permission-check > perm.txt this time

• Ran echo harnex-permission-check > perm.txt
  └ (no output)

• MOCK TOOL DONE

  Worked for 1s • 15:12

› Ask Codex to do anything

  gpt-mock-1 default · /tmp/repo
  ← for agents · ? for shortcuts                          ⚠ 2 warnings · f2 to view
"""


def _state(name: str, screen: str) -> State:
    return adapter_for(name).detect(Observation(screen=screen, quiet_for=0.0))


@pytest.mark.parametrize(
    ("name", "screen", "state"),
    [
        ("claude", CLAUDE_TRUST, State.TRUST),
        ("claude", CLAUDE_IDLE, State.PROMPT),
        ("claude", CLAUDE_TYPED, State.PROMPT),
        ("claude", CLAUDE_BUSY, State.BUSY),
        ("claude", CLAUDE_BUSY_NOTICE, State.BUSY),
        ("claude", CLAUDE_IDLE.replace("? for shortcuts", "paste again to expand"), State.PROMPT),
        ("claude", CLAUDE_TYPED.replace("? for shortcuts", "paste again to expand"), State.UNKNOWN),
        ("claude", CLAUDE_API_KEY, State.CONFIRMATION),
        ("claude", CLAUDE_BASH_PERMISSION, State.CONFIRMATION),
        ("claude", CLAUDE_AFTER_PERMISSION, State.PROMPT),
        ("claude", "Welcome to Claude Code\n", State.UNKNOWN),
        ("codex", CODEX_TRUST, State.TRUST),
        ("codex", CODEX_IDLE, State.PROMPT),
        ("codex", CODEX_BUSY, State.BUSY),
        ("codex", CODEX_EXEC_APPROVAL, State.CONFIRMATION),
        ("codex", CODEX_AFTER_APPROVAL, State.PROMPT),
        ("codex", "\n\n", State.UNKNOWN),
    ],
)
def test_screen_states(name: str, screen: str, state: State) -> None:
    assert _state(name, screen) == state


def test_busy_marker_quoted_high_in_the_transcript_is_not_busy() -> None:
    quoted = "the docs say: esc to interrupt\n" + "\n" * 20 + CLAUDE_IDLE
    assert _state("claude", quoted) == State.PROMPT


def test_input_line() -> None:
    claude = adapter_for("claude")
    assert claude.input_line(CLAUDE_IDLE) == ""
    assert claude.input_line(CLAUDE_TYPED) == "hello there"
    assert adapter_for("codex").input_line(CODEX_IDLE) == "Ask Codex to do anything"
    assert adapter_for("generic").input_line(CODEX_IDLE) is None


def test_adapter_choice() -> None:
    assert adapter_name_for("/opt/bin/claude") == "claude"
    assert adapter_name_for("codex") == "codex"
    assert adapter_name_for("python3") == "generic"
    assert adapter_name_for("python3", "codex") == "codex"


def test_codex_launch_keeps_transcript_in_normal_screen() -> None:
    codex = adapter_for("codex")
    assert codex.launch_argv(["codex", "--model", "x"]) == [
        "codex",
        "--no-alt-screen",
        "--model",
        "x",
    ]
    assert codex.launch_argv(["codex", "--no-alt-screen"]) == ["codex", "--no-alt-screen"]


def test_claude_skip_permissions_preflight() -> None:
    claude = adapter_for("claude")
    claude.preflight(["claude"], {})
    argv = ["claude", "--dangerously-skip-permissions"]
    if os.geteuid() == 0:
        with pytest.raises(HarnexError, match="IS_SANDBOX=1"):
            claude.preflight(argv, {})
    claude.preflight(argv, {"IS_SANDBOX": "1"})


def test_generic_quiet_and_silent_start() -> None:
    generic = adapter_for("generic")
    assert generic.detect(Observation(None, quiet_for=0.0, output_seen=True)) == State.BUSY
    assert generic.detect(Observation(None, quiet_for=5.0, output_seen=True)) == State.PROMPT
    silent = Observation(None, quiet_for=1.0, output_seen=False, age=1.0)
    assert generic.detect(silent) == State.UNKNOWN
    assert generic.recheck_in(silent) == pytest.approx(2.0)
    late = Observation(None, quiet_for=4.0, output_seen=False, age=4.0)
    assert generic.detect(late) == State.PROMPT


def test_claude_read_hook() -> None:
    """Claude Code's reports count as they come (unheld): a prompt, a finished turn with its
    reply, and a notification, which implies a dialog only when it is about a permission."""
    read = adapter_for("claude").read_hook
    assert read("UserPromptSubmit", {"prompt": "go"}) == HookReport("prompt", "go", hold=False)
    assert read("UserPromptSubmit", {}) == HookReport("prompt", "", hold=False)
    assert read("Stop", {"last_assistant_message": "done"}) == HookReport("turn", "done")
    assert read("Stop", {"last_assistant_message": 3}) == HookReport("turn", None)
    permission = {"message": "Claude needs your Permission", "notification_type": "permission"}
    assert read("Notification", permission) == HookReport(
        "dialog", "Claude needs your Permission", hold=False, notification="permission"
    )
    assert read("Notification", {"message": "waiting"}) == HookReport(
        "note", "waiting", hold=False, notification="None"
    )
    assert read("SessionStart", {"source": "startup"}) is None


def test_codex_read_hook() -> None:
    """Codex reports only finished turns, with their last input and their thread."""
    read = adapter_for("codex").read_hook
    payload = {
        "type": "agent-turn-complete",
        "thread-id": "t1",
        "input-messages": ["first", "second"],
        "last-assistant-message": "reply",
    }
    assert read("agent-turn-complete", payload) == HookReport(
        "turn", "reply", received="second", thread="t1"
    )
    assert read("agent-turn-complete", {}) == HookReport("turn", None, received="", thread="")
    odd = {"input-messages": "not a list", "last-assistant-message": 3}
    assert read("agent-turn-complete", odd) == HookReport("turn", None, received="", thread="")
    assert read("something-else", payload) is None
