"""The Anthropic adapter keeps server-tool blocks (web search) whole and sends them back; images
in tool results go out on both wire protocols."""

from __future__ import annotations

import base64

from sous.core import CancelToken, Image, ModelRequest, Text, ToolCall, ToolResultMessage, user
from sous.core.messages import AssistantMessage
from sous.models import anthropic, openai_chat
from sous.models.anthropic import AnthropicModel
from sous.testing.server import ScriptedServer

BLOCKS = [
    {"type": "server_tool_use", "id": "srvtoolu_9", "name": "web_search", "input": {"query": "sous agent"}},
    {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_9",
        "content": [
            {"type": "web_search_result", "title": "Sous", "url": "https://sous.example/", "encrypted_content": "abc"}
        ],
    },
]


async def test_server_tool_blocks_are_kept_and_round_trip():
    with ScriptedServer([{"server_blocks": BLOCKS, "text": "Sous is an agent."}]) as server:
        model = AnthropicModel("claude-haiku-4-5", environ={"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "k"})
        tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
        reply = await model.complete(
            ModelRequest(system="", messages=(user("search"),), tools=(tool,)), lambda e: None, CancelToken()
        )
    assert reply.text == "Sous is an agent."
    assert reply.provider_data["server_blocks"] == BLOCKS
    assert server.requests[0]["body"]["tools"][0]["type"] == "web_search_20250305"
    wire = anthropic.to_wire((user("search"), reply, user("thanks")))
    assert [b["type"] for b in wire[1]["content"]] == ["server_tool_use", "web_search_tool_result", "text"]
    assert wire[1]["content"][0] == BLOCKS[0]


def test_tool_result_images_go_out_on_both_protocols():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    call = AssistantMessage(content=(ToolCall(id="t1", name="Screenshot", arguments={"url": "a.html"}),))
    result = ToolResultMessage(
        tool_call_id="t1", tool_name="Screenshot", content=(Text(text="shot"), Image(media_type="image/png", data=png))
    )
    a = anthropic.to_wire((user("look"), call, result))
    (block,) = a[-1]["content"]
    assert block["type"] == "tool_result"
    assert block["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": png},
    }
    o = openai_chat.to_wire("", (user("look"), call, result))
    assert o[-2] == {"role": "tool", "tool_call_id": "t1", "content": "shot"}
    assert o[-1]["role"] == "user" and o[-1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{png}"},
    }
