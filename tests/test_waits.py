"""The states one can wait for are named once (harnex_tmux.waits); the sidecar, ``harnex
wait`` and the MCP tool take them from there. These check that nothing drifted."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from harnex_tmux.adapters.base import State
from harnex_tmux.cli.wait import command as wait_command
from harnex_tmux.errors import UsageError
from harnex_tmux.sidecar import api
from harnex_tmux.waits import UNTIL, WAITABLE, check_until


def test_every_state_an_agent_reaches_can_be_waited_for() -> None:
    # "unknown" is where a session starts and never a goal.
    assert {s.value for s in State} - {State.UNKNOWN.value} <= WAITABLE
    assert api.WAITABLE is WAITABLE


def test_wait_help_names_every_state() -> None:
    shown = " ".join(CliRunner().invoke(wait_command, ["--help"]).output.split())
    for until in UNTIL:
        assert until in shown


def test_exited_is_the_same_wait_as_exit_and_others_are_refused() -> None:
    assert check_until("exited") == "exit"
    assert check_until("task_complete") == "task_complete"
    with pytest.raises(UsageError, match="--until must be one of"):
        check_until("sideways")
    with pytest.raises(UsageError):
        check_until(State.UNKNOWN.value)
