"""The Session API as a front end uses it: questions answered through events, fork, clear, modes."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from sous.core import ConfigError, ModeChanged, PermissionRequest
from sous.models.scripted import ScriptedModel
from sous.permissions import Answer
from sous.runtime import Options, open_session


def write_turns(path: str = "a.txt") -> list[dict]:
    return [{"tool_calls": [{"name": "Write", "input": {"file_path": path, "content": "hi\n"}}]}, {"text": "done"}]


@pytest.fixture
def opts(tmp_path):
    (tmp_path / "project").mkdir()

    def make(turns: list[dict], **extra) -> Options:
        environ = {**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")}
        return Options(cwd=str(tmp_path / "project"), model=ScriptedModel(turns), environ=environ, **extra)

    return make


async def test_a_question_is_an_event_and_the_front_ends_answer_settles_it(opts, tmp_path):
    session = open_session(opts(write_turns(), answers_permissions=True))
    asked = []

    def front_end(event):
        if isinstance(event, PermissionRequest):
            asked.append(event.call.name)
            assert session.waiting_questions == [event.request_id]
            asyncio.get_running_loop().call_soon(session.answer, event.request_id, Answer(allow=True))

    session.subscribe(front_end)
    end = await session.send("write it")
    session.close()
    assert end.reason == "end_turn" and asked == ["Write"]
    assert (tmp_path / "project" / "a.txt").read_text() == "hi\n"
    assert session.answer("q1", Answer(allow=True)) is False  # settled already


async def test_without_anyone_to_answer_the_call_is_refused(opts, tmp_path):
    session = open_session(opts(write_turns()))
    events = []
    session.subscribe(events.append)
    await session.send("write it")
    session.close()
    assert not any(isinstance(e, PermissionRequest) for e in events)
    assert not (tmp_path / "project" / "a.txt").exists()
    assert session.denials[0]["tool_name"] == "Write"


async def test_fork_goes_on_in_a_new_transcript_and_clear_starts_empty(opts):
    session = open_session(opts([{"text": "one"}, {"text": "two"}]))
    await session.send("first")
    first_id, first_path = session.id, session.transcript_path
    assert first_path is not None
    before = first_path.read_text()
    new_id = session.fork()
    assert new_id == session.id != first_id and len(session.messages) == 2
    await session.send("second")
    assert first_path.read_text() == before  # the original is left as it was
    forked = [json.loads(line) for line in session.transcript_path.read_text().splitlines()]
    assert [r["message"]["role"] for r in forked if r.get("type") == "message"] == ["user", "assistant"] * 2
    await session.clear()
    assert session.messages == () and session.id not in (first_id, new_id)
    session.close()


async def test_modes_change_through_the_api_with_an_event_and_bad_ones_are_one_line(opts):
    session = open_session(opts([{"text": "x"}]))
    changes = []
    session.subscribe(lambda e: changes.append((e.old, e.new)) if isinstance(e, ModeChanged) else None)
    session.set_mode("plan")
    assert session.mode == "plan" and "ExitPlanMode" in session.tools.names
    session.set_mode("default")
    assert "ExitPlanMode" not in session.tools.names and changes == [("default", "plan"), ("plan", "default")]
    with pytest.raises(ConfigError, match="unknown permission mode"):
        session.set_mode("yolo")
    with pytest.raises(ConfigError):
        session.set_model("nosuchprovider:x")
    session.close()


def _seen_tools(session) -> set[str]:
    return set(session.tools.names)


async def test_rarely_used_builtins_wait_behind_one_tool_search_unless_it_is_switched_off(opts):
    session = open_session(opts([{"text": "hi"}]))
    deferred = set(session.deferred_tools)
    session.close()
    assert {"NotebookEdit"} <= deferred and not deferred & _seen_tools(session)
    assert [n for n in session.tools.names if n == "ToolSearch"] == ["ToolSearch"]
    search = session.tools.get("ToolSearch")
    assert set(search.deferred) == deferred and "NotebookEdit" in search.description

    direct = opts([{"text": "hi"}])
    direct.environ = {**direct.environ, "ENABLE_TOOL_SEARCH": "false"}
    session = open_session(direct)
    session.close()
    assert "NotebookEdit" in _seen_tools(session) and "ToolSearch" not in _seen_tools(session)
    assert session.deferred_tools == {}

    chosen = open_session(opts([{"text": "hi"}], tools=["Read", "Screenshot"]))
    chosen.close()
    assert "ToolSearch" not in _seen_tools(chosen) and "NotebookEdit" not in _seen_tools(chosen)


async def test_a_tool_that_cannot_work_is_not_offered_and_says_how_to_enable_it(opts, tmp_path):
    made = opts([{"text": "hi"}], tools=["Read", "Screenshot"])
    made.environ = {**made.environ, "SOUS_CHROMIUM": str(tmp_path / "no-such-browser")}
    session = open_session(made)
    session.close()
    assert "Screenshot" not in _seen_tools(session) and "Screenshot" not in session.deferred_tools
    assert "Screenshot" in session.unavailable_tools
    assert any(n.text == session.unavailable_tools["Screenshot"] for n in session.notices)


async def test_an_image_path_dragged_to_the_start_of_the_prompt_is_attached(opts, tmp_path):
    from sous.core import Image

    shot = tmp_path / "shot.png"
    shot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    session = open_session(opts([{"text": "a red square"}]))
    await session.send(f"{shot} what is this?", attachments=True)
    await session.send(f"{shot} sent plainly")
    session.close()
    first, second = [m for m in session.messages if m.role == "user"]
    assert any(isinstance(b, Image) for b in first.content)
    assert not any(isinstance(b, Image) for b in second.content)
