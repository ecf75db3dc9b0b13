"""Both provider adapters against a local server speaking their real streaming wire protocols."""

from __future__ import annotations

import asyncio

import pytest

from sous.core import (
    AssistantMessage,
    AuthError,
    CancelToken,
    ConfigError,
    ContextOverflow,
    Image,
    ModelRequest,
    ProviderError,
    Retry,
    Text,
    TextDelta,
    Thinking,
    ThinkingDelta,
    ToolCall,
    ToolResultMessage,
    user,
)
from sous.models.anthropic import AnthropicModel
from sous.models.openai_chat import OpenAIChatModel
from sous.testing.server import ScriptedServer

TOOLS = (
    {
        "name": "Bash",
        "description": "Run a command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    },
    {"name": "Read", "description": "Read a file", "input_schema": {"type": "object"}},
)


@pytest.fixture(params=["anthropic", "openai"])
def protocol(request) -> str:
    return request.param


def make_model(protocol: str, server: ScriptedServer, **env: str):
    env = {"SOUS_RETRY_BASE_DELAY": "0.001", **env}  # backoff in milliseconds, not seconds
    if protocol == "anthropic":
        return AnthropicModel(
            "claude-sonnet-4-5", environ={"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-test", **env}
        )
    return OpenAIChatModel(
        "gpt-5.1", environ={"OPENAI_BASE_URL": server.openai_url, "OPENAI_API_KEY": "sk-test", **env}
    )


async def ask(model, *messages, tools=TOOLS, system="You are terse."):
    events: list = []
    request = ModelRequest(system=system, messages=tuple(messages) or (user("hi"),), tools=tools)
    reply = await model.complete(request, events.append, CancelToken())
    return reply, events


async def test_text_streams_as_deltas(protocol):
    with ScriptedServer([{"text": "Hello from the scripted server, streamed in pieces."}]) as server:
        reply, events = await ask(make_model(protocol, server))
    assert reply.text == "Hello from the scripted server, streamed in pieces."
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1 and "".join(deltas) == reply.text
    assert reply.stop_reason == "end_turn"


async def test_tool_call_arguments_are_reassembled(protocol):
    command = {"command": "pytest -q tests/ && echo 'all good'"}
    with ScriptedServer(
        [{"text": "Running.", "tool_calls": [{"name": "Bash", "input": command, "id": "call_1"}]}]
    ) as server:
        reply, _ = await ask(make_model(protocol, server))
    assert reply.stop_reason == "tool_use"
    assert reply.tool_calls == [ToolCall(id="call_1", name="Bash", arguments=command)]


async def test_invalid_tool_json_is_kept_raw(protocol):
    with ScriptedServer([{"raw_tool_call": {"name": "Bash", "arguments": '{"command": "ls"', "id": "c1"}}]) as server:
        reply, _ = await ask(make_model(protocol, server))
    (call,) = reply.tool_calls
    assert call.arguments == {} and call.raw_arguments == '{"command": "ls"'


async def test_usage_with_cache_tokens_and_cost(protocol):
    usage = {"input_tokens": 1000, "output_tokens": 200, "cache_read_tokens": 5000, "cache_write_tokens": 300}
    with ScriptedServer([{"text": "ok", "usage": usage}]) as server:
        reply, _ = await ask(make_model(protocol, server))
    assert reply.usage.input_tokens == 1000 and reply.usage.output_tokens == 200
    assert reply.usage.cache_read_tokens == 5000
    if protocol == "anthropic":  # Chat Completions has no cache-write count
        assert reply.usage.cache_write_tokens == 300
        assert reply.usage.cost_usd == pytest.approx((1000 * 3 + 200 * 15 + 5000 * 0.3 + 300 * 3.75) / 1e6)
    else:
        assert reply.usage.cost_usd == pytest.approx((1000 * 1.25 + 200 * 10 + 5000 * 0.125) / 1e6)


async def test_rate_limit_then_success_is_retried(protocol):
    turns = [{"error": {"status": 429, "message": "slow down", "retry_after": 0}}, {"text": "made it"}]
    with ScriptedServer(turns) as server:
        reply, events = await ask(make_model(protocol, server))
    assert reply.text == "made it"
    (retry,) = [e for e in events if isinstance(e, Retry)]
    assert retry.attempt == 1 and "slow down" in retry.error and retry.delay_s == 0


async def test_server_error_then_success_is_retried(protocol):
    with ScriptedServer([{"error": {"status": 529, "message": "overloaded"}}, {"text": "back"}]) as server:
        reply, events = await ask(make_model(protocol, server))
    assert reply.text == "back" and len([e for e in events if isinstance(e, Retry)]) == 1


async def test_stream_cut_mid_way_is_retried_from_the_start(protocol):
    turns = [{"cut": True, "text": "This answer will be cut off half way through."}, {"text": "Complete answer."}]
    with ScriptedServer(turns) as server:
        reply, events = await ask(make_model(protocol, server))
    assert reply.text == "Complete answer."
    assert [e for e in events if isinstance(e, Retry)][0].error.startswith("connection problem")
    assert len(server.requests) == 2


async def test_retries_give_up_with_a_provider_error(protocol):
    turns = [{"error": {"status": 500, "message": "boom"}}] * 3
    with ScriptedServer(turns) as server, pytest.raises(ProviderError, match="boom.*after 2 retries"):
        await ask(make_model(protocol, server, SOUS_MAX_RETRIES="2"))
    assert len(server.requests) == 3


async def test_auth_failure_is_one_line_and_not_retried(protocol):
    with (
        ScriptedServer([{"error": {"status": 401, "message": "invalid x-api-key"}}, {"text": "never"}]) as server,
        pytest.raises(AuthError) as caught,
    ):
        await ask(make_model(protocol, server))
    message = str(caught.value)
    assert "\n" not in message and "invalid x-api-key" in message
    assert ("ANTHROPIC_API_KEY" if protocol == "anthropic" else "OPENAI_API_KEY") in message
    assert len(server.requests) == 1


async def test_cancel_mid_stream_stops_the_request(protocol):
    with ScriptedServer([{"text": "x" * 600}], chunk_delay=0.02) as server:
        model = make_model(protocol, server)
        events: list = []
        task = asyncio.ensure_future(
            model.complete(ModelRequest(system="", messages=(user("hi"),), tools=()), events.append, CancelToken())
        )
        while not events:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert 0 < len(events) < 50


async def test_thinking_streams_and_its_signature_round_trips():
    with ScriptedServer(
        [{"thinking": "Let me think.", "signature": "sig-abc", "text": "Answer."}, {"text": "Again."}]
    ) as server:
        model = make_model("anthropic", server)
        reply, events = await ask(model)
        assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "Let me think."
        assert reply.content[0] == Thinking(thinking="Let me think.", signature="sig-abc")
        await ask(model, user("hi"), reply, user("more"))
    sent = server.requests[1]["body"]["messages"][1]["content"]
    assert sent[0] == {"type": "thinking", "thinking": "Let me think.", "signature": "sig-abc"}


async def test_anthropic_request_shape_cache_breakpoints_and_merged_tool_results():
    call = ToolCall(id="toolu_1", name="Read", arguments={"file_path": "a.png"})
    history = (
        user("look at a.png"),
        AssistantMessage(content=(Text(text="Reading."), call), stop_reason="tool_use"),
        ToolResultMessage(
            tool_call_id="toolu_1", tool_name="Read", content=(Image(media_type="image/png", data="AAAA"),)
        ),
        user("what is in it?"),
        AssistantMessage(content=(), stop_reason="aborted"),  # an interrupted empty turn is left out
    )
    with ScriptedServer([{"text": "A dot."}]) as server:
        await ask(make_model("anthropic", server), *history)
    request = server.requests[0]
    body = request["body"]
    assert request["headers"]["x-api-key"] == "sk-test" and request["headers"]["anthropic-version"] == "2023-06-01"
    assert body["stream"] is True and body["model"] == "claude-sonnet-4-5"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    last = body["messages"][-1]["content"]
    assert last[0]["type"] == "tool_result" and last[0]["tool_use_id"] == "toolu_1"
    assert last[0]["content"][0]["type"] == "image"
    assert last[1]["type"] == "text" and last[1]["text"] == "what is in it?"
    marked = [body["system"][-1], body["tools"][-1]] + [
        b for m in body["messages"] for b in m["content"] if "cache_control" in b
    ]
    assert all(b.get("cache_control") == {"type": "ephemeral"} for b in marked)
    assert len(marked) == 4 and "cache_control" not in body["tools"][0]


async def test_openai_request_shape_tools_and_images_after_tool_messages():
    call = ToolCall(id="call_1", name="Read", arguments={"file_path": "a.png"})
    history = (
        user("look"),
        AssistantMessage(content=(call,), stop_reason="tool_use"),
        ToolResultMessage(
            tool_call_id="call_1",
            tool_name="Read",
            content=(Text(text="the image:"), Image(media_type="image/png", data="AAAA")),
        ),
    )
    with ScriptedServer([{"text": "A dot."}]) as server:
        await ask(make_model("openai", server), *history)
    body = server.requests[0]["body"]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert body["messages"][2]["tool_calls"][0]["function"] == {"name": "Read", "arguments": '{"file_path": "a.png"}'}
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "the image:"}
    assert body["messages"][4]["content"][1]["image_url"]["url"] == "data:image/png;base64,AAAA"
    assert body["tools"][0]["function"]["name"] == "Bash" and body["stream_options"] == {"include_usage": True}
    assert "max_completion_tokens" in body and "max_tokens" not in body  # gpt-5 wants the new name anywhere


async def test_openai_compatible_server_gets_max_tokens_for_other_models():
    with ScriptedServer([{"text": "ok"}]) as server:
        await ask(OpenAIChatModel("llama3.1:8b", environ={"OPENAI_BASE_URL": server.openai_url}))
    body = server.requests[0]["body"]
    assert body["max_tokens"] == 16_000 and "max_completion_tokens" not in body


async def test_openai_compatible_server_needs_no_key():
    with ScriptedServer([{"text": "local"}]) as server:
        model = OpenAIChatModel("qwen2.5-coder", environ={"OPENAI_BASE_URL": server.openai_url})
        reply, _ = await ask(model)
    assert reply.text == "local" and "authorization" not in server.requests[0]["headers"]


def test_no_key_for_the_official_endpoints_is_a_one_line_config_error_before_any_request():
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        AnthropicModel("claude-sonnet-4-5", environ={})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIChatModel("gpt-5.1", environ={})


async def test_cancel_token_mid_stream_returns_the_partial_message_aborted(protocol):
    text = "A long answer that arrives slowly, chunk by chunk, until the user presses Esc. " * 4
    turn = {"text": text, "tool_calls": [{"name": "Bash", "input": {"command": "rm -rf build"}}]}
    with ScriptedServer([turn], chunk_delay=0.02) as server:
        model, cancel, events = make_model(protocol, server), CancelToken(), []
        task = asyncio.ensure_future(
            model.complete(ModelRequest(system="", messages=(user("hi"),), tools=TOOLS), events.append, cancel)
        )
        while len(events) < 3:
            await asyncio.sleep(0.01)
        cancel.cancel()
        reply = await asyncio.wait_for(task, 2)
    assert reply.stop_reason == "aborted" and reply.tool_calls == []
    assert reply.text and text.startswith(reply.text) and len(reply.text) < len(text)
    assert reply.text == "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_cancel_while_waiting_to_retry_returns_at_once(protocol):
    turns = [{"error": {"status": 429, "message": "slow down", "retry_after": 60}}, {"text": "too late"}]
    with ScriptedServer(turns) as server:
        model, cancel, events = make_model(protocol, server), CancelToken(), []
        task = asyncio.ensure_future(
            model.complete(ModelRequest(system="", messages=(user("hi"),), tools=()), events.append, cancel)
        )
        while not events:
            await asyncio.sleep(0.01)
        cancel.cancel()
        reply = await asyncio.wait_for(task, 2)
    assert isinstance(events[0], Retry) and events[0].delay_s == 60
    assert reply.stop_reason == "aborted" and reply.content == () and len(server.requests) == 1


async def test_retry_after_ms_header_sets_the_delay(protocol):
    turns = [{"error": {"status": 503, "message": "busy", "retry_after_ms": 5}}, {"text": "ok"}]
    with ScriptedServer(turns) as server:
        reply, events = await ask(make_model(protocol, server))
    assert reply.text == "ok" and [e.delay_s for e in events if isinstance(e, Retry)] == [0.005]


async def test_error_event_mid_stream_is_retried(protocol):
    turns = [
        {
            "text": "Partial answer that the server gives up on.",
            "stream_error": {"type": "overloaded_error", "message": "Overloaded"},
        },
        {"text": "Whole answer."},
    ]
    with ScriptedServer(turns) as server:
        reply, events = await ask(make_model(protocol, server))
    assert reply.text == "Whole answer."
    (retry,) = [e for e in events if isinstance(e, Retry)]
    assert "Overloaded" in retry.error


async def test_context_overflow_is_its_own_error_and_not_retried(protocol):
    message = "prompt is too long: 210000 tokens > 200000 maximum"
    with (
        ScriptedServer([{"error": {"status": 400, "message": message}}]) as server,
        pytest.raises(ContextOverflow, match="210000 tokens"),
    ):
        await ask(make_model(protocol, server))
    assert len(server.requests) == 1


async def test_other_client_errors_carry_the_server_message_in_one_line(protocol):
    with (
        ScriptedServer([{"error": {"status": 400, "message": "tools.0.name:\n  bad   name"}}]) as server,
        pytest.raises(ProviderError) as caught,
    ):
        await ask(make_model(protocol, server))
    assert str(caught.value) == "request rejected (400): tools.0.name: bad name"
    assert not caught.value.retryable and len(server.requests) == 1


async def test_a_script_that_runs_out_fails_at_once_with_a_clear_message(protocol):
    with ScriptedServer([]) as server, pytest.raises(ProviderError, match="no more turns"):
        await ask(make_model(protocol, server, SOUS_MAX_RETRIES="10", SOUS_RETRY_BASE_DELAY="5"))
    assert len(server.requests) == 1  # x-should-retry: false was believed


async def test_openai_reasoning_streams_as_thinking_without_signature():
    with ScriptedServer([{"thinking": "Consider the options.", "text": "B."}]) as server:
        reply, events = await ask(make_model("openai", server))
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "Consider the options."
    assert reply.content == (Thinking(thinking="Consider the options."), Text(text="B."))


async def test_anthropic_thinking_budget_auth_token_and_wire_forms_of_odd_blocks():
    history = (
        user("go"),
        AssistantMessage(
            content=(
                Thinking(thinking="", signature="opaque", redacted=True),
                Thinking(thinking="from another provider"),
                ToolCall(id="t1", name="Bash", arguments={}, raw_arguments="{oops"),
            ),
            stop_reason="tool_use",
        ),
        ToolResultMessage(tool_call_id="t1", tool_name="Bash", content=(Text(text="invalid JSON"),), is_error=True),
    )
    with ScriptedServer([{"text": "fixed"}]) as server:
        environ = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_AUTH_TOKEN": "tok", "MAX_THINKING_TOKENS": "8000"}
        model = AnthropicModel("claude-sonnet-4-5", environ=environ)
        await ask(model, *history)
    request = server.requests[0]
    assert request["headers"]["authorization"] == "Bearer tok" and "x-api-key" not in request["headers"]
    body = request["body"]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 8000} and body["max_tokens"] > 8000
    assert body["messages"][1]["content"] == [
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "tool_use", "id": "t1", "name": "Bash", "input": {}, "cache_control": {"type": "ephemeral"}},
    ]
    assert body["messages"][2]["content"][0]["is_error"] is True
