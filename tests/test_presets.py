"""Watch presets and durations: the shipped files, user overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import harnex_tmux
from harnex_tmux.durations import format_duration, parse_duration
from harnex_tmux.errors import DurationError, PresetError, UsageError
from harnex_tmux.watch_presets import (
    builtin_dir,
    get_preset,
    load_presets,
    parse_preset_file,
    user_dir,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("8m", 480.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("2.5m", 150.0),
        ("45", 45.0),
        ("0.5", 0.5),
        (" 3M ", 180.0),
        (7, 7.0),
        (1.5, 1.5),
    ],
)
def test_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5s", "-1", "abc", "5x", "", "m", "1.2.3s", "5 m", "nan", "inf"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (480, 3600, 90, 1.5, 45)] == [
        "8m",
        "1h",
        "90s",
        "1.5s",
        "45s",
    ]


def test_shipped_presets_have_the_spec_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty"))
    presets = load_presets()
    assert {n: (p.stall_after_s, p.max_resumes) for n, p in presets.items()} == {
        "impl": (480.0, 1),
        "plan": (180.0, 2),
        "gate": (900.0, 0),
    }
    assert all(p.description for p in presets.values())


def test_presets_ship_inside_the_package() -> None:
    """The wheel carries them as package data; the checkout reaches them the same way."""
    folder = Path(harnex_tmux.__file__).parent / "presets"
    assert sorted(p.name for p in folder.glob("*.toml")) == ["gate.toml", "impl.toml", "plan.toml"]
    assert builtin_dir() == Path(harnex_tmux.__file__).resolve().parent / "presets"


def test_user_presets_add_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = tmp_path / "harnex" / "presets"
    folder.mkdir(parents=True)
    assert user_dir() == folder
    (folder / "impl.toml").write_text("max_resumes = 3\n")
    (folder / "night.toml").write_text('stall_after = "20m"\nmax_resumes = 4\ndescription = "x"\n')
    presets = load_presets()
    assert (presets["impl"].stall_after_s, presets["impl"].max_resumes) == (480.0, 3)
    assert presets["impl"].source == str(folder / "impl.toml")
    assert (presets["night"].stall_after_s, presets["night"].max_resumes) == (1200.0, 4)
    assert presets["gate"].max_resumes == 0


def test_home_config_is_the_default_user_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_dir() == tmp_path / ".config" / "harnex" / "presets"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("stall_after = ", "not valid TOML"),
        ('stall_after = "8m"\nmax_resumes = 1\ncolour = "red"\n', "unknown key(s) colour"),
        ('stall_after = "soon"\nmax_resumes = 1\n', "stall_after: invalid duration"),
        ('stall_after = "-3m"\nmax_resumes = 1\n', "must not be negative"),
        ('stall_after = "0s"\nmax_resumes = 1\n', "more than zero"),
        ("stall_after = true\nmax_resumes = 1\n", "stall_after must be a duration"),
        ('stall_after = "8m"\nmax_resumes = -1\n', "max_resumes must be a whole number"),
        ('stall_after = "8m"\nmax_resumes = 1.5\n', "max_resumes must be a whole number"),
        ('stall_after = "8m"\n', "missing max_resumes"),
        ('max_resumes = 1\ndescription = 3\nstall_after = "1m"\n', "description must be"),
    ],
)
def test_bad_preset_files_say_what_is_wrong(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "custom.toml"
    path.write_text(content)
    with pytest.raises(PresetError) as caught:
        parse_preset_file(path)
    message = str(caught.value)
    assert message.startswith(f"preset file {path}: ") and problem in message
    assert "\n" not in message


def test_bad_preset_names(tmp_path: Path) -> None:
    path = tmp_path / "Bad Name.toml"
    path.write_text('stall_after = "1m"\nmax_resumes = 0\n')
    with pytest.raises(PresetError, match="must be lowercase"):
        parse_preset_file(path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PresetError, match="not UTF-8"):
        parse_preset_file(binary)


def test_unknown_preset_lists_the_valid_ones() -> None:
    presets = load_presets([builtin_dir() or Path("presets")])
    assert get_preset("plan", presets).max_resumes == 2
    with pytest.raises(UsageError, match=r"unknown preset 'nope'; valid presets: gate, impl, plan"):
        get_preset("nope", presets)
