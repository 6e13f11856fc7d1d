"""Putting this harnex on a host: probe what it has, and install this very build when it has
no harnex or another one.

The host needs python3 >= 3.11 and tmux >= 3.2, and no package index: a bundle of wheels
(this checkout's and its dependencies', built here and cached under ``.cache/hosts``) goes
over the ssh connection's stdin and is installed into a new venv under the remote user's
XDG data dir. Only once that venv works does ``<data>/harnex/venv`` (a symlink) point at
it, so a failed install leaves the host as it was. Older venvs stay: sessions started from
them may still be running.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The number `harnex --version` prints (the package's own, set before it imports anything;
# importlib.metadata would cost every remote command ~50 ms of imports).
from harnex_tmux import __version__
from harnex_tmux.errors import HostError
from harnex_tmux.hosts import ssh
from harnex_tmux.hosts.store import Host
from harnex_tmux.state import ANY_REPO_ENV, state_root, write_private
from harnex_tmux.tokens import sha256

PACKAGE = "harnex-tmux"
MIN_PYTHON = (3, 11)
MIN_TMUX = (3, 2)
DATA_DIR = '"${XDG_DATA_HOME:-$HOME/.local/share}/harnex"'
REMOTE_HARNEX = f"{DATA_DIR}/venv/bin/harnex"
# An installer failure the script itself diagnosed (its stderr's last line says what).
SCRIPT_REFUSED = 20

PROBE = f"""
data={DATA_DIR}
echo "python=$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)"
echo "tmux=$(tmux -V 2>/dev/null)"
echo "harnex=$("$data/venv/bin/harnex" --version 2>/dev/null)"
echo "build=$(cat "$data/venv/harnex-build" 2>/dev/null)"
echo "platform=$(uname -sm 2>/dev/null)"
if [ ! -d /run/systemd/system ]; then echo "linger=no-systemd"
elif [ -e "/var/lib/systemd/linger/$(id -un)" ]; then echo "linger=yes"
else echo "linger=no"; fi
echo "user=$(id -un)"
"""


@dataclass(frozen=True)
class HostFacts:
    """What a host has: versions as the host reports them, empty when missing."""

    python: str
    tmux: str
    harnex: str
    build: str
    platform: str
    # systemd-logind's linger for the remote user: "yes", "no", or "no-systemd" (then
    # nothing ends a user's processes at logout).
    linger: str = ""
    user: str = ""

    @property
    def harnex_version(self) -> str | None:
        match = re.search(r"(\d+\.\d+\S*)", self.harnex)
        return match.group(1) if match else None

    def problems(self) -> list[str]:
        """What keeps harnex from running there, each with what to do."""
        found = []
        python = _numbers(self.python)
        if python is None:
            found.append("no python3 (install python3 3.11 or newer there)")
        elif python < MIN_PYTHON:
            found.append(f"python3 {self.python} is older than 3.11 (install a newer one)")
        tmux = _numbers(self.tmux)
        if tmux is None:
            found.append("no tmux (install tmux 3.2 or newer there)")
        elif tmux < MIN_TMUX:
            found.append(f"{self.tmux} is older than 3.2 (install a newer tmux)")
        return found

    def warnings(self) -> list[str]:
        """What may go wrong later without stopping harnex now."""
        if self.linger == "no":
            return [
                f"linger is off for {self.user or 'the remote user'}: where logind ends a "
                "user's processes at logout (KillUserProcesses=yes), the sessions there end "
                f"with the last ssh connection (run: loginctl enable-linger {self.user or 'USER'})"
            ]
        return []

    def current(self) -> bool:
        """Whether the host runs this very build of harnex."""
        return self.harnex_version == __version__ and self.build == build_id()


def _numbers(text: str) -> tuple[int, int] | None:
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def probe(host: Host, timeout: float = 15.0) -> HostFacts:
    """Ask the host for its python, tmux and harnex (one ssh round trip)."""
    result = ssh.run(host.dest, PROBE, timeout=timeout)
    if result.transport_failed:
        raise HostError(f"host {host.name!r}: {ssh.failure_text(result, host.dest)}")
    values = dict(
        line.split("=", 1)
        for line in result.stdout.decode(errors="replace").splitlines()
        if "=" in line
    )
    return HostFacts(
        python=values.get("python", "").strip(),
        tmux=values.get("tmux", "").strip(),
        harnex=values.get("harnex", "").strip(),
        build=values.get("build", "").strip(),
        platform=values.get("platform", "").strip(),
        linger=values.get("linger", "").strip(),
        user=values.get("user", "").strip(),
    )


def install(host: Host, facts: HostFacts) -> None:
    """Install this build on ``host`` (nothing changes there when it fails)."""
    local = f"{os.uname().sysname} {os.uname().machine}"
    if facts.platform and facts.platform != local:
        # The bundle holds compiled wheels for this machine's platform only.
        raise HostError(
            f"host {host.name!r} is {facts.platform}, this machine {local}: "
            "install harnex there yourself (pip install harnex-tmux)"
        )
    bundle = _bundle()
    result = ssh.run(host.dest, _install_script(), stdin=bundle, timeout=600)
    if result.code != 0:
        if result.transport_failed:
            reason = ssh.failure_text(result, host.dest)
        else:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else f"the installer exited {result.code}"
        raise HostError(f"host {host.name!r}: installing harnex failed: {reason}")


def _install_script() -> str:
    build = build_id()
    return f"""set -eu
data={DATA_DIR}
refuse() {{ echo "$1" >&2; exit {SCRIPT_REFUSED}; }}
command -v python3 >/dev/null || refuse "no python3 on the host"
python3 -c 'import sys; sys.exit(sys.version_info < {MIN_PYTHON!r})' \\
  || refuse "python3 on the host is older than 3.11"
mkdir -p "$data/venvs"
wheels=$(mktemp -d "$data/venvs/.wheels.XXXXXX")
venv=$(mktemp -d "$data/venvs/{build}.XXXXXX")
done=no
cleanup() {{ rm -rf "$wheels"; [ "$done" = yes ] || rm -rf "$venv"; }}
trap cleanup EXIT
tar -x -C "$wheels" -f -
python3 -m venv "$venv" || refuse "python3 -m venv failed (install the python3-venv package)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-index \\
  --find-links "$wheels" {PACKAGE}=={__version__}
"$venv/bin/harnex" --version >/dev/null
echo {build} > "$venv/harnex-build"
ln -s "$venv" "$data/.venv.$$"
mv -T "$data/.venv.$$" "$data/venv"
done=yes
"""


@functools.cache
def build_id() -> str:
    """A fingerprint of this harnex's files: a checkout keeps its version number while its
    code changes, and a host must run the same code, not only the same number.

    Hashing every file costs each command that talks to a host tens of milliseconds, so the
    answer is kept in the state dir under a key made of the files' names, sizes and times
    (a stat each), and the files are read again only when one of those changed."""
    root = Path(__file__).resolve().parents[1]
    top = str(root)
    files: list[tuple[str, os.stat_result]] = []
    for folder, dirs, names in os.walk(top):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        # Plain string slicing: relpath on each file was most of this function's time.
        inside = folder[len(top) + 1 :]
        for name in names:
            info = os.stat(os.path.join(folder, name))
            if stat.S_ISREG(info.st_mode):
                files.append((os.path.join(inside, name) if inside else name, info))
    files.sort()
    quick = sha256(__version__.encode())
    for relative, info in files:
        quick.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    key = quick.hexdigest()
    cache = state_root() / "ssh" / "build-id.json"
    try:
        kept = json.loads(cache.read_text())
    except (OSError, ValueError):
        kept = None
    if isinstance(kept, dict) and kept.get("key") == key and isinstance(kept.get("build"), str):
        return str(kept["build"])
    digest = sha256(__version__.encode())
    for relative, _ in files:
        digest.update(relative.encode())
        digest.update((root / relative).read_bytes())
    build = str(digest.hexdigest())[:16]
    try:
        cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(cache, json.dumps({"key": key, "build": build}))
    except OSError:
        pass  # a read-only state dir: hashed again next time
    return build


def checkout_root() -> Path:
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise HostError(
            "installing on a host needs harnex installed from its source checkout "
            "(pip install -e .): there is no checkout to build a wheel from"
        )
    return root


def cache_dir() -> Path:
    return checkout_root() / ".cache" / "hosts"


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise HostError(f"building the wheels to install failed: {lines[-1] if lines else ''}")


def _requirements() -> list[str]:
    import importlib.metadata

    wanted = []
    for line in importlib.metadata.requires(PACKAGE) or []:
        if "extra ==" not in line:
            wanted.append(line.split(";", 1)[0].strip())
    return sorted(wanted)


def _dependency_wheels() -> Path:
    """This harnex's dependencies as wheels, built or fetched once per set of requirements
    and interpreter."""
    reqs = _requirements()
    tag = f"{sys.implementation.cache_tag}-{os.uname().machine}"
    key = sha256("\n".join([tag, *reqs]).encode()).hexdigest()[:12]
    folder = cache_dir() / f"deps-{key}"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        _pip("wheel", "-q", "--wheel-dir", str(folder), *reqs)
        (folder / ".complete").write_text("\n".join(reqs) + "\n")
    return folder


def _harnex_wheel() -> Path:
    folder = cache_dir() / f"harnex-{build_id()}"
    found = sorted(folder.glob("*.whl"))
    if found:
        return found[0]
    with tempfile.TemporaryDirectory(dir=cache_dir()) as scratch:
        _pip("wheel", "-q", "--no-deps", "--wheel-dir", scratch, str(checkout_root()))
        built = sorted(Path(scratch).glob("*.whl"))
        if not built:
            raise HostError("building harnex's wheel gave no wheel")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / built[0].name
        os.replace(built[0], target)
    return target


def _bundle() -> bytes:
    """A tar of every wheel the host needs, for the installer's stdin."""
    import tarfile

    cache_dir().mkdir(parents=True, exist_ok=True)
    wheels = [_harnex_wheel(), *sorted(_dependency_wheels().glob("*.whl"))]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for wheel in wheels:
            tar.add(wheel, arcname=wheel.name)
    return buffer.getvalue()


# The first words of the line a host prints when its harnex is another build than ours.
MISMATCH_PREFIX = "harnex: warning: host "


def mismatch_line(host: str, version: str, build: str) -> str:
    """The line a host's harnex of another build gives (the op server's answer carries its
    build; the per-call path's shell prints the same words)."""
    ours = build_id()
    return (
        f"{MISMATCH_PREFIX}{host} runs harnex {version} (build {build}), this one is "
        f"{__version__} (build {ours}): harnex hosts upgrade {host}"
    )


def remote_command(*args: str, host: str | None = None) -> str:
    """The shell command that runs this harnex on a host with ``args`` (quoted).

    With ``host`` (its name here), the host first compares the build it has with ours and,
    when they differ, prints one line starting with MISMATCH_PREFIX on stderr: the build
    file is read by the shell, so the check costs no round trip and no Python start."""
    # An id alone names a session there, in any of the host's repositories (session/find.py);
    # not for `run`, whose tmux server and agents would keep it in their environment.
    find_any = "" if args[:1] == ("run",) else f"{ANY_REPO_ENV}=1 "
    run = f"{find_any}exec {REMOTE_HARNEX} " + " ".join(shlex.quote(arg) for arg in args)
    if host is None:
        return run
    ours = build_id()
    upgrade = shlex.quote(f"harnex hosts upgrade {host}")
    return f"""data={DATA_DIR}
b=$(cat "$data/venv/harnex-build" 2>/dev/null) || b=
if [ -n "$b" ] && [ "$b" != {ours} ]; then
  v=unknown
  for d in "$data"/venv/lib/python3*/site-packages/harnex_tmux-*.dist-info; do
    v=${{d##*/harnex_tmux-}}; v=${{v%.dist-info}}
  done
  echo "{MISMATCH_PREFIX}"{shlex.quote(host)}" runs harnex $v (build $b), this one is \
{__version__} (build {ours}): "{upgrade} >&2
fi
{run}"""
