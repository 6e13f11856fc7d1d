"""Adapter files: a new CLI described by a short TOML file, a shipped adapter patched by one,
and broken files reported and skipped without breaking anything else."""

from __future__ import annotations

import dataclasses
import json
import sys
import tomllib
from pathlib import Path
from types import FunctionType

import pytest
from conftest import Harnex, recorded, user_cli, wait_for
from hypothesis import given, settings
from hypothesis import strategies as st

from harnex_tmux.adapters import Observation, State, adapter_for, load_catalog
from harnex_tmux.adapters.catalog import WITH_CODE, repo_dir
from harnex_tmux.adapters.rules import ScreenRules, load_rules, parse_rules
from harnex_tmux.adapters.screen import SHIPPED_DIR, ScreenAdapter
from harnex_tmux.errors import AdapterFileError

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


def test_a_user_adapter_file_drives_a_new_cli(harnex: Harnex, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    demo = f"{sys.executable} -m harnex_tmux.demo_agent --busy 0.3 --record {record}"
    env = user_cli(harnex, tmp_path, FAKECLI, demo)
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


def test_the_generic_name_is_reserved(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text('name = "generic"\n[prompt]\nidle_markers = ["ok"]\n')
    assert load_catalog(dirs=[tmp_path]).problems[0].endswith("is reserved (it has no screen)")


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
    gemini = harnex.run("adapters", "show", "gemini").stdout
    assert "dialogs_below_input = true" in gemini and 'placeholder = "Type your' in gemini
    opencode = harnex.run("adapters", "show", "opencode").stdout
    assert "[prompt.box]" in opencode and "collapsed_keys" in opencode
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
        *("name", "commands", "prompt", "busy", "dialogs", "stop", "paste", "launch"),
        *("settle_s", "submit_keys", "dialogs_below_input", "ready"),
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


def test_a_launch_reads_the_adapter_files_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`harnex run` reads the catalog once (to report skipped files) and hands it through:
    choosing the adapter and checking the launch must not read the files again."""
    from harnex_tmux import adapters
    from harnex_tmux.adapters import catalog as catalog_module
    from harnex_tmux.launch import spec_for, start_session

    folder = tmp_path / "adapters"
    folder.mkdir()
    (folder / "fakecli.toml").write_text(FAKECLI)
    catalog = load_catalog(dirs=[folder])

    def read_again(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the adapter files were read a second time")

    monkeypatch.setattr(catalog_module, "load_catalog", read_again)
    monkeypatch.setattr(adapters, "load_catalog", read_again)
    spec = spec_for(
        ["/usr/bin/fakecli"], cwd=str(tmp_path), socket=str(tmp_path / "s"), catalog=catalog
    )
    assert spec.adapter == "fakecli"

    class Checked(Exception):
        pass

    built: list[str] = []

    def build(name: str, prompt_regex: str | None = None) -> adapters.Adapter:
        built.append(name)
        raise Checked

    monkeypatch.setattr(catalog, "build", build)
    spec.command = ["sh"]
    with pytest.raises(Checked):
        start_session(spec, catalog=catalog)
    assert built == ["fakecli"]


# Every key the box-input CLIs need, for a made-up CLI: a "|" box above a "+---" line whose
# last line is the CLI's own, a placeholder, a collapsed paste and a dialog left drawn.
BOXCLI = r"""
name = "boxcli"
settle_s = 0.2
dialogs_below_input = true

[prompt]
idle_markers = ["F1 help"]
placeholder = "Say something"
skip_blank_lines = true

[prompt.box]
side = "|"
bottom = "+---"
footer_lines = 1

[busy]
markers = ["stop: esc"]

[[dialogs]]
state = "confirmation"
patterns = ['Run this\?']
answered = ['ran it']

[paste]
always = true
collapsed = '<\d+ lines>$'
collapsed_keys = ["BSpace", "End"]
"""
# The box in the middle of the screen, far above the footer (skip_blank_lines).
BOX_EMPTY = "\n  | Say something...\n  |\n  | model-x\n  +--------" + "\n" * 15 + "   F1 help\n"
BOX_TYPED = BOX_EMPTY.replace("Say something...", "fix the bug")
BOX_PASTED = BOX_EMPTY.replace("Say something...", "<30 lines>")
BOX_BUSY = BOX_TYPED.replace("F1 help", "working  stop: esc")
BOX_DIALOG = "  Run this? rm -rf build\n  [y] yes  [n] no\n"


def _boxcli(tmp_path: Path) -> Path:
    path = tmp_path / "boxcli.toml"
    path.write_text(BOXCLI)
    return path


def test_the_box_input_keys_are_applied(tmp_path: Path) -> None:
    from harnex_tmux.adapters.rules import BoxRule, Dialog

    adapter = ScreenAdapter(load_rules(_boxcli(tmp_path)))
    assert adapter.rules.box == BoxRule("|", "+---", 1)
    assert adapter.rules.placeholder == "Say something" and adapter.rules.skip_blank_lines
    assert adapter.rules.dialogs_below_input
    assert adapter.dialogs == (Dialog(State.CONFIRMATION, (r"Run this\?",), ("ran it",)),)
    assert adapter.types_by_paste and adapter.tidies_input
    assert adapter.rules.collapsed_paste == r"<\d+ lines>$"
    assert adapter.keys_after_typing("<30 lines>") == ("BSpace", "End")
    assert adapter.keys_after_typing("fix the bug") == ()
    # Without them, a file keeps the defaults: a glyph line, nothing collapsed or pasted.
    plain = ScreenAdapter(load_rules(Path(adapter_for("codex").source)))
    rules = plain.rules
    assert rules.box is None and rules.placeholder is None and not rules.skip_blank_lines
    assert not (rules.dialogs_below_input or plain.types_by_paste or plain.tidies_input)
    assert plain.keys_after_typing("<30 lines>") == ()


@pytest.mark.parametrize(
    ("screen", "state", "line"),
    [
        (BOX_EMPTY, "prompt", ""),
        (BOX_TYPED, "prompt", "fix the bug"),
        (BOX_PASTED, "prompt", "<30 lines>"),
        (BOX_BUSY, "busy", "fix the bug"),
        (BOX_DIALOG + BOX_EMPTY, "prompt", ""),  # drawn above the input box: answered
        (BOX_EMPTY + BOX_DIALOG, "confirmation", ""),
        (BOX_EMPTY + BOX_DIALOG + "  ran it\n", "prompt", ""),
    ],
)
def test_a_user_file_with_a_box_input_reads_saved_screens(
    harnex: Harnex, tmp_path: Path, screen: str, state: str, line: str | None
) -> None:
    saved = tmp_path / "screen.txt"
    saved.write_text(screen)
    result = harnex.run("adapters", "check", str(_boxcli(tmp_path)), "--screen", str(saved))
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == state
    assert out[1:] == ([f"input line: {line!r}"] if line is not None else [])


def test_the_box_input_keys_are_shown(harnex: Harnex, tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "harnex" / "adapters").mkdir(parents=True)
    (config / "harnex" / "adapters" / "boxcli.toml").write_text(BOXCLI)
    env = dict(harnex.env, XDG_CONFIG_HOME=str(config))
    shown = harnex.run("adapters", "show", "boxcli", env=env).stdout
    for key in ("dialogs_below_input", "placeholder", "skip_blank_lines", "[prompt.box]"):
        assert key in shown
    for key in ("footer_lines", "answered", "[paste]", "always", "collapsed_keys"):
        assert key in shown


BASE = 'name = "x"\n[prompt]\nidle_markers = ["ok"]\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # The file as a whole, its prompt, dialogs, keys, stop steps and launch.
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
        ('name = "x"\n[prompt]\nplaceholder = " "\n', "prompt.placeholder: must not be empty"),
        # The input box, the placeholder, answered dialogs and pastes.
        ('dialogs_below_input = "yes"\n' + BASE, "dialogs_below_input: must be true or false"),
        (BASE + 'placeholder = ""\n', "prompt.placeholder: must not be empty"),
        (BASE + "placeholder = 3\n", "prompt.placeholder: must be a string"),
        (BASE + "skip_blank_lines = 1\n", "prompt.skip_blank_lines: must be true or false"),
        (BASE + 'box = "|"\n', "prompt.box: must be a table"),
        (BASE + '[prompt.box]\nside = "|"\n', "prompt.box.bottom: is missing"),
        (BASE + '[prompt.box]\nbottom = "+"\n', "prompt.box.side: is missing"),
        (BASE + '[prompt.box]\nside = ""\nbottom = "+"\n', "prompt.box.side: must not be empty"),
        (
            BASE + '[prompt.box]\nside = "|"\nbottom = "+"\nfooter_lines = 11\n',
            "prompt.box.footer_lines: must be a whole number from 0 to 10",
        ),
        (
            BASE + '[prompt.box]\nside = "|"\nbottom = "+"\nfooter_lines = 1.5\n',
            "prompt.box.footer_lines: must be a whole number",
        ),
        (
            BASE + '[prompt.box]\nside = "|"\nbottom = "+"\ncolour = 1\n',
            "prompt.box: unknown key 'colour'",
        ),
        (
            BASE + '[[dialogs]]\nstate = "confirmation"\npatterns = ["x"]\nanswered = ["(x"]\n',
            "dialogs[0].answered: bad regex",
        ),
        (
            BASE + '[[dialogs]]\nstate = "confirmation"\npatterns = ["x"]\nanswered = "y"\n',
            "dialogs[0].answered: must be a list of non-empty strings",
        ),
        (BASE + '[paste]\nalways = "yes"\n', "paste.always: must be true or false"),
        (
            BASE + "[paste]\ncollapsed = '(x'\ncollapsed_keys = ['BSpace']\n",
            "paste.collapsed: bad regex",
        ),
        (
            BASE + "[paste]\ncollapsed = 'x'\ncollapsed_keys = ['Back Space']\n",
            "paste.collapsed_keys: 'Back Space' is not a tmux key name",
        ),
        (BASE + "[paste]\ncollapsed = 'x'\n", "paste: collapsed and collapsed_keys go together"),
        (BASE + "[paste]\ncollapsed_keys = ['BSpace']\n", "collapsed and collapsed_keys go"),
        (BASE + "[paste]\nsplit = true\n", "paste: unknown key 'split'"),
        ("paste = 1\n" + BASE, "paste: must be a table"),
        # The ready command and the last-line input.
        (BASE + "[ready]\nargs = []\n", "ready.args: needs an argument holding {command}"),
        (BASE + '[ready]\nargs = ["--x"]\n', "ready.args: needs an argument holding {command}"),
        (BASE + '[ready]\nargs = "{command}"\n', "ready.args: must be a list of non-empty"),
        (BASE + '[ready]\ncommand = "{command}"\n', "ready: unknown key 'command'"),
        ('ready = "yes"\n' + BASE, "ready: must be a table"),
        (BASE + "[resume]\nargs = []\n", "resume.args: needs at least one argument"),
        (BASE + '[resume]\nargs = "--resume"\n', "resume.args: must be a list of non-empty"),
        (BASE + 'last_line = "yes"\n', "prompt.last_line: must be true or false"),
    ],
)
def test_invalid_files_are_one_line_errors(
    harnex: Harnex, tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text)
    result = harnex.run("adapters", "check", str(path))
    assert result.returncode == 2, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert problem in line and str(path) in line


SHIPPED = sorted(p.name for p in SHIPPED_DIR.glob("*.toml"))


def test_every_shipped_cli_has_its_file() -> None:
    names = ["aider", "claude", "codex", "gemini", "opencode", "qwen"]
    assert [f"{name}.toml" for name in names] == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_load_and_their_classes_use_them(harnex: Harnex, name: str) -> None:
    path = SHIPPED_DIR / name
    result = harnex.run("adapters", "check", str(path))
    assert result.returncode == 0 and result.stdout.startswith("ok: "), result.stderr
    cli = name.removesuffix(".toml")
    adapter = adapter_for(cli)
    assert adapter.source == str(path) and adapter.name == cli
    if type(adapter) is ScreenAdapter:
        assert cli not in WITH_CODE  # a CLI with no code (Aider): the file is all of it
        return
    # The class keeps code only: no screen rule of its own is left to drift from the file.
    screen_rules = {f.name for f in dataclasses.fields(ScreenRules)} - {"name"}
    screen_rules |= {"box_side", "dialogs", "trust_accept_keys", "tidies_input"}
    assert not screen_rules & set(vars(type(adapter)))
    # Nor does ScreenAdapter hold one: what it passes on is a property reading its rules
    # (launch_env, also the name of a method, is one).
    held = {k for k, v in vars(ScreenAdapter).items() if not isinstance(v, property | FunctionType)}
    assert not screen_rules & held


def test_gemini_and_opencode_files_say_what_their_classes_said() -> None:
    """What the classes held before the rules moved into files (a few values the screen
    tests in test_gemini_adapter.py and test_opencode_adapter.py do not reach)."""
    gemini, opencode = adapter_for("gemini"), adapter_for("opencode")
    assert gemini.settle_s == 0.3 and opencode.settle_s == 0.15
    assert [(s.keys, s.wait_s) for s in gemini.stop_steps] == [
        (("C-c",), 0.3),
        (("C-c",), 3.0),
        (("C-c",), 0.3),
        (("C-c",), 2.0),
    ]
    assert [(s.keys, s.wait_s) for s in opencode.stop_steps] == [(("C-c",), 2.0)] * 2
    assert gemini.trust_accept_keys == opencode.trust_accept_keys == ("Enter",)
    assert not gemini.types_by_paste and not gemini.tidies_input
    assert opencode.types_by_paste and opencode.tidies_input
    assert gemini.first_prompt_settles and opencode.first_prompt_settles


SCREENS = Path(__file__).with_name("screens")


@pytest.mark.parametrize(
    ("screen", "state", "line"),
    [
        ("gemini-trust", "workspace-trust-prompt", None),
        # The answered trust dialog is still drawn above the restarted CLI's prompt.
        ("gemini-after-restart", "prompt", ""),
        ("gemini-typed", "prompt", "a draft line"),
        ("gemini-busy", "busy", ""),
        ("gemini-idle", "prompt", ""),
        ("gemini-permission", "confirmation", None),
        ("gemini-after-tool", "prompt", ""),
        ("opencode-home", "prompt", ""),
        ("opencode-typed", "prompt", "a draft line"),
        ("opencode-pasted", "prompt", "[Pasted ~30 lines]"),
        ("opencode-busy", "busy", ""),
        ("opencode-idle", "prompt", ""),
        ("opencode-permission", "confirmation", None),
        ("opencode-after-tool", "prompt", ""),
    ],
)
def test_shipped_files_read_saved_real_screens(
    harnex: Harnex, screen: str, state: str, line: str | None
) -> None:
    cli = screen.split("-")[0]
    saved = SCREENS / f"{screen}.txt"
    result = harnex.run(
        "adapters", "check", str(SHIPPED_DIR / f"{cli}.toml"), "--screen", str(saved)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        state,
        *([f"input line: {line!r}"] if line is not None else []),
    ]
    # What the delivery does after typing, read from the same screen.
    adapter = adapter_for(cli)
    tidy = adapter.keys_after_typing(adapter.input_line(saved.read_text()))
    assert tidy == (("BSpace",) if screen == "opencode-pasted" else ())


def test_placeholder_reads_as_an_empty_input_line() -> None:
    text = 'name = "x"\n[prompt]\nidle_markers = ["ready"]\nplaceholder = "Ask me"\n'
    rules = parse_rules(tomllib.loads(text), "x.toml")
    assert rules.placeholder == "Ask me"
    screen = "> Ask me\n  ready\n"
    assert ScreenAdapter(rules).input_line(screen) == ""
    assert ScreenAdapter(rules).input_line(screen.replace("Ask me", "Ask me twice")) == (
        "Ask me twice"
    )
    # Without the key the hint is what the input line holds.
    plain = parse_rules(tomllib.loads(text.replace('placeholder = "Ask me"\n', "")), "x.toml")
    assert plain.placeholder is None and ScreenAdapter(plain).input_line(screen) == "Ask me"


QWEN_SCREENS = Path(__file__).with_name("screens") / "qwen-0.24.4"


def test_the_shipped_qwen_file_loads_and_picks_the_qwen_command() -> None:
    rules = load_rules(SHIPPED_DIR / "qwen.toml")
    assert rules.name == "qwen" and rules.commands == ("qwen",)
    assert rules.placeholder == "Type your message or @path/to/file"
    catalog = load_catalog(dirs=[SHIPPED_DIR])
    assert catalog.problems == []
    assert catalog.name_for("/opt/node/bin/qwen") == "qwen"
    adapter = catalog.build("qwen")
    assert isinstance(adapter, ScreenAdapter) and adapter.source.endswith("qwen.toml")


@pytest.mark.parametrize(
    ("screen", "state", "line"),
    [
        # A dialog hides the input box: no input line near the bottom.
        ("trust-dialog.txt", "workspace-trust-prompt", None),
        ("idle.txt", "prompt", "''"),
        ("idle-after-reply.txt", "prompt", "''"),
        ("draft.txt", "prompt", "'a draft not sent \\u200b'"),
        ("pasted-collapsed.txt", "prompt", "'[Pasted Content 149 chars] \\u200b'"),
        ("busy.txt", "busy", "''"),
        ("permission-dialog.txt", "confirmation", None),
        # Stopping: the first Ctrl-C cleared a draft and took the footer's place.
        ("after-one-ctrl-c-on-draft.txt", "unknown", "''"),
    ],
)
def test_check_reads_saved_qwen_screens(
    harnex: Harnex, screen: str, state: str, line: str | None
) -> None:
    """Real Qwen Code 0.24.4 screens (captured from tmux against the e2e mock, 120x36)."""
    shipped = str(SHIPPED_DIR / "qwen.toml")
    result = harnex.run("adapters", "check", shipped, "--screen", str(QWEN_SCREENS / screen))
    assert result.returncode == 0, result.stderr
    expected = [state] if line is None else [state, f"input line: {line}"]
    assert result.stdout.splitlines() == expected


def test_resume_args_with_an_id_or_without_one() -> None:
    """Claude Code continues a conversation by its id; Aider from its folder's chat history,
    so its resume command needs none."""
    claude, aider = adapter_for("claude"), adapter_for("aider")
    assert claude.resume_needs_id and not aider.resume_needs_id
    assert claude.resume_command(["claude", "-p"], "abc") == ["claude", "--resume", "abc", "-p"]
    assert aider.resume_command(["aider", "--model", "m"], "") == [
        "aider",
        "--restore-chat-history",
        "--model",
        "m",
    ]
    assert adapter_for("generic").resume_command(["sh"], "abc") is None
