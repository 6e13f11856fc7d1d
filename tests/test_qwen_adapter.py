"""Qwen Code's per-session hooks: the system-defaults file a session gets, and what its hook
events mean. The end-to-end suite (tests/e2e/test_qwen.py) checks them against the live CLI;
its screen rules are data (files/qwen.toml), checked in test_adapter_files.py."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from harnex_tmux.adapters import HookReport, HookTarget, adapter_for
from harnex_tmux.adapters.qwen import DEFAULTS_VARIABLE, SESSION_FILE, QwenAdapter, defaults_path

HOOKS = HookTarget(["/usr/bin/python3", "-S", "/x/hook.py"], "http://127.0.0.1:1/hook")


def test_qwen_is_its_file_plus_hooks() -> None:
    adapter = adapter_for("qwen")
    assert isinstance(adapter, QwenAdapter)
    assert adapter.source.endswith("files/qwen.toml") and adapter.rules.placeholder
    assert adapter.has_hooks and adapter.proves_submit


def test_session_gets_a_defaults_file_with_harnex_hooks(tmp_path: Path) -> None:
    env = {DEFAULTS_VARIABLE: str(tmp_path / "missing.json")}
    added = QwenAdapter().session_env(HOOKS, env, tmp_path / "agent")
    path = Path(added[DEFAULTS_VARIABLE])
    assert path == tmp_path / "agent" / SESSION_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    hooks = json.loads(path.read_text())["hooks"]
    assert sorted(hooks) == ["Notification", "Stop", "UserPromptSubmit"]
    (entry,) = hooks["Stop"][0]["hooks"]
    assert entry["type"] == "command" and entry["timeout"] == 5
    assert entry["command"] == "/usr/bin/python3 -S /x/hook.py qwen Stop"


def test_the_defaults_in_force_are_kept_and_their_hooks_run_first(tmp_path: Path) -> None:
    theirs = tmp_path / "defaults.json"
    mine = {"hooks": [{"type": "command", "command": "notify-me"}]}
    theirs.write_text(
        '// comments are allowed\n{"ui": {"hideTips": true}, "hooks": {"Stop": ['
        + json.dumps(mine)
        + "]}}"
    )
    added = QwenAdapter().session_env(HOOKS, {DEFAULTS_VARIABLE: str(theirs)}, tmp_path / "a")
    written = json.loads(Path(added[DEFAULTS_VARIABLE]).read_text())
    assert written["ui"] == {"hideTips": True}
    assert written["hooks"]["Stop"][0] == mine
    assert written["hooks"]["Stop"][1]["hooks"][0]["name"] == "harnex-Stop"
    # A second session start in the same folder replaces the file.
    again = QwenAdapter().session_env(HOOKS, {DEFAULTS_VARIABLE: str(theirs)}, tmp_path / "a")
    assert again == added


def test_no_wiring_without_hooks_or_with_unreadable_defaults(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert QwenAdapter().session_env(HOOKS, {DEFAULTS_VARIABLE: str(bad)}, tmp_path / "a") == {}
    assert QwenAdapter().session_env(None, {}, tmp_path / "b") == {}
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_defaults_path_follows_qwen_codes_own_lookup() -> None:
    assert defaults_path({DEFAULTS_VARIABLE: "/x/d.json"}) == Path("/x/d.json")
    system = {"QWEN_CODE_SYSTEM_SETTINGS_PATH": "/opt/q/settings.json"}
    assert defaults_path(system) == Path("/opt/q/system-defaults.json")
    assert defaults_path({}).name == "system-defaults.json"


def test_hook_events() -> None:
    read = QwenAdapter().read_hook
    pasted = {"prompt": "line 0\nline 1 ünï", "submitted_prompt": "[Pasted Content 17 chars]"}
    assert read("UserPromptSubmit", pasted) == HookReport("prompt", "line 0\nline 1 ünï")
    # 0.24.4 reports the turn going on after a tool dialog as an empty prompt.
    assert read("UserPromptSubmit", {"prompt": ""}) is None
    stop = {"last_assistant_message": "done", "stop_hook_active": False}
    assert read("Stop", stop) == HookReport("turn", "done")
    assert read("Stop", {}) == HookReport("turn", None)
    asked = {"notification_type": "permission_prompt", "message": "needs your permission"}
    assert read("Notification", asked) == HookReport("dialog", "needs your permission")
    assert read("Notification", {"notification_type": "idle_prompt"}) is None
    assert read("SessionStart", {}) is None


# Qwen Code 0.24.4 taking a 100 KB paste, then showing it collapsed (from its screen).
_RULE = "─" * 40
_PASTING = (
    f"{_RULE}\n>   Type your message or @path/to/file\n{_RULE}\n"
    "  ➜ repo · git:(main) · gpt-mock-1\n  Pasting… 4 KB\n"
)
_TAKEN = (
    f"{_RULE}\n> [Pasted Content 104747 chars] \u200b\n{_RULE}\n"
    "  ➜ repo · git:(main) · gpt-mock-1\n  ⏸ Ask permissions (shift + tab to cycle)\n"
)


def test_a_paste_counts_as_taken_once_its_progress_is_gone_and_the_input_shows_it() -> None:
    qwen = adapter_for("qwen")
    assert qwen.taking_paste(_PASTING)
    assert not qwen.taking_paste(_TAKEN)
    # The footer back, the input line still empty: the text is not drawn yet.
    empty = _TAKEN.replace(
        "[Pasted Content 104747 chars] \u200b", "  Type your message or @path/to/file"
    )
    assert qwen.taking_paste(empty)
    # Adapters without [paste] pending or shown never wait.
    assert not adapter_for("claude").taking_paste(_PASTING)
