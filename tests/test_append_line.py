"""state.append_line: the one way the events log and the inbox journal grow."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from harnex_tmux.state import append_line


def test_a_record_after_a_torn_tail_starts_on_its_own_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"a": 1}\n{"b": ')  # a crash mid-line
    append_line(log, b'{"c": 3}\n')
    assert log.read_bytes().splitlines() == [b'{"a": 1}', b'{"b": ', b'{"c": 3}']


def test_a_new_log_is_private(tmp_path: Path) -> None:
    log = tmp_path / "new.jsonl"
    append_line(log, b"{}\n")
    assert log.read_bytes() == b"{}\n"
    assert log.stat().st_mode & 0o777 == 0o600


def test_a_write_the_disk_takes_only_part_of_is_cut_back(tmp_path: Path) -> None:
    """A file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes the kernel take only part
    of the write, as a disk that fills mid-record does: the file keeps its old bytes only."""
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"a": 1}\n')
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from harnex_tmux.state import append_line
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20, 20))
        try:
            append_line(Path({str(log)!r}), b'{{"b": "' + b"x" * 100 + b'"}}\\n', sync=True)
        except OSError as exc:
            print("raised", exc.errno)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("raised"), out
    assert log.read_bytes() == b'{"a": 1}\n'
