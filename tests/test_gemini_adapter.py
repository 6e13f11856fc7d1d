"""Gemini CLI's screen rules and per-session wiring, on screens captured from 0.61.0 (the
wide blank runs of its 200-column pane shortened). The end-to-end suite checks the same
rules against the live CLI (tests/e2e)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harnex_tmux.adapters import HookReport, HookTarget, Observation, State, adapter_for
from harnex_tmux.adapters.gemini import HOME_VARIABLE, last_reply
from harnex_tmux.adapters.settings_files import read_settings

RULE = "─" * 80
BANNER = """
 ▝▜▄     Gemini CLI v0.61.0
   ▝▜▄
  ▗▟▀    Authenticated with gemini-api-key /auth
 ▝▀
"""
FOOTER = """
 workspace (/directory)                  sandbox                    /model
 /tmp/repo                               no sandbox                   Auto
"""

TRUST = (
    BANNER
    + """
ℹ Skipping project agents due to untrusted folder. To enable, ensure that the project root is

 ╭──────────────────────────────────────────────────────────────────────────────╮
 │                                                                              │
 │ Do you trust the files in this folder?                                       │
 │                                                                              │
 │ Trusting a folder allows Gemini CLI to load its local configurations,        │
 │ including custom commands, hooks, MCP servers, agent skills, and settings.   │
 │                                                                              │
 │ ● 1. Trust folder (repo)                                                     │
 │   2. Trust parent folder (tmp)                                               │
 │   3. Don't trust                                                             │
 │                                                                              │
 ╰──────────────────────────────────────────────────────────────────────────────╯
"""
)
RESTARTING = TRUST + " Gemini CLI is restarting to apply the trust changes...\n"

IDLE = f"""{BANNER}
 > hello there
✦ MOCK REPLY: hello there
                                                                       ? for shortcuts
{RULE}
 Shift+Tab to accept edits
 >   Type your message or @path/to/file
{FOOTER}"""

# Once the trust answer restarted it, the old dialog stays on the screen above the prompt.
AFTER_RESTART = f"""{RESTARTING}{BANNER}
                                                                       ? for shortcuts
{RULE}
 Shift+Tab to accept edits
 >   Type your message or @path/to/file
{FOOTER}"""

TYPED = f"""{BANNER}
{RULE}
 Shift+Tab to accept edits
 > line 01: ünï 日本 🚀
   line 02: second
{FOOTER}"""

BUSY = f"""{BANNER}
 > slow one
 ⠧ Executing Hook: harnex-BeforeAgent (esc to cancel, 2s)              ? for shortcuts
{RULE}
 Shift+Tab to accept edits

 >   Type your message or @path/to/file
{FOOTER}"""

THINKING = IDLE.replace(
    "                                                                       ? for shortcuts",
    " ⠧ Thinking... (esc to cancel, 3s)                                    ? for shortcuts",
)

TOOL_DIALOG = f"""{BANNER}
 > please write perm.txt

╭──────────────────────────────────────────────────────────────────────────────╮
│ ? Shell  echo harnex-permission-check > perm.txt                             │
│ ╭──────────────────────────────────────────────────────────────────────────╮ │
│ │ echo harnex-permission-check > perm.txt                                  │ │
│ ╰──────────────────────────────────────────────────────────────────────────╯ │
│ Allow execution of [Shell]?                                                  │
│ Redirection detected. To auto-accept, press Shift+Tab                        │
│                                                                              │
│ ● 1. Allow once                                                              │
│   2. Allow for this session                                                  │
│   3. No, suggest changes (esc)                                               │
╰──────────────────────────────────────────────────────────────────────────────╯
"""


def _state(screen: str) -> State:
    return adapter_for("gemini").detect(Observation(screen=screen, quiet_for=0.0))


@pytest.mark.parametrize(
    ("screen", "state"),
    [
        (TRUST, State.TRUST),
        (RESTARTING, State.UNKNOWN),
        (AFTER_RESTART, State.PROMPT),
        (IDLE, State.PROMPT),
        (TYPED, State.PROMPT),
        (BUSY, State.BUSY),
        (THINKING, State.BUSY),
        (TOOL_DIALOG, State.CONFIRMATION),
        (BANNER, State.UNKNOWN),
    ],
)
def test_screen_states(screen: str, state: State) -> None:
    assert _state(screen) == state


def test_input_line_reads_the_placeholder_as_empty() -> None:
    gemini = adapter_for("gemini")
    assert gemini.input_line(IDLE) == ""
    assert gemini.input_line(TYPED) == "line 01: ünï 日本 🚀"
    assert gemini.input_line(TOOL_DIALOG) is None  # the dialog takes the input box's place


def test_chosen_by_name_and_forced() -> None:
    from harnex_tmux.adapters import adapter_name_for

    assert adapter_name_for("/usr/local/bin/gemini") == "gemini"
    assert adapter_name_for("node", "gemini") == "gemini"


def _target() -> HookTarget:
    return HookTarget(command=["/py", "-S", "/h/hook.py"], url="http://127.0.0.1:1/hook")


def test_session_home_links_the_users_files_and_adds_hooks(tmp_path: Path) -> None:
    user = tmp_path / "home" / ".gemini"
    (user / "tmp").mkdir(parents=True)
    (user / "oauth_creds.json").write_text("{}")
    theirs = {"hooks": {"AfterAgent": [{"hooks": [{"type": "command", "command": "mine"}]}]}}
    (user / "settings.json").write_text(
        "// comments are allowed\n" + json.dumps({"ui": {"theme": "x"}, **theirs})
    )
    folder = tmp_path / "session"
    env = adapter_for("gemini").session_env(_target(), {"HOME": str(tmp_path / "home")}, folder)
    assert env[HOME_VARIABLE] == str(folder)
    assert env["GEMINI_CLI_TRUSTED_FOLDERS_PATH"] == str(user / "trustedFolders.json")
    overlay = folder / ".gemini"
    assert (overlay / "tmp").resolve() == (user / "tmp").resolve()
    assert (overlay / "oauth_creds.json").is_symlink()
    settings = json.loads((overlay / "settings.json").read_text())
    assert settings["ui"] == {"theme": "x"}
    after = settings["hooks"]["AfterAgent"]
    assert after[0] == theirs["hooks"]["AfterAgent"][0], "the user's own hook stays first"
    assert after[1]["hooks"][0]["command"] == "/py -S /h/hook.py gemini AfterAgent"
    assert set(settings["hooks"]) == {"SessionStart", "BeforeAgent", "AfterAgent", "Notification"}
    assert "GEMINI_CLI_TRUST_WORKSPACE" not in env
    # The user's own settings file is left as it was.
    assert (user / "settings.json").read_text().startswith("// comments")


def test_session_home_is_skipped_without_hooks_or_readable_settings(tmp_path: Path) -> None:
    gemini = adapter_for("gemini")
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    assert gemini.session_env(None, {"HOME": str(home)}, tmp_path / "s") == {}
    (home / ".gemini" / "settings.json").write_text("{ not json")
    assert gemini.session_env(_target(), {"HOME": str(home)}, tmp_path / "s") == {}
    assert read_settings(home / ".gemini" / "missing.json") == {}
    accepted = gemini.session_env(None, {"HOME": str(home)}, tmp_path / "s", auto_accept=True)
    assert accepted == {"GEMINI_CLI_TRUST_WORKSPACE": "true"}


def test_hook_events(tmp_path: Path) -> None:
    gemini = adapter_for("gemini")
    chat = tmp_path / "chat.jsonl"
    lines = [
        {"type": "user", "content": [{"text": "hi"}]},
        {"$set": {"lastUpdated": "x"}},
        {"type": "gemini", "content": "MOCK REPLY: hi"},
        {"$set": {"lastUpdated": "y"}},
    ]
    chat.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert gemini.read_hook("BeforeAgent", {"prompt": "hi"}) == HookReport("prompt", "hi")
    # The chat file's text wins over prompt_response, which 0.61.0 garbles for a reply
    # that streamed in several chunks.
    garbled = {"transcript_path": str(chat), "prompt_response": "MOCK REPLY: hi EPLY: hi"}
    assert gemini.read_hook("AfterAgent", garbled) == HookReport("turn", "MOCK REPLY: hi")
    missing = {"transcript_path": str(tmp_path / "none"), "prompt_response": "fallback"}
    assert gemini.read_hook("AfterAgent", missing) == HookReport("turn", "fallback")
    notice = {"notification_type": "ToolPermission", "message": "Tool Confirm"}
    assert gemini.read_hook("Notification", notice) == HookReport("dialog", "Tool Confirm")
    assert gemini.read_hook("SessionStart", {"source": "startup"}) is None


def test_last_reply_stops_at_the_turns_prompt(tmp_path: Path) -> None:
    chat = tmp_path / "chat.jsonl"
    lines = [{"type": "gemini", "content": "older"}, {"type": "user", "content": []}]
    chat.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert last_reply(str(chat)) is None
    assert last_reply(None) is None


def test_a_paste_is_waited_for_until_the_input_line_shows_it() -> None:
    """Gemini CLI turns an Enter that comes within 40 ms of its taking a paste into a new
    line: the submit waits until the input line shows the paste (``[paste] shown``)."""
    gemini = adapter_for("gemini")
    rule = "─" * 40
    footer = " Shift+Tab to accept edits\n"
    empty = f"{rule}\n >   Type your message or @path/to/file\n{rule}\n{footer}"
    assert gemini.taking_paste(empty)
    assert not gemini.taking_paste(
        empty.replace("  Type your message or @path/to/file", " [Pasted Text: 1200 lines]")
    )
