"""Messages to and from the JSON objects written in session files.

Reading is strict: a session file is data that a crash, an editor or a repository may have
shaped, so every field must have the type sous writes and every block must be one its message's
role may hold (a user message never carries a tool call). Anything else raises `ValueError`, and
the loader leaves that line out rather than send the provider a history it would refuse."""

from __future__ import annotations

from typing import Any, get_args

from sous.core import AssistantMessage, Image, Message, Text, Thinking, ToolCall, ToolResultMessage, Usage, UserMessage
from sous.core.messages import StopReason


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


ROLE_BLOCKS = {"user": ("text", "image"), "assistant": ("text", "thinking", "tool_call"), "tool": ("text", "image")}
"""The content blocks each role may hold, as sous writes them."""


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} is not text")
    return value


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    return None if data.get(key) is None else _text(data, key)


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key!r} is not true or false")
    return value


def block_from_dict(data: dict[str, Any], role: str = "assistant") -> Any:
    if not isinstance(data, dict):
        raise ValueError("a content block is not an object")
    kind = data.get("type")
    if kind not in ROLE_BLOCKS.get(role, ()):
        raise ValueError(f"a {role} message cannot hold a content block of type {kind!r}")
    if kind == "text":
        return Text(text=_text(data, "text"))
    if kind == "image":
        return Image(media_type=_text(data, "media_type"), data=_text(data, "data"))
    if kind == "thinking":
        return Thinking(
            thinking=_text(data, "thinking"),
            signature=_optional_text(data, "signature"),
            redacted=_flag(data, "redacted"),
        )
    arguments = data.get("arguments", {})
    if not isinstance(arguments, dict):
        raise ValueError("a tool call's arguments are not an object")
    return ToolCall(
        id=_text(data, "id"),
        name=_text(data, "name"),
        arguments=arguments,
        raw_arguments=_optional_text(data, "raw_arguments"),
    )


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


def _usage(data: Any) -> Usage:
    if not isinstance(data, dict):
        raise ValueError("'usage' is not an object")
    known = {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"}
    counts = {k: v for k, v in data.items() if k in known}
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in counts.values()):
        raise ValueError("a usage count is not a number")
    return Usage(**counts)


def from_dict(data: dict[str, Any]) -> Message:
    """The message written as `data`; raises `ValueError` when it is not one sous wrote (see the module docstring)."""
    if not isinstance(data, dict):
        raise ValueError("a message is not an object")
    role = data.get("role")
    if role not in ROLE_BLOCKS:
        raise ValueError(f"unknown message role {role!r}")
    blocks = data.get("content", [])
    if not isinstance(blocks, list):
        raise ValueError("a message's content is not a list")
    content = tuple(block_from_dict(b, role) for b in blocks)
    message_id = _text(data, "id", "")
    if role == "user":
        return UserMessage(content=content, id=message_id)
    if role == "assistant":
        provider_data = data.get("provider_data", {})
        if not isinstance(provider_data, dict):
            raise ValueError("'provider_data' is not an object")
        stop_reason = _text(data, "stop_reason", "end_turn")
        if stop_reason not in get_args(StopReason):
            raise ValueError(f"unknown stop reason {stop_reason!r}")
        return AssistantMessage(
            content=content,
            id=message_id,
            model=_text(data, "model", ""),
            usage=_usage(data.get("usage", {})),
            stop_reason=stop_reason,  # type: ignore[arg-type]  # checked against StopReason above
            error=_optional_text(data, "error"),
            provider_data=provider_data,
        )
    return ToolResultMessage(
        tool_call_id=_text(data, "tool_call_id"),
        tool_name=_text(data, "tool_name", ""),
        content=content,
        is_error=_flag(data, "is_error"),
        data=data.get("data"),
        id=message_id,
    )
