"""What a doctor check reports, and what every check is given to look at."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harnex_tmux.adapters.catalog import Catalog
    from harnex_tmux.compat import TestedRelease


class Status(Enum):
    """``fail`` breaks harnex (``--exit-code`` exits 1), ``warn`` works around or degrades
    something, ``skip`` is a check that does not apply here (a CLI that is not installed)."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One finding: ``fix`` says in one line what to do about it (empty when all is well)."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class InstalledCli:
    """A known CLI found on PATH."""

    release: TestedRelease
    command: str
    path: str


@dataclass
class Context:
    """The environment the checks read: variables, the folder they are run from (where an
    agent started here would run) and its repository, the adapter catalog (for each CLI's
    command name) and the tested releases."""

    env: Mapping[str, str]
    repo_root: str
    cwd: str
    catalog: Catalog
    releases: dict[str, TestedRelease]
    installed: dict[str, InstalledCli] = field(default_factory=dict)
    # Seconds a CLI's ``--version`` may take; longer is taken for a hang.
    version_timeout: float = 10.0

    @property
    def home(self) -> Path:
        return Path(self.env.get("HOME") or os.path.expanduser("~"))

    def show(self, path: Path | str) -> str:
        """``path`` with the home folder written ``~``, as the fix lines show it."""
        text = str(path)
        home = str(self.home)
        if home not in ("", os.sep) and (text == home or text.startswith(home + os.sep)):
            return "~" + text[len(home) :]
        return text


def json_value(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...`` through nested objects, None where one is missing."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
