"""`sous.query` and `sous.Client`: the in-process API, with the scripted model and real tools."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

import sous
from sous.core import ConfigError, MessageAdded, RunEnd, TextDelta, ToolEnd
from sous.permissions import Answer


@pytest.fixture
def model(tmp_path):
    def write(turns):
        path = tmp_path / f"turns{len(list(tmp_path.glob('turns*.json')))}.json"
        path.write_text(json.dumps(turns))
        return f"scripted:{path}"

    return write


def _run(agen_factory):
    async def main():
        return [event async for event in agen_factory()]

    return asyncio.run(main())


def test_import_sous_loads_neither_the_api_nor_the_runtime():
    code = "import sys, sous; print(sorted(m for m in sys.modules if m.startswith('sous')))"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "['sous']"


def test_query_yields_typed_events_ending_with_the_run_end(model, tmp_path):
    events = _run(lambda: sous.query("hi", model=model([{"text": "hello from the api"}]), cwd=str(tmp_path)))
    assert isinstance(events[-1], RunEnd) and events[-1].reason == "end_turn"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "hello from the api"
    assert [e.message.text for e in events if isinstance(e, MessageAdded) and e.message.role == "assistant"] == [
        "hello from the api"
    ]
    assert not list(tmp_path.rglob("*.jsonl"))  # nothing written unless persist=True


def test_query_with_a_bad_option_raises_before_any_event(tmp_path):
    with pytest.raises(ConfigError):
        _run(
            lambda: sous.query("hi", model="scripted:/nonexistent.json", cwd=str(tmp_path), permission_mode="sideways")
        )


def test_client_keeps_one_session_and_runs_tools_through_can_use_tool(model, tmp_path):
    asked = []

    async def can_use_tool(call, detail):
        asked.append(call.arguments["command"])
        if "secret" in call.arguments["command"]:
            return Answer(allow=False, feedback="no secrets")
        return True

    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "echo 1 > one.txt"}, "id": "a"}]},
        {"text": "wrote one"},
        {"tool_calls": [{"name": "Bash", "input": {"command": "cat secret > two.txt"}, "id": "b"}]},
        {"text": "refused"},
    ]

    async def main():
        async with sous.Client(model=model(turns), cwd=str(tmp_path), can_use_tool=can_use_tool) as client:
            first = await client.ask("one")
            ends = [e async for e in client.send("two") if isinstance(e, ToolEnd)]
            return first, ends, len(client.session.messages)

    first, ends, count = asyncio.run(main())
    assert first == "wrote one" and (tmp_path / "one.txt").read_text() == "1\n"
    assert asked == ["echo 1 > one.txt", "cat secret > two.txt"]
    assert ends[0].result.is_error and "no secrets" in ends[0].result.text and not (tmp_path / "two.txt").exists()
    assert count == 8  # both prompts, calls, results and answers in one conversation


def test_client_set_model_and_a_failing_callback_denies(model, tmp_path):
    async def broken(call, detail):
        raise RuntimeError("boom")

    second = model(
        [
            {"tool_calls": [{"name": "Bash", "input": {"command": "echo x > x.txt"}, "id": "c"}]},
            {"text": "second model"},
        ]
    )

    async def main():
        async with sous.Client(
            model=model([{"text": "first model"}]), cwd=str(tmp_path), can_use_tool=broken
        ) as client:
            one = await client.ask("a")
            client.set_model(second)
            results = [e.result for e in [e async for e in client.send("b")] if isinstance(e, ToolEnd)]
            return one, results

    one, results = asyncio.run(main())
    assert one == "first model"
    assert results[0].is_error and "the permission callback failed: RuntimeError: boom" in results[0].text
    assert not (tmp_path / "x.txt").exists()


def test_closing_the_client_stops_a_run_whose_events_were_abandoned(model, tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "sleep 30"}, "id": "s"}]}, {"text": "late"}]

    async def main():
        async with sous.Client(model=model(turns), cwd=str(tmp_path), permission_mode="bypassPermissions") as client:
            async for event in client.send("wait"):
                if isinstance(event, MessageAdded):
                    break
            session = client.session
            assert session.running
        return session

    started = time.monotonic()
    session = asyncio.run(asyncio.wait_for(main(), 25))
    assert not session.running and session.interrupted and time.monotonic() - started < 15
