"""The hosts harnex knows by name: a small JSON file under the state dir.

A host is a NAME the user picks and a DEST as ssh takes it (``user@box``, an alias of their
ssh config). ``NAME:id`` names a session on it; so a name holds no ``:`` and no spaces.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from harnex_tmux.errors import HostError, UsageError
from harnex_tmux.state import ensure_dir, read_json, state_root, write_private

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class Host:
    name: str
    dest: str


def hosts_file() -> Path:
    return state_root() / "hosts.json"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"host name {name!r}: use letters, digits, '.', '_' or '-' (at most 63, no ':')"
        )
    return name


def check_dest(dest: str) -> str:
    # ssh would read a leading '-' as an option: a destination never starts with one.
    if not dest or dest.startswith("-") or any(c.isspace() for c in dest):
        raise UsageError(f"ssh destination {dest!r}: give user@host or an ssh config alias")
    return dest


def load_hosts() -> dict[str, Host]:
    data = read_json(hosts_file()) or {}
    entries = data.get("hosts", {})
    if not isinstance(entries, dict):
        return {}
    return {
        name: Host(name, str(entry["dest"]))
        for name, entry in entries.items()
        if isinstance(entry, dict) and "dest" in entry
    }


def save_hosts(hosts: dict[str, Host]) -> None:
    ensure_dir(state_root())
    data = {"hosts": {name: {"dest": host.dest} for name, host in sorted(hosts.items())}}
    write_private(hosts_file(), json.dumps(data, indent=2) + "\n")


def get_host(name: str) -> Host:
    host = load_hosts().get(name)
    if host is None:
        raise HostError(f"unknown host {name!r} (harnex hosts add {name} USER@HOST adds it)")
    return host


def split_target(ident: str) -> tuple[str | None, str]:
    """``NAME:id`` as (NAME, id); a plain id as (None, id). A session id never holds ``:``
    (until the id check shared by all commands lands, this is where that is said)."""
    if ":" not in ident:
        return None, ident
    name, _, session = ident.partition(":")
    if not name:
        raise UsageError(f"{ident!r}: no host name before ':' (use NAME:id)")
    if not session.strip():
        raise UsageError(f"{ident!r}: no session id after '{name}:' (use {name}:ID)")
    if ":" in session:
        raise UsageError(f"{ident!r}: a session id cannot contain ':' (host {name!r})")
    return name, session
