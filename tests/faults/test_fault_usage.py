"""Usage under bad input, with a live session: a transcript with garbage and a half-written
line, one that is replaced, one that is deleted, a model with no price, a broken price file.
Usage shows what it can, says what it could not, and nothing crashes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Figures, Harnex, wait_for

from harnex_tmux.session.client import SidecarClient


def _line(i: int, model: str = "claude-sonnet-4-5") -> str:
    usage = {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 2}
    message = {"id": f"m{i}", "model": model, "usage": usage}
    return json.dumps({"type": "assistant", "requestId": f"r{i}", "message": message}) + "\n"


def _usage(client: SidecarClient) -> dict[str, Any]:
    body = client.request("GET", "/usage").body
    assert body["ok"] is True
    usage: dict[str, Any] = body["usage"]
    return usage


def _until(client: SidecarClient, calls: int) -> dict[str, Any]:
    """The sidecar's usage once it counts ``calls`` calls."""
    found: dict[str, Any] = wait_for(lambda: (u := _usage(client))["calls"] == calls and u)
    return found


def test_usage_survives_bad_transcripts_and_price_files(
    harnex: Harnex, tmp_path: Path, figures: Figures
) -> None:
    harnex.start_demo("use")
    record = next(r for r in harnex.registry() if r["id"] == "use")
    client = SidecarClient(record["host"], record["port"], record["token"], timeout=10)
    transcript = tmp_path / "session.jsonl"
    garbage = ["{not json", "[1, 2]", "\x00\xff", '{"type": "assistant", "message": 7}', "null"]
    half = _line(100)
    transcript.write_text(
        "".join(_line(i) for i in range(100)) + "\n".join(garbage) + "\n" + half[:25]
    )
    hook = {"hook_event_name": "SessionStart", "transcript_path": str(transcript)}
    client.request("POST", "/hook/claude", hook)

    usage = _until(client, 100)
    assert usage["tokens"] == 100 * 17 and usage["cost_usd"] is not None
    skipped = [p for p in usage.get("problems", []) if "unreadable" in p]
    figures.record("transcript lines written (valid, garbage, half)", f"100, {len(garbage)}, 1")
    figures.record("calls counted before the half line ends", usage["calls"])
    figures.record("problems told", "; ".join(p.split(": ", 1)[1] for p in skipped))
    # Four are no JSON object; the fifth is one, of no use (an assistant line without a message).
    assert skipped and "4 unreadable" in skipped[0]

    with transcript.open("a") as handle:
        handle.write(half[25:] + _line(101, model="no-such-model"))
    usage = _until(client, 102)
    assert usage["cost_usd"] is None and usage["models"]["no-such-model"]["cost_usd"] is None
    figures.record("cost with a model missing from the price table", "unknown (null)")

    # Replaced (a new file at the same path): read again from its start.
    replaced = tmp_path / "new.jsonl"
    replaced.write_text("".join(_line(i) for i in range(5)))
    replaced.replace(transcript)
    usage = _until(client, 5)
    figures.record("calls after the file was replaced by a 5-call one", usage["calls"])

    transcript.unlink()
    usage = _usage(client)
    assert usage["calls"] == 5 and any("not found" in p for p in usage["problems"])
    status = harnex.json("status", "--id", "use", "--json")[0]
    assert status["usage"]["calls"] == 5
    figures.record("after the file was deleted", "last figures kept, 'not found' told")

    price_file = tmp_path / "prices.toml"
    price_file.write_text('[models."x"]\ninput = "free"\n')
    result = harnex.run("usage", "--id", "use", env=dict(harnex.env, HARNEX_PRICES=str(price_file)))
    notes = [line for line in result.stderr.splitlines() if str(price_file) in line]
    assert result.returncode == 0 and len(notes) == 1, result.stderr
    assert "using the shipped prices" in notes[0]
    figures.record("bad price file", "one line on stderr, shipped table used, exit 0")
