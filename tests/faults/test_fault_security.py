"""What a session leaves for other local users to see: private files, no token in ``ps`` or
in any log, and an API that listens on loopback only unless ``--host`` says otherwise."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from conftest import Figures, Harnex, recorded, wait_for


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (IPv4, as dotted quads) with a listening TCP socket on ``port``."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            raw = bytes.fromhex(address)[::-1]
            found.add(".".join(str(b) for b in raw))
    return found


def test_files_private_token_hidden_loopback_only(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    rec = tmp_path / "rec.jsonl"
    info = harnex.start_demo("sec", record=rec)
    harnex.run("wait", "--id", "sec", "--until", "prompt", "--timeout", "30", check=True)
    harnex.json("send", "--id", "sec", "--message", "leave some traces")
    wait_for(lambda: recorded(rec) == ["leave some traces"], timeout=10)
    (record,) = harnex.registry()
    token = record["token"]
    assert len(token) >= 32

    folders = [p for p in harnex.state_dir.rglob("*") if p.is_dir()] + [harnex.state_dir]
    files = [p for p in harnex.state_dir.rglob("*") if p.is_file()]
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path

    ps = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
    assert token not in ps
    # Only the registry (0600) may hold the token: no log, transcript or event line does.
    holders = [p.name for p in files if token in p.read_text(errors="replace")]
    assert holders == [Path(p).name for p in harnex.state_dir.glob("sessions/*.json")]
    # The agent's own environment does not carry it either.
    environ = Path(f"/proc/{info['pid']}/environ").read_bytes()
    assert token.encode() not in environ

    assert _listening_addresses(record["port"]) == {"127.0.0.1"}
    figures.record("state folders checked (all 0700)", len(folders))
    figures.record("state files checked (none readable by others)", len(files))
    figures.record("files holding the token", len(holders))
    figures.record("token in ps output", 0)


def test_host_option_moves_the_api(harnex: Harnex) -> None:
    agent = [sys.executable, "-m", "harnex_tmux.demo_agent"]
    info = harnex.json(
        "run", "--id", "elsewhere", "--detach", "--host", "127.0.0.2", agent[0], "--", *agent[1:]
    )
    assert _listening_addresses(info["port"]) == {"127.0.0.2"}
    (row,) = harnex.json("status", "--json")
    assert row["state"] != "sidecar-down"
