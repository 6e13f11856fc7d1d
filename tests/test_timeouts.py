"""``send --timeout`` and ``wait --timeout`` follow the MCP tools' rule: a finite number of
seconds from 0 to a day, one check for both; NaN or Infinity would wait forever."""

from __future__ import annotations

import math

import pytest
from conftest import Harnex

from harnex_tmux.errors import UsageError
from harnex_tmux.waits import MAX_TIMEOUT_S, TIMEOUT_RULE, check_timeout


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0, MAX_TIMEOUT_S + 1])
def test_the_shared_check_refuses(value: float) -> None:
    with pytest.raises(UsageError) as caught:
        check_timeout(value)
    assert str(caught.value) == f"timeout {value!r} is not allowed: {TIMEOUT_RULE}"


@pytest.mark.parametrize("value", [0.0, 0.5, 120.0, MAX_TIMEOUT_S])
def test_the_shared_check_passes(value: float) -> None:
    assert check_timeout(value) == value


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "Infinity", "-1", "86401", "soon"])
@pytest.mark.parametrize("command", ["send", "wait"])
def test_the_cli_refuses_before_looking_anything_up(
    harnex: Harnex, command: str, value: str
) -> None:
    extra = ["-m", "hi"] if command == "send" else []
    result = harnex.run(command, "--id", "nope", *extra, "--timeout", value)
    assert result.returncode == 2, result.stderr
    assert "Invalid value for '--timeout'" in result.stderr
    assert "no session" not in result.stderr
