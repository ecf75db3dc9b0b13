"""The Anthropic Messages API, streamed: conversion to the wire and parsing of its events."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from typing import Any

from sous.core import (
    AssistantMessage,
    AuthError,
    CancelToken,
    ConfigError,
    ConnectionFailed,
    Emit,
    Image,
    Message,
    ModelRequest,
    Overloaded,
    ProviderError,
    RateLimited,
    StopReason,
    Text,
    TextDelta,
    Thinking,
    ThinkingDelta,
    ToolCall,
    ToolResultMessage,
    Usage,
)
from sous.records import replace

from . import _http, _overflow, catalog

ANTHROPIC_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "stop_sequence": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "pause_turn": "end_turn",
    "refusal": "end_turn",
}
CACHE = {"type": "ephemeral"}
SERVER_BLOCKS = ("server_tool_use", "web_search_tool_result", "web_fetch_tool_result")
"""Blocks of tools the API runs itself: kept whole in `provider_data["server_blocks"]`."""
MAX_BREAKPOINTS = 4


def _block(block: Any) -> dict[str, Any] | None:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text} if block.text else None
    if isinstance(block, Image):
        return {"type": "image", "source": {"type": "base64", "media_type": block.media_type, "data": block.data}}
    if isinstance(block, Thinking):
        if block.redacted:
            return {"type": "redacted_thinking", "data": block.signature or ""}
        # Without its signature a thinking block is refused; it came from another provider.
        return (
            {"type": "thinking", "thinking": block.thinking, "signature": block.signature} if block.signature else None
        )
    if isinstance(block, ToolCall):
        # Arguments that were not JSON go back as {}: the tool result already told the model why.
        return {
            "type": "tool_use",
            "id": block.id,
            "name": block.name,
            "input": {} if block.raw_arguments is not None else block.arguments,
        }
    raise TypeError(f"cannot send {type(block).__name__} to Anthropic")


def to_wire(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Neutral messages → Anthropic messages: tool results become `tool_result` blocks of a user
    message, consecutive messages of one role are merged, and empty ones are left out."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, ToolResultMessage):
            content = [b for b in map(_block, message.content) if b] or [{"type": "text", "text": "(no output)"}]
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                    "content": content,
                    "is_error": message.is_error,
                }
            ]
            role = "user"
        else:
            blocks = [b for b in map(_block, message.content) if b]
            role = "assistant" if isinstance(message, AssistantMessage) else "user"
            if isinstance(message, AssistantMessage) and (server := message.provider_data.get("server_blocks")):
                blocks = [dict(b) for b in server] + blocks  # a server tool's use and result precede the answer
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def request_body(model_id: str, request: ModelRequest, thinking_budget: int = 0) -> dict[str, Any]:
    """The JSON body, with prompt-cache breakpoints on the system prompt, the tools and the last
    two messages (four at most, the API's limit)."""
    messages = to_wire(request.messages)
    max_tokens = min(request.max_tokens, catalog.info(model_id).max_output)
    body: dict[str, Any] = {"model": model_id, "max_tokens": max_tokens, "messages": messages, "stream": True}
    breakpoints = 0
    if request.system:
        body["system"] = [{"type": "text", "text": request.system, "cache_control": CACHE}]
        breakpoints += 1
    if request.tools:
        body["tools"] = [dict(t) for t in request.tools]
        body["tools"][-1]["cache_control"] = CACHE
        breakpoints += 1
    for message in reversed(messages[-2:]):
        cacheable = [b for b in message["content"] if b["type"] not in ("thinking", "redacted_thinking")]
        if cacheable and breakpoints < MAX_BREAKPOINTS:
            cacheable[-1]["cache_control"] = CACHE
            breakpoints += 1
    if thinking_budget > 0:
        # The API wants 1,024 ≤ budget < max_tokens, and max_tokens within the model's limit.
        body["max_tokens"] = min(max(max_tokens, thinking_budget + 4096), catalog.info(model_id).max_output)
        budget = min(max(thinking_budget, 1024), body["max_tokens"] - 1024)
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    return body


class _Stream:
    """Builds the assistant message from one attempt's events, emitting deltas as they come."""

    def __init__(self, model_id: str, emit: Emit):
        self.model_id = model_id
        self.emit = emit
        self.blocks: dict[int, dict[str, Any]] = {}
        self.usage: dict[str, int] = {}
        self.stop_reason: StopReason = "end_turn"
        self.message_id = ""
        self.done = False

    def feed(self, event: str, data: str) -> None:
        if event == "ping" or not data:
            return
        payload = _http.decode(data)
        kind = payload.get("type", event)
        if kind == "message_start":
            message = payload.get("message", {})
            self.message_id = message.get("id", "")
            self.usage.update(message.get("usage") or {})
        elif kind == "content_block_start":
            self.blocks[payload["index"]] = dict(payload["content_block"], partial_json="")
        elif kind == "content_block_delta":
            self._delta(self.blocks[payload["index"]], payload["delta"])
        elif kind == "message_delta":
            self.stop_reason = STOP_REASONS.get(payload.get("delta", {}).get("stop_reason") or "", "end_turn")
            self.usage.update({k: v for k, v in (payload.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise _stream_error(payload.get("error", {}))

    def _delta(self, block: dict[str, Any], delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
            self.emit(TextDelta(text=delta["text"]))
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
            self.emit(ThinkingDelta(text=delta["thinking"]))
        elif kind == "signature_delta":
            block["signature"] = block.get("signature", "") + delta["signature"]
        elif kind == "input_json_delta":
            block["partial_json"] += delta.get("partial_json", "")
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))

    def message(self) -> AssistantMessage:
        if not self.done:
            raise ConnectionFailed("the response stream ended before the message was complete")
        return self._build(self.stop_reason, with_tools=True)

    def partial(self) -> AssistantMessage:
        return self._build("aborted", with_tools=False)

    def _build(self, stop_reason: StopReason, *, with_tools: bool) -> AssistantMessage:
        content: list[Any] = []
        server_blocks: list[dict[str, Any]] = []
        for _, block in sorted(self.blocks.items()):
            kind = block.get("type")
            if kind in SERVER_BLOCKS:
                server_blocks.append(_server_block(block))
            if kind == "text" and block.get("text"):
                content.append(Text(text=block["text"]))
            elif kind == "thinking":
                content.append(Thinking(thinking=block.get("thinking", ""), signature=block.get("signature")))
            elif kind == "redacted_thinking":
                content.append(Thinking(thinking="", signature=block.get("data"), redacted=True))
            elif kind == "tool_use" and with_tools:
                content.append(_tool_call(block))
        u = self.usage
        usage = Usage(
            input_tokens=u.get("input_tokens", 0),
            output_tokens=u.get("output_tokens", 0),
            cache_read_tokens=u.get("cache_read_input_tokens") or 0,
            cache_write_tokens=u.get("cache_creation_input_tokens") or 0,
        )
        usage = replace(usage, cost_usd=catalog.cost(self.model_id, usage))
        provider_data: dict[str, Any] = {"id": self.message_id}
        if server_blocks:
            provider_data["server_blocks"] = server_blocks
        return AssistantMessage(
            content=tuple(content),
            model=self.model_id,
            usage=usage,
            stop_reason=stop_reason,
            provider_data=provider_data,
        )


def _server_block(block: dict[str, Any]) -> dict[str, Any]:
    """A server tool's block as the API sent it, its streamed input parsed."""
    out = {k: v for k, v in block.items() if k != "partial_json"}
    if block.get("partial_json", "").strip():
        try:
            out["input"] = json.loads(block["partial_json"])
        except ValueError:
            out["input"] = {"raw": block["partial_json"]}
    return out


def _tool_call(block: dict[str, Any]) -> ToolCall:
    text = block["partial_json"]
    if not text.strip():
        return ToolCall(id=block["id"], name=block["name"], arguments=dict(block.get("input") or {}))
    try:
        arguments = json.loads(text)
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        return ToolCall(id=block["id"], name=block["name"], arguments={}, raw_arguments=text)
    return ToolCall(id=block["id"], name=block["name"], arguments=arguments)


def _stream_error(error: dict[str, Any]) -> ProviderError:
    kind, text = error.get("type", ""), error.get("message", "stream error")
    if kind == "rate_limit_error":
        return RateLimited(f"rate limited: {text}", status=429)
    if kind in ("overloaded_error", "api_error"):
        return Overloaded(f"{kind}: {text}", status=529 if kind == "overloaded_error" else 500)
    if _overflow.is_overflow(text):
        return _overflow.overflow(text, 400)
    return ProviderError(f"{kind}: {text}")


NO_KEY = "no Anthropic key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)"


class AnthropicModel:
    """`Model` over the Messages API (`ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY` or
    `ANTHROPIC_AUTH_TOKEN`; `MAX_THINKING_TOKENS` > 0 turns extended thinking on)."""

    def __init__(self, model_id: str, *, environ: Mapping[str, str] = os.environ, key_helper: Any = None):
        self.model_id = model_id
        self.name = f"anthropic:{model_id}"
        self.key_helper = key_helper
        """`sous.models.key_helper.KeyHelper` (the `apiKeyHelper` setting): asked for the key at each request."""
        self.api_key = environ.get("ANTHROPIC_API_KEY") or ""
        self.auth_token = environ.get("ANTHROPIC_AUTH_TOKEN") or ""
        base_url = environ.get("ANTHROPIC_BASE_URL") or ANTHROPIC_URL
        key_hint = "ANTHROPIC_AUTH_TOKEN" if self.auth_token and not self.api_key else "ANTHROPIC_API_KEY"
        self.endpoint = _http.Endpoint(base_url, key_hint=key_hint, environ=environ, url_hint="ANTHROPIC_BASE_URL")
        if not self.api_key and not self.auth_token and not key_helper and self.endpoint.base_url == ANTHROPIC_URL:
            raise ConfigError(NO_KEY)  # found before the session starts, so sous says it could not start (exit 2)
        try:
            self.thinking_budget = int(environ.get("MAX_THINKING_TOKENS") or 0)
        except ValueError:
            raise ConfigError(
                f"MAX_THINKING_TOKENS must be a number of tokens, not {environ.get('MAX_THINKING_TOKENS')!r}"
            ) from None

    def headers(self, helper_key: str = "") -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION, "content-type": "application/json", "accept": "text/event-stream"}
        if helper_key:
            headers["x-api-key"] = helper_key
            headers["authorization"] = f"Bearer {helper_key}"
        elif self.api_key:
            headers["x-api-key"] = self.api_key
        elif self.auth_token:
            headers["authorization"] = f"Bearer {self.auth_token}"
        elif self.endpoint.base_url == ANTHROPIC_URL:
            raise AuthError(NO_KEY)
        return headers

    async def complete(self, request: ModelRequest, emit: Emit, cancel: CancelToken) -> AssistantMessage:
        body = request_body(self.model_id, request, self.thinking_budget)
        helper_key = await asyncio.to_thread(self.key_helper.get) if self.key_helper is not None else ""
        try:
            return await self.endpoint.stream(
                "/v1/messages",
                body=body,
                headers=self.headers(helper_key),
                parser=lambda: _Stream(self.model_id, emit),
                emit=emit,
                cancel=cancel,
            )
        except AuthError:
            if self.key_helper is not None:  # refused: the helper is asked again next time
                self.key_helper.forget()
            raise
