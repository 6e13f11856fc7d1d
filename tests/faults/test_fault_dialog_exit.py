"""A forced send into a dialog that makes the agent quit: the sender still gets an answer.

The agent ends while the sidecar is still typing the message (here: in the pause an adapter
may ask for between the text and the submit key). The sidecar used to shut its API down and
exit with the request in flight, so the sender saw a dropped connection instead of a status.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import Harnex, recorded, user_cli, wait_for

AGENT = Path(__file__).resolve().parent.parent / "dialog_agent.py"

# A CLI harnex does not know, described by a user adapter file: its dialog, and a long pause
# after typed text so that the agent has quit before the submit key would go in.
TRUSTCLI = """
name = "trustcli"
commands = ["trustcli"]
settle_s = 2.0

[prompt]
glyph = "trust>"
empty_box_is_idle = true

[[dialogs]]
state = "workspace-trust-prompt"
patterns = ['trust this folder']
"""


def test_a_forced_send_that_ends_the_agent_gets_an_honest_answer(
    harnex: Harnex, tmp_path: Path
) -> None:
    record = tmp_path / "rec.jsonl"
    env = user_cli(harnex, tmp_path, TRUSTCLI, f"{sys.executable} {AGENT} --record {record}")
    harnex.json("run", "--id", "trust", "--detach", "trustcli", env=env)
    harnex.run(
        "wait",
        "--id",
        "trust",
        "--until",
        "workspace-trust-prompt",
        "--timeout",
        "30",
        env=env,
        check=True,
    )
    sent = harnex.run("send", "--id", "trust", "--force", "--message", "hello", env=env)
    assert "closed the connection" not in sent.stderr, sent.stderr
    # The text reached the agent, which quit on it: the message may have arrived, so it is
    # never `failed`; nothing confirmed it either (exit code 3).
    wait_for(lambda: recorded(record) == ["hello"], timeout=10)
    answer = json.loads(sent.stdout)
    assert answer["status"] == "unconfirmed", answer
    assert "dialog was showing" in answer["error"], answer
    assert sent.returncode == 3, sent.stderr
    harnex.run("wait", "--id", "trust", "--until", "exit", "--timeout", "30", env=env, check=True)
