"""Will each installed CLI take harnex's hooks? Its settings must be readable, hooks not
turned off, and, for the CLIs that run hooks only there, this folder trusted.

Nothing here is written: harnex adds its hooks per session (see the adapters), so what can
stop them is only what the user's own files say.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harnex_tmux.doctor.model import Check, Context, Status, json_value

TRUST_FOLDER = "TRUST_FOLDER"
TRUST_PARENT = "TRUST_PARENT"
DO_NOT_TRUST = "DO_NOT_TRUST"


def check_hooks(ctx: Context) -> list[Check]:
    checks = []
    for adapter in ctx.installed:
        check = CHECKS.get(adapter)
        if check is not None:
            checks += check(ctx)
    return checks


def _claude(ctx: Context) -> list[Check]:
    """Claude Code takes harnex's hooks from ``--settings``; only ``disableAllHooks`` in
    one of its own settings files stops them."""
    config = Path(ctx.env.get("CLAUDE_CONFIG_DIR") or ctx.home / ".claude")
    repo = Path(ctx.repo_root) / ".claude"
    files = [config / "settings.json", repo / "settings.json", repo / "settings.local.json"]
    for path in files:
        settings, problem = _read_json(path)
        if problem:
            return [
                Check(
                    "hooks/claude",
                    Status.FAIL,
                    f"{path} {problem}",
                    f"correct the JSON in {ctx.show(path)}",
                )
            ]
        if json_value(settings, "disableAllHooks") is True:
            return [
                Check(
                    "hooks/claude",
                    Status.FAIL,
                    f"{path} sets disableAllHooks: harnex reads Claude Code's screen only",
                    f'remove "disableAllHooks" from {ctx.show(path)}',
                )
            ]
    return [Check("hooks/claude", Status.OK, "per-session --settings; nothing turns hooks off")]


def _codex(ctx: Context) -> list[Check]:
    """Codex takes ``-c notify=...``; harnex reads the user's own ``notify`` from
    ``config.toml`` to keep it running beside its own."""
    import tomllib

    home = Path(ctx.env.get("CODEX_HOME") or ctx.home / ".codex")
    path = home / "config.toml"
    try:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        return [Check("hooks/codex", Status.OK, "notify through -c; no config.toml")]
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return [
            Check(
                "hooks/codex",
                Status.FAIL,
                f"{path} cannot be read as TOML: {exc}",
                f"correct {ctx.show(path)} (Codex refuses it too)",
            )
        ]
    notify = config.get("notify")
    if notify is not None and not (
        isinstance(notify, list) and notify and all(isinstance(v, str) for v in notify)
    ):
        return [
            Check(
                "hooks/codex",
                Status.WARN,
                f"notify in {path} is not a list of strings: sessions run harnex's notify only",
                f'write it as notify = ["program", "arg"] in {ctx.show(path)}',
            )
        ]
    return [Check("hooks/codex", Status.OK, f"notify through -c; {path} readable")]


def _gemini(ctx: Context) -> list[Check]:
    """Gemini CLI: a session's hooks go into a copy of the user's ``settings.json``, which
    must be JSON; and it runs hooks only in a trusted folder (folder trust is on unless the
    settings turn it off)."""
    from harnex_tmux.adapters.gemini import (
        TRUST_VARIABLE,
        TRUSTED_FOLDERS_VARIABLE,
        user_gemini_dir,
    )
    from harnex_tmux.adapters.settings_files import read_settings

    folder = user_gemini_dir(ctx.env)
    path = folder / "settings.json"
    settings = read_settings(path)
    if settings is None:
        return [
            Check(
                "hooks/gemini",
                Status.FAIL,
                f"{path} is not a JSON object: sessions run without hooks (screen only)",
                f"correct the JSON in {ctx.show(path)}",
            )
        ]
    if "GEMINI_CLI_SYSTEM_SETTINGS_PATH" in ctx.env:
        return [
            Check(
                "hooks/gemini",
                Status.WARN,
                "GEMINI_CLI_SYSTEM_SETTINGS_PATH is set: harnex leaves it alone and adds no hooks",
                "unset GEMINI_CLI_SYSTEM_SETTINGS_PATH for harnex sessions",
            )
        ]
    checks = [Check("hooks/gemini", Status.OK, f"{path} readable")]
    enabled = json_value(settings, "security", "folderTrust", "enabled") is not False
    if enabled and ctx.env.get(TRUST_VARIABLE) != "true":
        trusted = Path(ctx.env.get(TRUSTED_FOLDERS_VARIABLE) or folder / "trustedFolders.json")
        checks.append(_trust(ctx, "gemini", "Gemini CLI", trusted))
    return checks


def _qwen(ctx: Context) -> list[Check]:
    """Qwen Code: the session's hooks go into a copy of the system defaults file, which must
    be JSON; with folder trust turned on (off by default) hooks run only in trusted folders."""
    from harnex_tmux.adapters.qwen import defaults_path
    from harnex_tmux.adapters.settings_files import read_settings

    path = defaults_path(ctx.env)
    if read_settings(path) is None:
        return [
            Check(
                "hooks/qwen",
                Status.FAIL,
                f"{path} is not a JSON object: sessions run without hooks (screen only)",
                f"correct the JSON in {path}",
            )
        ]
    found = "readable" if path.exists() else "not there (none needed)"
    checks = [Check("hooks/qwen", Status.OK, f"system defaults {path} {found}")]
    user = ctx.home / ".qwen"
    settings = read_settings(user / "settings.json")
    if json_value(settings, "security", "folderTrust", "enabled") is True:
        checks.append(_trust(ctx, "qwen", "Qwen Code", user / "trustedFolders.json"))
    return checks


def _trust(ctx: Context, adapter: str, name: str, trusted: Path) -> Check:
    """Whether this folder is trusted in ``trusted`` (a folder is trusted by a
    ``TRUST_FOLDER`` rule on it or a folder above, or ``TRUST_PARENT`` on a child of one)."""
    check = f"trust/{adapter}"
    rules, problem = _read_json(trusted)
    if problem:
        return Check(check, Status.WARN, f"{trusted} {problem}", f"correct {ctx.show(trusted)}")
    if folder_trusted(ctx.cwd, rules if isinstance(rules, dict) else {}):
        return Check(check, Status.OK, f"{ctx.cwd} is trusted")
    return Check(
        check,
        Status.WARN,
        f"{ctx.cwd} is not a trusted folder: {name} runs no hooks here until it is",
        f"harnex run {adapter} --auto-accept (trusts it), or trust it once in {adapter} itself",
    )


def folder_trusted(folder: str, rules: dict[str, Any]) -> bool:
    where = Path(folder)
    for path, level in rules.items():
        if level == DO_NOT_TRUST and Path(path) == where:
            return False
    for path, level in rules.items():
        root = Path(path) if level == TRUST_FOLDER else Path(path).parent
        if level in (TRUST_FOLDER, TRUST_PARENT) and (where == root or root in where.parents):
            return True
    return False


def _read_json(path: Path) -> tuple[Any, str | None]:
    """A JSON file's value (None when there is no file), or why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
    try:
        return json.loads(text), None
    except ValueError:
        return None, "is not valid JSON"


CHECKS: dict[str, Callable[[Context], list[Check]]] = {
    "claude": _claude,
    "codex": _codex,
    "gemini": _gemini,
    "qwen": _qwen,
}
# OpenCode reports through its server's event stream on --port, Aider through
# --notifications-command: neither reads anything of the user's for it.
