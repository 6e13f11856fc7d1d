"""Reading a hand-written TOML file (an adapter file, a watch preset) into a table.

Such files fail in the same three ways: they cannot be read, are not UTF-8, or are not TOML.
One reader gives the same words for each, so ``harnex adapters check`` and ``harnex watch``
tell a user the same thing about the same mistake; each caller says how to name the file in
its own error (:class:`~harnex_tmux.errors.AdapterFileError`,
:class:`~harnex_tmux.errors.PresetError`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def read_toml(path: Path, fail: Callable[[str], Exception]) -> dict[str, Any]:
    """The table in ``path``; when there is none to read, raises ``fail(problem)``, where
    ``problem`` says why in a few words without the file's name."""
    # Loaded here, not with the module: modules that only use adapter rules' types (every
    # sidecar's, through ScreenAdapter) need not load a TOML reader.
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise fail("not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}") from None
