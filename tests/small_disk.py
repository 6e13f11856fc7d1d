"""A real, small file system for the full-disk tests: a tmpfs of a few hundred KiB.

Mounting needs root (or the right capability); where it is refused the tests that use it are
skipped, saying why, rather than faked with a disk that is never really full.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, size_kib: int) -> Iterator[Path]:
    """``folder`` as a tmpfs of ``size_kib`` KiB for the duration; unmounted afterwards."""
    import pytest

    folder.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        pytest.skip(
            f"SKIPPED LOUDLY: cannot mount a {size_kib} KiB tmpfs for the full-disk test "
            f"(needs root): {mount.stderr.strip()}"
        )
    try:
        yield folder
    finally:
        # Lazy: a sidecar that is still exiting may hold a file open for a moment.
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def fill(folder: Path, name: str = "filler") -> int:
    """Fill the file system under ``folder`` to the last byte; how many bytes it took."""
    written = 0
    with open(folder / name, "wb", buffering=0) as handle:
        chunk = b"x" * 4096
        while True:
            try:
                count = handle.write(chunk)
            except OSError:
                break
            written += count or 0
            if not count:
                break
    with open(folder / f"{name}.tail", "wb", buffering=0) as handle:
        for size in (1024, 256, 64, 16, 1):
            with contextlib.suppress(OSError):
                while handle.write(b"x" * size):
                    written += size
    return written
