"""A second "host" for the tests: a private OpenSSH server on a loopback port, logging in
as a second Unix user with its own home (its own tmux server, state dir and harnex venv).

Nothing of the system's ssh set-up is used or changed: the server runs from its own config
with its own host key, and the client side is a private ssh config file (``HARNEX_SSH_CONFIG``)
that names the test's key and a known_hosts file holding the test's host key, so host keys
are checked as always and ``~/.ssh`` is never read. Debian's ``openssh-server`` is installed
when missing (``apt-get``, as root); without root the tests are skipped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.procs import descendants

# HARNEX_TEST_REMOTE_USER: another remote user, so two checkouts on one machine can each run
# the host tests without sharing the remote tmux server, state dir and venv.
REMOTE_USER = os.environ.get("HARNEX_TEST_REMOTE_USER", "harnex-remote")
ALIAS = "remote1"
SSHD = Path("/usr/sbin/sshd")


class SshdUnavailable(Exception):
    """This machine cannot run the test server (not root, no package)."""


@dataclass
class TestHost:
    """The running server and what a client needs to reach it."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes]
    ssh_config: Path
    home: Path
    alias: str = ALIAS

    def ssh(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """A command run as the remote user through the test's own ssh config."""
        return subprocess.run(
            ["ssh", "-F", str(self.ssh_config), "-o", "BatchMode=yes", self.alias, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """End the server and every connection it serves, as a crash would: the listener we
        started and its sshd descendants (each connection's own processes), by pid. The
        commands they ran are left to notice the lost connection themselves."""
        for pid in [*sshd_descendants(self.process.pid), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        self.process.wait(10)


def sshd_descendants(root: int) -> list[int]:
    """The sshd processes below ``root`` (per connection, and their privilege-separated
    children)."""
    found = []
    for pid in descendants(root):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "sshd":
                found.append(pid)
    return found


def ensure_openssh_server() -> None:
    if SSHD.exists():
        return
    if os.geteuid() != 0:
        raise SshdUnavailable("sshd is not installed and we are not root to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "openssh-server"]
    if subprocess.run(install, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, check=True)
        subprocess.run(install, capture_output=True, env=env, check=True)


def ensure_user() -> Path:
    """The second user (created once, with a home and a password that cannot be used: ``*``
    and not ``!``, which sshd without PAM reads as a locked account)."""
    try:
        return Path(pwd.getpwnam(REMOTE_USER).pw_dir)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise SshdUnavailable(f"user {REMOTE_USER} does not exist and we are not root")
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", REMOTE_USER], check=True)
    subprocess.run(["usermod", "-p", "*", REMOTE_USER], check=True)
    return Path(pwd.getpwnam(REMOTE_USER).pw_dir)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "harnex-test", "-f", str(path)],
        check=True,
    )
    return path.with_suffix(".pub").read_text().strip()


def start(options: str = "", alias: str = ALIAS) -> TestHost:
    """A new server. ``options``: more sshd_config lines (a test of a server that refuses
    to forward: ``AllowStreamLocalForwarding no``); ``alias``: the name its client config
    gives it (a test that talks to two servers names them apart)."""
    ensure_openssh_server()
    home = ensure_user()
    # /run/sshd: the privilege separation folder the server insists on (the package's
    # service would create it).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="harnex-sshd-"))
    folder.chmod(0o755)  # the server reads authorized_keys as the remote user
    host_key = _keygen(folder / "host_key")
    client_key = _keygen(folder / "client_key")
    (folder / "authorized_keys").write_text(client_key + "\n")
    (folder / "authorized_keys").chmod(0o644)
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\n"
        # The key files live under /tmp, which is world-writable: the owner checks of
        # StrictModes would refuse them.
        "StrictModes no\n"
        f"AllowUsers {REMOTE_USER}\nPermitRootLogin no\nLogLevel ERROR\n{options}"
    )
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    ssh_config = folder / "ssh_config"
    ssh_config.write_text(
        f"Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  User {REMOTE_USER}\n"
        f"  IdentityFile {folder / 'client_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n  GlobalKnownHostsFile /dev/null\n"
    )
    log = open(folder / "sshd.log", "wb")  # noqa: SIM115 - the server's for its life
    process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    host = TestHost(folder, port, process, ssh_config, home, alias)
    deadline = time.monotonic() + 10
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            break
        if process.poll() is not None or time.monotonic() > deadline:
            host.stop()
            raise SshdUnavailable((folder / "sshd.log").read_text())
        time.sleep(0.05)
    return host


def restart(host: TestHost) -> None:
    """Start the server again on the same port and keys (after a fault test killed it)."""
    log = open(host.folder / "sshd.log", "ab")  # noqa: SIM115
    host.process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(host.folder / "sshd_config")],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", host.port), 0.5):
            return
        time.sleep(0.05)
    raise SshdUnavailable("sshd did not come back")


def finish(host: TestHost) -> None:
    """End the remote user's tmux server (by its socket, through ssh), and its harnex op
    server (which ends within seconds once its socket is gone), then the server."""
    with contextlib.suppress(Exception):
        host.ssh("tmux", "kill-server", timeout=10)
        host.ssh("rm", "-f", ".local/state/harnex/ops/ops.sock", timeout=10)
    host.stop()
    shutil.rmtree(host.folder, ignore_errors=True)
