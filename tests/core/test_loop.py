from __future__ import annotations

import asyncio
import time

import pytest

from sous.core import (
    Agent,
    Allow,
    CancelToken,
    Conversation,
    Deny,
    MessageAdded,
    PassThrough,
    Rewrite,
    RunEnd,
    TextDelta,
    ToolContext,
    ToolEnd,
    ToolProgress,
    ToolResult,
    ToolResultMessage,
    ToolSet,
    ToolStart,
    UserMessage,
    user,
)
from sous.models.scripted import ScriptedModel
from sous.tools.schema import validate


class SleepTool:
    """A real tool for loop tests: sleeps, then echoes; read-only unless told otherwise."""

    name = "Sleep"
    description = "sleep then echo"
    input_schema = {
        "type": "object",
        "properties": {"s": {"type": "number"}, "say": {"type": "string"}},
        "required": ["s"],
        "additionalProperties": False,
    }

    concurrent = False

    def __init__(self, read_only: bool = True):
        self.read_only = read_only
        self.cancelled = 0

    async def run(self, args, ctx):
        ctx.progress("sleeping")
        try:
            await asyncio.sleep(args["s"])
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return ToolResult(content=args.get("say", "slept"))


class Crash:
    name = "Crash"
    description = "raises"
    input_schema = {"type": "object"}
    read_only = False
    concurrent = False

    async def run(self, args, ctx):
        raise RuntimeError("boom")


def make_agent(tmp_path, turns, tools=None, **kw):
    model = ScriptedModel(turns)
    events = []
    agent = Agent(
        model=model,
        tools=ToolSet(tools or [SleepTool()], validate=validate),
        ctx=ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path)),
        emit=events.append,
        **kw,
    )
    return agent, model, events


def call(name, **args):
    return {"name": name, "input": args}


async def test_multi_step_tool_use_and_final_answer(tmp_path):
    agent, model, events = make_agent(
        tmp_path,
        [
            {"text": "one", "tool_calls": [call("Sleep", s=0, say="a")]},
            {"text": "two", "tool_calls": [call("Sleep", s=0, say="b")]},
            {"text": "done", "usage": {"input_tokens": 5, "output_tokens": 2}},
        ],
    )
    convo = Conversation(system="sys")
    end = await agent.run(convo, user("go"))
    model.assert_complete()
    assert (end.reason, end.num_turns, end.last_message.text) == ("end_turn", 3, "done")
    assert end.usage.input_tokens == 5
    results = [m.text for m in convo.messages if isinstance(m, ToolResultMessage)]
    assert results == ["a", "b"]
    # the model saw the tool results of earlier turns
    assert [type(m).__name__ for m in model.requests[2].messages] == [
        "UserMessage",
        "AssistantMessage",
        "ToolResultMessage",
        "AssistantMessage",
        "ToolResultMessage",
    ]
    assert any(isinstance(e, TextDelta) for e in events)
    assert isinstance(events[-1], RunEnd)
    assert [e.text for e in events if isinstance(e, ToolProgress)] == ["sleeping", "sleeping"]


async def test_invalid_tool_json_and_unknown_tool_become_error_results(tmp_path):
    agent, model, _ = make_agent(
        tmp_path,
        [
            {"raw_tool_call": {"name": "Sleep", "arguments": '{"s": 1,'}},
            {"tool_calls": [call("Nope", x=1), call("Sleep", s="slow")]},
            {"text": "recovered"},
        ],
    )
    convo = Conversation(system="")
    end = await agent.run(convo, user("go"))
    assert end.reason == "end_turn"
    errors = [m for m in convo.messages if isinstance(m, ToolResultMessage)]
    assert all(m.is_error for m in errors)
    assert "not a JSON object" in errors[0].text
    assert "No such tool available: Nope" in errors[1].text
    assert "s: expected number, got string" in errors[2].text


async def test_tool_exception_is_reported_not_raised(tmp_path):
    agent, _, _ = make_agent(tmp_path, [{"tool_calls": [call("Crash")]}, {"text": "ok"}], tools=[Crash()])
    convo = Conversation(system="")
    end = await agent.run(convo, user("go"))
    assert end.reason == "end_turn"
    assert "RuntimeError: boom" in convo.messages[2].text


async def test_max_turns_stops_the_run(tmp_path):
    turns = [{"tool_calls": [call("Sleep", s=0)]}] * 5
    agent, _, _ = make_agent(tmp_path, turns, max_turns=2)
    end = await agent.run(Conversation(system=""), user("go"))
    assert (end.reason, end.num_turns) == ("max_turns", 2)


async def test_read_only_calls_run_concurrently(tmp_path):
    agent, _, events = make_agent(
        tmp_path, [{"tool_calls": [call("Sleep", s=0.3), call("Sleep", s=0.3), call("Sleep", s=0.3)]}, {"text": "ok"}]
    )
    started = time.monotonic()
    await agent.run(Conversation(system=""), user("go"))
    assert time.monotonic() - started < 0.8
    ends = [e for e in events if isinstance(e, ToolEnd)]
    assert len(ends) == 3


async def test_writing_calls_run_one_after_another(tmp_path):
    agent, _, _ = make_agent(
        tmp_path,
        [{"tool_calls": [call("Sleep", s=0.2), call("Sleep", s=0.2)]}, {"text": "ok"}],
        tools=[SleepTool(read_only=False)],
    )
    started = time.monotonic()
    await agent.run(Conversation(system=""), user("go"))
    assert time.monotonic() - started >= 0.4


async def test_interrupt_mid_tool_cancels_it_and_records_what_happened(tmp_path):
    tool = SleepTool()
    agent, model, _ = make_agent(
        tmp_path, [{"text": "working", "tool_calls": [call("Sleep", s=30)]}, {"text": "never"}], tools=[tool]
    )
    cancel = CancelToken()
    convo = Conversation(system="")

    async def press_esc():
        await asyncio.sleep(0.2)
        cancel.cancel()

    started = time.monotonic()
    end, _ = await asyncio.gather(agent.run(convo, user("go"), cancel), press_esc())
    assert end.reason == "aborted" and time.monotonic() - started < 2
    assert tool.cancelled == 1
    assert convo.messages[-2].text == "[Request interrupted by user for tool use]"
    assert convo.messages[-1].text == "[Request interrupted by user]"
    assert len(model.turns) == 1


async def test_interrupt_while_model_streams_keeps_partial_text(tmp_path):
    agent, _, _ = make_agent(tmp_path, [{"delay": 5, "text": "late"}])
    cancel = CancelToken()
    convo = Conversation(system="")
    asyncio.get_running_loop().call_later(0.1, cancel.cancel)
    end = await agent.run(convo, user("go"), cancel)
    assert end.reason == "aborted"
    assert convo.messages[-1].text == "[Request interrupted by user]"


async def test_provider_error_ends_run_with_error_message(tmp_path):
    agent, _, _ = make_agent(tmp_path, [{"error": {"status": 401, "message": "bad key"}}])
    convo = Conversation(system="")
    end = await agent.run(convo, user("go"))
    assert end.reason == "error"
    assert end.last_message.stop_reason == "error" and "bad key" in end.last_message.error


async def test_messages_typed_meanwhile_are_delivered_at_the_next_turn(tmp_path):
    agent, model, _ = make_agent(tmp_path, [{"tool_calls": [call("Sleep", s=0.1)]}, {"text": "seen"}])
    convo = Conversation(system="")
    asyncio.get_running_loop().call_later(0.05, lambda: convo.inbox.append(user("also do X")))
    await agent.run(convo, user("go"))
    last_request = model.requests[-1].messages
    assert isinstance(last_request[-1], UserMessage) and last_request[-1].text == "also do X"


async def test_middleware_can_deny_rewrite_and_continue(tmp_path):
    class Steer(PassThrough):
        def __init__(self):
            self.stops = 0

        async def before_tool(self, c, ctx):
            if c.arguments.get("say") == "forbidden":
                return Deny(reason="not allowed here")
            if c.arguments.get("say") == "rewrite me":
                return Rewrite(arguments={"s": 0, "say": "rewritten"})
            return Allow()

        async def after_turn(self, messages):
            self.stops += 1
            return [user("keep going")] if self.stops == 1 else []

    agent, _, _ = make_agent(
        tmp_path,
        [
            {"tool_calls": [call("Sleep", s=0, say="forbidden"), call("Sleep", s=0, say="rewrite me")]},
            {"text": "first stop"},
            {"text": "second stop"},
        ],
        middleware=Steer(),
    )
    convo = Conversation(system="")
    end = await agent.run(convo, user("go"))
    results = [m for m in convo.messages if isinstance(m, ToolResultMessage)]
    assert (results[0].is_error, results[0].text) == (True, "not allowed here")
    assert results[1].text == "rewritten"
    assert end.last_message.text == "second stop" and end.num_turns == 3


async def test_every_message_is_announced_once(tmp_path):
    agent, _, events = make_agent(tmp_path, [{"tool_calls": [call("Sleep", s=0)]}, {"text": "ok"}])
    convo = Conversation(system="")
    await agent.run(convo, user("go"))
    added = [e.message for e in events if isinstance(e, MessageAdded)]
    assert added == convo.messages
    assert [type(e).__name__ for e in events if isinstance(e, (ToolStart, ToolEnd))] == ["ToolStart", "ToolEnd"]


async def test_two_agents_run_side_by_side(tmp_path):
    a, _, _ = make_agent(tmp_path, [{"tool_calls": [call("Sleep", s=0.2, say="a")]}, {"text": "A"}])
    b, _, _ = make_agent(tmp_path, [{"tool_calls": [call("Sleep", s=0.2, say="b")]}, {"text": "B"}])
    ends = await asyncio.gather(a.run(Conversation(system=""), user("x")), b.run(Conversation(system=""), user("y")))
    assert [e.last_message.text for e in ends] == ["A", "B"]


@pytest.mark.parametrize("value,ok", [({"s": 1}, True), ({"s": 1, "zzz": 2}, False), ({}, False)])
def test_toolset_check_validates_arguments(value, ok):
    from sous.core import ToolCall

    tools = ToolSet([SleepTool()], validate=validate)
    assert (tools.check(ToolCall(id="1", name="Sleep", arguments=value)) is None) == ok
    # the validator is kept by every set derived from this one
    for derived in (tools.adding([Crash()]), tools.without(["Crash"]), tools.only(["Sleep"])):
        assert (derived.check(ToolCall(id="1", name="Sleep", arguments=value)) is None) == ok


def test_toolset_without_a_validator_checks_only_the_tool_and_the_json():
    from sous.core import ToolCall

    tools = ToolSet([SleepTool()])
    assert tools.check(ToolCall(id="1", name="Sleep", arguments={"zzz": 2})) is None
    assert "No such tool" in tools.check(ToolCall(id="1", name="Nope", arguments={}))
