"""`sous acp` driven by the PyPI `agent-client-protocol` package as the editor."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

import sous

acp = pytest.importorskip("acp")
from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse  # noqa: E402 - after the skip check

SRC = Path(sous.__file__).resolve().parents[1]


class Editor:
    """The client: records updates and answers permission questions with `choice`."""

    def __init__(self, choice: str | None):
        self.choice = choice
        self.updates: list = []
        self.asked: list = []
        self.on_ask = None

    async def session_update(self, session_id, update, **kwargs):
        self.updates.append(update)

    async def request_permission(self, session_id, tool_call, options, **kwargs):
        self.asked.append((tool_call.title, [o.option_id for o in options]))
        if self.on_ask is not None:
            await self.on_ask()
        if self.choice is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=self.choice))

    def kinds(self) -> list[str]:
        return [u.session_update for u in self.updates]

    def text(self) -> str:
        return "".join(u.content.text for u in self.updates if u.session_update == "agent_message_chunk")


@pytest.fixture
def agent_cmd(tmp_path):
    def make(turns):
        path = tmp_path / f"turns{len(list(tmp_path.glob('turns*.json')))}.json"
        path.write_text(json.dumps(turns))
        return [sys.executable, "-m", "sous", "acp", "--model", f"scripted:{path}"]

    return make


def _env():
    return {**os.environ, "PYTHONPATH": str(SRC)}


def test_prompt_with_a_tool_call_a_permission_request_and_a_plan(agent_cmd, tmp_path):
    turns = [
        {
            "tool_calls": [
                {"name": "Write", "id": "w1", "input": {"file_path": str(tmp_path / "a.txt"), "content": "hello\n"}}
            ]
        },
        {
            "tool_calls": [
                {
                    "name": "TodoWrite",
                    "id": "t1",
                    "input": {
                        "todos": [
                            {"content": "write a.txt", "status": "completed", "activeForm": "writing"},
                            {"content": "test it", "status": "pending", "activeForm": "testing"},
                        ]
                    },
                }
            ]
        },
        {"text": "all written"},
    ]
    editor = Editor("once")

    async def main():
        from acp import spawn_agent_process, text_block

        async with spawn_agent_process(editor, *agent_cmd(turns), env=_env(), cwd=str(tmp_path)) as (conn, _):
            init = await conn.initialize(protocol_version=1)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            reply = await conn.prompt(session_id=new.session_id, prompt=[text_block("write a.txt")])
            return init, reply

    init, reply = asyncio.run(asyncio.wait_for(main(), 60))
    assert init.agent_capabilities.load_session and reply.stop_reason == "end_turn"
    assert (tmp_path / "a.txt").read_text() == "hello\n"
    assert editor.asked and editor.asked[0][0].startswith("Write") and "session" in editor.asked[0][1]
    kinds = editor.kinds()
    assert kinds.index("tool_call") < kinds.index("tool_call_update")
    diff = next(
        u
        for u in editor.updates
        if u.session_update == "tool_call_update"
        and u.status == "completed"
        and u.content
        and u.content[0].type == "diff"
    )
    assert diff.content[0].new_text == "hello\n"
    plan = next(u for u in editor.updates if u.session_update == "plan")
    assert [(e.content, e.status) for e in plan.entries] == [("write a.txt", "completed"), ("test it", "pending")]
    assert editor.text() == "all written"


def test_a_rejected_permission_leaves_the_file_alone_and_the_model_is_told(agent_cmd, tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "id": "b1", "input": {"command": "echo x > b.txt"}}]}, {"text": "ok"}]
    editor = Editor("reject")

    async def main():
        from acp import spawn_agent_process, text_block

        async with spawn_agent_process(editor, *agent_cmd(turns), env=_env(), cwd=str(tmp_path)) as (conn, _):
            await conn.initialize(protocol_version=1)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            return await conn.prompt(session_id=new.session_id, prompt=[text_block("go")])

    reply = asyncio.run(asyncio.wait_for(main(), 60))
    assert reply.stop_reason == "end_turn" and not (tmp_path / "b.txt").exists()
    failed = [u for u in editor.updates if u.session_update == "tool_call_update" and u.status == "failed"]
    assert failed


def test_cancel_while_a_tool_runs_stops_the_turn_and_load_resumes_the_session(agent_cmd, tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "id": "s1", "input": {"command": "sleep 30"}}]}, {"text": "late"}]
    editor = Editor("once")

    async def main():
        from acp import spawn_agent_process, text_block

        async with spawn_agent_process(editor, *agent_cmd(turns), env=_env(), cwd=str(tmp_path)) as (conn, _):
            await conn.initialize(protocol_version=1)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            running = asyncio.ensure_future(conn.prompt(session_id=new.session_id, prompt=[text_block("wait")]))
            while "in_progress" not in [getattr(u, "status", None) for u in editor.updates]:
                await asyncio.sleep(0.05)
            await conn.cancel(session_id=new.session_id)
            first = await running
        resumed = Editor("once")
        async with spawn_agent_process(
            resumed, *agent_cmd([{"text": "back again"}]), env=_env(), cwd=str(tmp_path)
        ) as (conn, _):
            await conn.initialize(protocol_version=1)
            await conn.load_session(cwd=str(tmp_path), session_id=new.session_id, mcp_servers=[])
            replayed = list(resumed.updates)
            second = await conn.prompt(session_id=new.session_id, prompt=[text_block("again")])
        return first, replayed, second, resumed

    first, replayed, second, resumed = asyncio.run(asyncio.wait_for(main(), 60))
    assert first.stop_reason == "cancelled"
    assert any(u.session_update == "user_message_chunk" and u.content.text == "wait" for u in replayed)
    assert second.stop_reason == "end_turn" and resumed.text().endswith("back again")


def test_permission_modes_are_advertised_and_switching_one_skips_the_question(agent_cmd, tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "id": "b1", "input": {"command": "echo x > c.txt"}}]}, {"text": "ok"}]
    editor = Editor(None)  # would cancel any question

    async def main():
        from acp import RequestError, spawn_agent_process, text_block

        async with spawn_agent_process(editor, *agent_cmd(turns), env=_env(), cwd=str(tmp_path)) as (conn, _):
            await conn.initialize(protocol_version=1)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            with pytest.raises(RequestError):
                await conn.set_session_mode(session_id=new.session_id, mode_id="yolo")
            await conn.set_session_mode(session_id=new.session_id, mode_id="bypassPermissions")
            reply = await conn.prompt(session_id=new.session_id, prompt=[text_block("go")])
            return new, reply

    new, reply = asyncio.run(asyncio.wait_for(main(), 60))
    assert new.modes.current_mode_id == "default"
    assert {m.id for m in new.modes.available_modes} >= {"default", "acceptEdits", "plan", "bypassPermissions"}
    assert reply.stop_reason == "end_turn" and editor.asked == [] and (tmp_path / "c.txt").read_text() == "x\n"
    assert any(
        u.session_update == "current_mode_update" and u.current_mode_id == "bypassPermissions" for u in editor.updates
    )


def test_a_safety_floor_question_offers_no_answer_that_would_be_remembered(agent_cmd, tmp_path):
    """The floor asks every time: the editor must not be offered "for this session" or "always
    (saved)", which sous would not keep, and the question says why it is asked."""
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    hook = tmp_path / ".git" / "hooks" / "pre-commit"
    turns = [
        {"tool_calls": [{"name": "Write", "id": "w1", "input": {"file_path": str(hook), "content": "#!/bin/sh\n"}}]},
        {"text": "done"},
    ]
    editor = Editor("once")

    async def main():
        from acp import spawn_agent_process, text_block

        async with spawn_agent_process(editor, *agent_cmd(turns), env=_env(), cwd=str(tmp_path)) as (conn, _):
            await conn.initialize(protocol_version=1)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            await conn.prompt(session_id=new.session_id, prompt=[text_block("write the hook")])

    asyncio.run(asyncio.wait_for(main(), 60))
    [(title, options)] = editor.asked
    assert options == ["once", "reject"], options
    assert ".git" in title and "every time" in title, title
    assert hook.read_text() == "#!/bin/sh\n"  # allowed once, as chosen


def test_a_plan_approval_offers_no_answer_that_would_be_remembered(agent_cmd, tmp_path):
    turns = [
        {"tool_calls": [{"name": "ExitPlanMode", "id": "p1", "input": {"plan": "1. write a.txt"}}]},
        {"text": "done"},
    ]
    editor = Editor("once")
    command = [*agent_cmd(turns), "--permission-mode", "plan"]

    async def main():
        from acp import spawn_agent_process, text_block

        async with spawn_agent_process(editor, *command, env=_env(), cwd=str(tmp_path)) as (conn, _):
            await conn.initialize(protocol_version=1)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            await conn.prompt(session_id=new.session_id, prompt=[text_block("plan it")])

    asyncio.run(asyncio.wait_for(main(), 60))
    [(title, options)] = editor.asked
    assert options == ["once", "reject"], options
    assert "plan" in title, title
