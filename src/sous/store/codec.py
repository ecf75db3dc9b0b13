"""Messages to and from the JSON objects written in session files."""

from __future__ import annotations

from typing import Any

from sous.core import AssistantMessage, Image, Message, Text, Thinking, ToolCall, ToolResultMessage, Usage, UserMessage


def block_to_dict(block: Any) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, Image):
        return {"type": "image", "media_type": block.media_type, "data": block.data}
    if isinstance(block, Thinking):
        out: dict[str, Any] = {"type": "thinking", "thinking": block.thinking}
        if block.signature is not None:
            out["signature"] = block.signature
        if block.redacted:
            out["redacted"] = True
        return out
    if isinstance(block, ToolCall):
        out = {"type": "tool_call", "id": block.id, "name": block.name, "arguments": block.arguments}
        if block.raw_arguments is not None:
            out["raw_arguments"] = block.raw_arguments
        return out
    raise TypeError(f"cannot encode content block {block!r}")


def block_from_dict(data: dict[str, Any]) -> Any:
    kind = data["type"]
    if kind == "text":
        return Text(text=data["text"])
    if kind == "image":
        return Image(media_type=data["media_type"], data=data["data"])
    if kind == "thinking":
        return Thinking(
            thinking=data["thinking"], signature=data.get("signature"), redacted=data.get("redacted", False)
        )
    if kind == "tool_call":
        return ToolCall(
            id=data["id"],
            name=data["name"],
            arguments=data.get("arguments", {}),
            raw_arguments=data.get("raw_arguments"),
        )
    raise ValueError(f"unknown content block type {kind!r}")


def usage_to_dict(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cost_usd": usage.cost_usd,
    }


def to_dict(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {
        "role": message.role,
        "id": message.id,
        "content": [block_to_dict(b) for b in message.content],
    }
    if isinstance(message, AssistantMessage):
        out.update(model=message.model, usage=usage_to_dict(message.usage), stop_reason=message.stop_reason)
        if message.error:
            out["error"] = message.error
        if message.provider_data:
            out["provider_data"] = message.provider_data
    elif isinstance(message, ToolResultMessage):
        out.update(tool_call_id=message.tool_call_id, tool_name=message.tool_name, is_error=message.is_error)
        if message.data is not None:
            out["data"] = message.data
    return out


def from_dict(data: dict[str, Any]) -> Message:
    content = tuple(block_from_dict(b) for b in data.get("content", []))
    role = data["role"]
    if role == "user":
        return UserMessage(content=content, id=data.get("id", ""))
    if role == "assistant":
        return AssistantMessage(
            content=content,
            id=data.get("id", ""),
            model=data.get("model", ""),
            usage=Usage(**data.get("usage", {})),
            stop_reason=data.get("stop_reason", "end_turn"),
            error=data.get("error"),
            provider_data=data.get("provider_data", {}),
        )
    if role == "tool":
        return ToolResultMessage(
            tool_call_id=data["tool_call_id"],
            tool_name=data.get("tool_name", ""),
            content=content,
            is_error=data.get("is_error", False),
            data=data.get("data"),
            id=data.get("id", ""),
        )
    raise ValueError(f"unknown message role {role!r}")
