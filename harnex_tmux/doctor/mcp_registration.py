"""Is ``harnex mcp`` registered with each installed agent CLI that can use it?

Each CLI keeps MCP servers in its own configuration (user-wide, and for some also per
project); a ``harnex`` entry in any of them counts. The fix line is the one command, or the
one file and snippet, that registers it (``harnex mcp --print-config`` prints the snippets).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harnex_tmux.doctor.model import Check, Context, Status, json_value

SERVER = "harnex"


def check_mcp(ctx: Context) -> list[Check]:
    checks = []
    for adapter in ctx.installed:
        where = PLACES.get(adapter)
        if where is None:
            continue  # a CLI that is no MCP client (Aider)
        places, fix = where(ctx)
        checks.append(_registered(ctx, adapter, places, fix))
    return checks


# A place is (file, reader, path of keys to the server table inside it).
Place = tuple[Path, Callable[[Path], Any], tuple[str, ...]]


def _registered(ctx: Context, adapter: str, places: list[Place], fix: str) -> Check:
    name = f"mcp/{adapter}"
    unreadable = []
    for path, reader, keys in places:
        try:
            config = reader(path)
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            unreadable.append(f"{ctx.show(path)} ({type(exc).__name__})")
            continue
        if isinstance(json_value(config, *keys, SERVER), dict):
            return Check(name, Status.OK, f"registered in {path}")
    detail = "harnex mcp is not registered"
    if unreadable:
        detail += f"; could not read {', '.join(unreadable)}"
    return Check(name, Status.WARN, detail, fix)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _json_with_comments(path: Path) -> Any:
    from harnex_tmux.adapters.settings_files import read_settings

    if not path.exists():
        raise FileNotFoundError(path)
    settings = read_settings(path)
    if settings is None:
        raise ValueError(f"{path} is not a JSON object")
    return settings


def _toml(path: Path) -> Any:
    import tomllib

    with path.open("rb") as handle:
        return tomllib.load(handle)


def _claude(ctx: Context) -> tuple[list[Place], str]:
    """User scope (top level of ``.claude.json``), local scope (its entry for this
    folder or repository), project scope (``.mcp.json`` in the repository)."""
    folder = ctx.env.get("CLAUDE_CONFIG_DIR")
    config = Path(folder) / ".claude.json" if folder else ctx.home / ".claude.json"
    places: list[Place] = [
        (config, _json, ("mcpServers",)),
        (config, _json, ("projects", ctx.cwd, "mcpServers")),
        (config, _json, ("projects", ctx.repo_root, "mcpServers")),
        (Path(ctx.repo_root) / ".mcp.json", _json, ("mcpServers",)),
    ]
    return places, "claude mcp add --scope user harnex -- harnex mcp"


def _codex(ctx: Context) -> tuple[list[Place], str]:
    home = Path(ctx.env.get("CODEX_HOME") or ctx.home / ".codex")
    path = home / "config.toml"
    return [(path, _toml, ("mcp_servers",))], f"harnex mcp --print-config codex >> {ctx.show(path)}"


def _gemini(ctx: Context) -> tuple[list[Place], str]:
    from harnex_tmux.adapters.gemini import user_gemini_dir

    places: list[Place] = [
        (user_gemini_dir(ctx.env) / "settings.json", _json_with_comments, ("mcpServers",)),
        (Path(ctx.repo_root) / ".gemini" / "settings.json", _json_with_comments, ("mcpServers",)),
    ]
    return places, "gemini mcp add harnex harnex mcp"


def _qwen(ctx: Context) -> tuple[list[Place], str]:
    user = ctx.home / ".qwen" / "settings.json"
    places: list[Place] = [
        (user, _json_with_comments, ("mcpServers",)),
        (Path(ctx.repo_root) / ".qwen" / "settings.json", _json_with_comments, ("mcpServers",)),
    ]
    fix = f'add the "mcpServers" entry of `harnex mcp --print-config qwen` to {ctx.show(user)}'
    return places, fix


def _opencode(ctx: Context) -> tuple[list[Place], str]:
    config = Path(ctx.env.get("XDG_CONFIG_HOME") or ctx.home / ".config") / "opencode"
    repo = Path(ctx.repo_root)
    files = [config / "opencode.json", config / "opencode.jsonc"]
    files += [repo / "opencode.json", repo / "opencode.jsonc"]
    places: list[Place] = [(path, _json_with_comments, ("mcp",)) for path in files]
    fix = (
        f'add the "mcp" entry of `harnex mcp --print-config opencode` to '
        f"{ctx.show(config / 'opencode.json')}"
    )
    return places, fix


PLACES: dict[str, Callable[[Context], tuple[list[Place], str]]] = {
    "claude": _claude,
    "codex": _codex,
    "gemini": _gemini,
    "opencode": _opencode,
    "qwen": _qwen,
}
