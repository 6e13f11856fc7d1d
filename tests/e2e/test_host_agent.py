"""A real agent CLI on another host: the pinned Aider, run by the second Unix user of the
test ssh server (``tests/sshd.py``) through ``harnex run --on``, against the loopback
OpenAI-compatible mock (the remote user reaches loopback too).

The remote user cannot read the local install's interpreter (it lives under /root), so a
small ``aider`` script in its home runs Aider's code (the cached install's site-packages,
same Python minor version) with the host's own Python 3; named ``aider``, harnex there
picks the Aider adapter by its command as it would for a real install.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import sshd
from tests.remote_host import NAME, Remote

from .mock_openai import MockOpenAIChat
from .pip_agents import AIDER_MODEL, aider_offline_env, write_aider_model_files

pytestmark = pytest.mark.e2e

# Files Aider writes or reads in the folder it runs in (the remote user's home).
AIDER_FILES = (
    ".aider.model.metadata.json",
    ".aider.model.settings.yml",
    ".aider.chat.history.md",
    ".aider.input.history",
    ".aider.tags.cache.v4",
)


def _own(path: Path) -> None:
    shutil.chown(path, user=sshd.REMOTE_USER, group=sshd.REMOTE_USER)


@pytest.fixture
def remote_aider(
    remote: Remote, aider_binary: Path, mock_openai_chat: MockOpenAIChat
) -> Iterator[Path]:
    """The remote user's ``aider`` command, pointed at the mock; removed afterwards."""
    site = aider_binary.parent.parent / "lib" / f"python3.{sys.version_info.minor}"
    site = site / "site-packages"
    probe = remote.host.ssh(f"{remote.python} -c 'import sys; print(sys.version_info.minor)'")
    if probe.stdout.strip() != str(sys.version_info.minor) or not os.access(site, os.R_OK):
        pytest.skip("the host's Python cannot load the cached Aider install")
    home = remote.host.home
    write_aider_model_files(home)
    folder = home / "aider-bin"
    folder.mkdir(exist_ok=True)
    command = folder / "aider"
    # Aider's packages on sys.path of its own process only: the notification command it
    # runs (the host's harnex) must not import them.
    offline = aider_offline_env(mock_openai_chat.base_url)
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in offline.items())
    command.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        export {exports}
        exec {remote.python} -c 'import sys; sys.path.insert(0, "{site}"); \\
        from aider.main import main; sys.exit(main())' "$@"
        """)
    )
    command.chmod(0o755)
    for path in (folder, command, home / AIDER_FILES[0], home / AIDER_FILES[1]):
        _own(path)
    try:
        yield command
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home / ".aider", ignore_errors=True)  # its caches
        for name in AIDER_FILES:
            (home / name).unlink(missing_ok=True)


def test_aider_on_a_host_gets_each_message_once_and_replies(
    remote: Remote, remote_aider: Path, mock_openai_chat: MockOpenAIChat
) -> None:
    """``run --on`` starts Aider on the host; a send there reaches the model exactly once,
    ``send --reply`` brings its answer back over ssh, and ``stop`` ends it."""
    h, mock = remote.harnex, mock_openai_chat
    target = f"{NAME}:ai"
    started = h.run(
        "run", "--on", NAME, "--id", "ai", "--detach", str(remote_aider), "--",
        "--model", AIDER_MODEL, "--no-git",
        timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["adapter"] == "aider", started.stdout
    ready = h.run("wait", "--id", target, "--until", "prompt", "--timeout", "120")
    assert ready.returncode == 0, ready.stderr + h.run("pane", "--id", target).stdout
    sent = h.json(
        "send", "--id", target, "--message", "hello from another machine", "--reply", "--json",
        timeout=180,
    )  # fmt: skip
    assert sent["status"] == "delivered", sent
    assert sent["reply"] == "MOCK REPLY: hello from another machine", sent
    assert mock.wait_for_user_turns(1, timeout=30) == ["hello from another machine"]
    stopped = h.json("stop", "--id", target, "--timeout", "20", timeout=90)
    assert stopped["ok"] is True, stopped
    assert mock.user_turns == ["hello from another machine"], "typed once, never again"
