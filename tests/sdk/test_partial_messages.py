"""`include_partial_messages`: the Anthropic stream events, in order, through the real SDK."""

from __future__ import annotations

import asyncio
import json

from claude_agent_sdk import AssistantMessage, StreamEvent, query

TURNS = [
    {
        "thinking": "which folder?",
        "text": "I will look at the folder first, then answer you in a few words.",
        "tool_calls": [{"name": "Bash", "input": {"command": "echo 'hi there' | wc -c"}, "id": "t1"}],
    },
    {"text": "done"},
]


async def _collect(prompt: str, options) -> list:
    return [m async for m in query(prompt=prompt, options=options)]


def _events(messages) -> list[dict]:
    return [m.event for m in messages if isinstance(m, StreamEvent)]


def _shape(event: dict) -> str:
    if event["type"] == "content_block_start":
        return f"start:{event['content_block']['type']}"
    if event["type"] == "content_block_delta":
        return event["delta"]["type"]
    return event["type"]


def _collapse(shapes: list[str]) -> list[str]:
    out: list[str] = []
    for shape in shapes:
        if not out or out[-1] != shape:
            out.append(shape)
    return out


def test_each_reply_streams_the_api_event_sequence_in_order(options, script):
    opts = options(script(TURNS), include_partial_messages=True, permission_mode="bypassPermissions")
    messages = asyncio.run(_collect("go", opts))
    assert _collapse([_shape(e) for e in _events(messages)]) == [
        "message_start",
        "start:thinking",
        "thinking_delta",
        "content_block_stop",
        "start:text",
        "text_delta",
        "content_block_stop",
        "start:tool_use",
        "input_json_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "message_start",
        "start:text",
        "text_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_block_indexes_deltas_and_ids_fit_the_assistant_messages(options, script):
    opts = options(script(TURNS), include_partial_messages=True, permission_mode="bypassPermissions")
    messages = asyncio.run(_collect("go", opts))
    events = _events(messages)
    first = events[: [e["type"] for e in events].index("message_stop") + 1]
    by_index: dict[int, list[dict]] = {}
    for event in first:
        if "index" in event:
            by_index.setdefault(event["index"], []).append(event)
    assert sorted(by_index) == [0, 1, 2]
    assert all(
        evs[0]["type"] == "content_block_start" and evs[-1]["type"] == "content_block_stop" for evs in by_index.values()
    )
    text = "".join(e["delta"]["text"] for e in by_index[1] if e["type"] == "content_block_delta")
    assert text == TURNS[0]["text"]
    partial = "".join(e["delta"]["partial_json"] for e in by_index[2] if e["type"] == "content_block_delta")
    assert json.loads(partial) == TURNS[0]["tool_calls"][0]["input"]
    tool_start = by_index[2][0]["content_block"]
    assert tool_start["id"] == "t1" and tool_start["name"] == "Bash" and tool_start["input"] == {}
    assert first[-2]["delta"]["stop_reason"] == "tool_use"
    started = [e["message"]["id"] for e in events if e["type"] == "message_start"]
    replies = [m for m in messages if isinstance(m, AssistantMessage)]
    assert {m.message_id for m in replies} == set(started) and len(started) == 2


def test_stream_events_carry_the_session_and_no_parent(options, script):
    messages = asyncio.run(_collect("go", options(script([{"text": "hi"}]), include_partial_messages=True)))
    wrapped = [m for m in messages if isinstance(m, StreamEvent)]
    session = messages[-1].session_id
    assert wrapped and all(m.session_id == session and m.parent_tool_use_id is None and m.uuid for m in wrapped)
    assert len({m.uuid for m in wrapped}) == len(wrapped)


def test_without_the_option_no_stream_events(options, script):
    messages = asyncio.run(_collect("go", options(script([{"text": "hi"}]))))
    assert not _events(messages)


def test_a_failed_request_gets_no_message_events(options, script):
    opts = options(script([{"error": {"status": 400, "message": "bad request"}}]), include_partial_messages=True)
    messages = asyncio.run(_collect("go", opts))
    assert messages[-1].is_error and not _events(messages)


def test_a_blocks_assistant_message_comes_just_before_its_content_block_stop(options, script):
    opts = options(script(TURNS), include_partial_messages=True, permission_mode="bypassPermissions")
    messages = asyncio.run(_collect("go", opts))
    stream = [m for m in messages if isinstance(m, (StreamEvent, AssistantMessage))]
    for i, message in enumerate(stream):
        if isinstance(message, AssistantMessage) and message.content[0].__class__.__name__ != "ThinkingBlock":
            following = stream[i + 1]
            assert isinstance(following, StreamEvent) and following.event["type"] == "content_block_stop"
    tool_stop = [
        m.event
        for m in stream
        if isinstance(m, StreamEvent) and m.event["type"] == "content_block_stop" and m.event["index"] == 2
    ]
    assert len(tool_stop) == 1
