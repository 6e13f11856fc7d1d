"""The agent CLI releases harnex is tested against, read from ``data/compat.toml``.

One file holds them so the pins cannot drift apart: the end-to-end installers read their
versions here, ``harnex doctor`` places the installed CLIs against them, and docs/compat.md
shows them. Versions are compared as numbers (``0.10.0`` is newer than ``0.9.9``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

COMPAT_FILE = Path(__file__).resolve().parent / "data" / "compat.toml"
# The first dotted number in a ``--version`` answer ("codex-cli 0.169.0", "2.1.197 (Claude
# Code)", "aider 0.86.2").
_VERSION = re.compile(r"(?<![\d.])(\d+(?:\.\d+)+)")

Version = tuple[int, ...]


@dataclass(frozen=True)
class TestedRelease:
    """One CLI's pinned release, as ``compat.toml`` lists it."""

    adapter: str
    name: str
    installer: str
    package: str
    tested: str
    scenarios: tuple[str, ...]

    @property
    def install_command(self) -> str:
        """The command that installs exactly the tested release."""
        if self.installer == "pip":
            return f"python3 -m pip install {self.package}=={self.tested}"
        return f"npm install -g {self.package}@{self.tested}"


class Placement(Enum):
    """Where an installed version stands against the tested one."""

    TESTED = "tested"
    NEWER = "newer than tested"
    OLDER = "older than tested"


def load_compat(path: Path = COMPAT_FILE) -> dict[str, TestedRelease]:
    """Every tested release by adapter name, in the file's order."""
    import tomllib  # only for doctor and the test installers, not every CLI call

    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {
        adapter: TestedRelease(
            adapter=adapter,
            name=str(table["name"]),
            installer=str(table["installer"]),
            package=str(table["package"]),
            tested=str(table["tested"]),
            scenarios=tuple(str(s) for s in table.get("scenarios", ())),
        )
        for adapter, table in data.items()
    }


def parse_version(text: str) -> Version | None:
    """The version in a ``--version`` answer, as numbers; None when it has none."""
    found = _VERSION.search(text)
    if found is None:
        return None
    return tuple(int(part) for part in found.group(1).split("."))


def place(installed: Version, tested: Version) -> Placement:
    """``installed`` against ``tested``, padding the shorter with zeros (``1.2`` is ``1.2.0``)."""
    width = max(len(installed), len(tested))
    left = installed + (0,) * (width - len(installed))
    right = tested + (0,) * (width - len(tested))
    if left == right:
        return Placement.TESTED
    return Placement.NEWER if left > right else Placement.OLDER
