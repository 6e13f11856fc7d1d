"""The fixtures of the tests that reach a second host over a real OpenSSH server
(``tests/sshd.py``): ``test_host`` (the server, once per run) and ``remote`` (this test's
harnex with the host added as NAME, which installs this checkout there). ``conftest.py``
imports them, so every test module gets the same server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests import sshd

if TYPE_CHECKING:
    from tests.conftest import Harnex

NAME = "box"
INSTALL_TIMEOUT = 900


@pytest.fixture(scope="session")
def test_host() -> Iterator[sshd.TestHost]:
    try:
        host = sshd.start()
    except sshd.SshdUnavailable as exc:
        pytest.skip(f"no test ssh server: {exc}")
    # A clean remote state dir: the second user exists only for these tests.
    host.ssh("tmux", "kill-server")
    host.ssh("rm", "-rf", ".local/state/harnex", "records")
    host.ssh("mkdir", "-p", "records")
    try:
        yield host
    finally:
        sshd.finish(host)


@dataclass
class Remote:
    harnex: Harnex
    host: sshd.TestHost

    @property
    def python(self) -> str:
        return f"{self.host.home}/.local/share/harnex/venv/bin/python"

    def record(self, name: str) -> Path:
        # One file per test: the remote home outlives each test.
        return self.host.home / "records" / f"{name}-{self.harnex.socket}.jsonl"

    def start_demo(self, ident: str, busy: float = 0.2) -> dict[str, Any]:
        result = self.harnex.run(
            "run",
            "--on",
            NAME,
            "--id",
            ident,
            "--detach",
            "--prompt-regex",
            r"^demo> ?$",
            self.python,
            "--",
            "-m",
            "harnex_tmux.demo_agent",
            "--busy",
            str(busy),
            "--record",
            str(self.record(ident)),
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data


@pytest.fixture
def remote(harnex: Harnex, test_host: sshd.TestHost) -> Iterator[Remote]:
    harnex.env["HARNEX_SSH_CONFIG"] = str(test_host.ssh_config)
    added = harnex.run("hosts", "add", NAME, sshd.ALIAS, "--json", timeout=INSTALL_TIMEOUT)
    assert added.returncode == 0, added.stderr
    r = Remote(harnex, test_host)
    try:
        yield r
    finally:
        for row in json.loads(harnex.run("status", "--host", NAME, "--json").stdout or "[]"):
            harnex.run("stop", "--id", f"{NAME}:{row['id']}")
        harnex.run("hosts", "remove", NAME)


@pytest.fixture
def remote_repo(remote: Remote) -> Iterator[Path]:
    """The remote user's home as a git repository (``run --on`` starts sessions there),
    ignoring what the home already holds (its one commit is the .gitignore); undone
    afterwards."""
    home = remote.host.home
    setup = (
        "printf '.*\\n!.gitignore\\n/records/\\n/wts/\\n' > .gitignore && "
        "git init -q -b main . && "
        "git add .gitignore && git -c user.name=t -c user.email=t@t commit -q -m base"
    )
    assert remote.host.ssh(setup).returncode == 0
    try:
        yield home
    finally:
        remote.host.ssh("rm -rf .git .gitignore wts")
