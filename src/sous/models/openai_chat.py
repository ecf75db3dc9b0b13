"""OpenAI Chat Completions, streamed; also every server that speaks it (Ollama, vLLM, llama.cpp
server, LM Studio, OpenRouter) through `OPENAI_BASE_URL`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sous.core import (
    AssistantMessage, AuthError, CancelToken, ConnectionFailed, Emit, Image, Message, ModelRequest, ProviderError,
    Text, TextDelta, Thinking, ThinkingDelta, ToolCall, ToolResultMessage, Usage,
)

from . import _http, catalog

OPENAI_URL = "https://api.openai.com/v1"
FINISH_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "function_call": "tool_use", "length": "max_tokens",
                  "content_filter": "end_turn"}


def _image_part(image: Image) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": f"data:{image.media_type};base64,{image.data}"}}


def _user_content(blocks: tuple[Any, ...]) -> str | list[dict[str, Any]]:
    if all(isinstance(b, Text) for b in blocks):
        return "".join(b.text for b in blocks)
    return [{"type": "text", "text": b.text} if isinstance(b, Text) else _image_part(b) for b in blocks]


def to_wire(system: str, messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Neutral messages → chat messages. Tool results are `tool` messages, which carry text only:
    images they hold follow in a user message after the run of tool messages."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    pending_images: list[Image] = []

    def flush_images() -> None:
        if pending_images:
            out.append({"role": "user", "content": [{"type": "text", "text": "Images returned by the tools above:"},
                                                    *map(_image_part, pending_images)]})
            pending_images.clear()

    for message in messages:
        if isinstance(message, ToolResultMessage):
            pending_images += [b for b in message.content if isinstance(b, Image)]
            out.append({"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text or "(no output)"})
            continue
        flush_images()
        if isinstance(message, AssistantMessage):
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if calls := message.tool_calls:
                entry["tool_calls"] = [{"id": c.id, "type": "function", "function": {
                    "name": c.name, "arguments": c.raw_arguments if c.raw_arguments is not None else json.dumps(c.arguments)}}
                    for c in calls]
            if entry["content"] is not None or calls:
                out.append(entry)
        else:
            out.append({"role": "user", "content": _user_content(message.content)})
    flush_images()
    return out


class _Stream:
    def __init__(self, model_id: str, emit: Emit):
        self.model_id = model_id
        self.emit = emit
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish: str | None = None
        self.usage = Usage()
        self.response_id = ""

    def feed(self, chunk: dict[str, Any]) -> None:
        if error := chunk.get("error"):
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ProviderError(f"the server reported an error mid-stream: {message}")
        self.response_id = chunk.get("id") or self.response_id
        if usage := chunk.get("usage"):
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
            self.usage = Usage(input_tokens=(usage.get("prompt_tokens") or 0) - cached,
                               output_tokens=usage.get("completion_tokens") or 0, cache_read_tokens=cached)
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if text := delta.get("content"):
                self.text.append(text)
                self.emit(TextDelta(text=text))
            if thought := delta.get("reasoning_content") or delta.get("reasoning"):
                self.reasoning.append(thought)
                self.emit(ThinkingDelta(text=thought))
            for call in delta.get("tool_calls") or []:
                slot = self.calls.setdefault(call.get("index", len(self.calls)), {"id": "", "name": "", "arguments": ""})
                function = call.get("function") or {}
                slot["id"] = call.get("id") or slot["id"]
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]

    def message(self) -> AssistantMessage:
        if self.finish is None:
            raise ConnectionFailed("the response stream ended before the message was complete")
        content: list[Any] = []
        if self.reasoning:
            content.append(Thinking(thinking="".join(self.reasoning)))
        if self.text:
            content.append(Text(text="".join(self.text)))
        for index, slot in sorted(self.calls.items()):
            content.append(_tool_call(slot, index))
        stop = FINISH_REASONS.get(self.finish, "end_turn")
        if any(isinstance(b, ToolCall) for b in content):
            stop = "tool_use"  # some servers say "stop" even when they called tools
        usage = replace(self.usage, cost_usd=catalog.cost(self.model_id, self.usage))
        return AssistantMessage(content=tuple(content), model=self.model_id, usage=usage, stop_reason=stop,
                                provider_data={"id": self.response_id})


def _tool_call(slot: dict[str, str], index: int) -> ToolCall:
    call_id = slot["id"] or f"call_{index}"
    text = slot["arguments"]
    try:
        arguments = json.loads(text) if text.strip() else {}
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        return ToolCall(id=call_id, name=slot["name"], arguments={}, raw_arguments=text)
    return ToolCall(id=call_id, name=slot["name"], arguments=arguments)


class OpenAIChatModel:
    """`Model` over Chat Completions (`OPENAI_BASE_URL`, `OPENAI_API_KEY`; the key is optional
    for a local server)."""

    def __init__(self, model_id: str, *, environ: Mapping[str, str] = os.environ):
        self.model_id = model_id
        self.name = f"openai:{model_id}"
        self.base_url = (environ.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
        self.api_key = environ.get("OPENAI_API_KEY") or ""
        self.retries = _http.max_retries(environ)
        self._client = None

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        elif self.base_url == OPENAI_URL:
            raise AuthError("no OpenAI key: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
        return headers

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_id, "messages": to_wire(request.system, request.messages),
                                "stream": True, "stream_options": {"include_usage": True}}
        # api.openai.com wants max_completion_tokens (required by reasoning models); most
        # compatible servers only know the older max_tokens.
        body["max_completion_tokens" if self.base_url == OPENAI_URL else "max_tokens"] = \
            min(request.max_tokens, catalog.info(self.model_id).max_output)
        if request.tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t["name"], "description": t["description"], "parameters": t["input_schema"]}}
                for t in request.tools]
        return body

    async def complete(self, request: ModelRequest, emit: Emit, cancel: CancelToken) -> AssistantMessage:
        body = self.request_body(request)
        headers = self.headers()
        if self._client is None:
            self._client = _http.client(self.base_url)

        async def attempt() -> AssistantMessage:
            stream = _Stream(self.model_id, emit)
            async for _, data in _http.post_events(self._client, f"{self.base_url}/chat/completions", body=body,
                                                   headers=headers, key_hint="OPENAI_API_KEY"):
                if data and data.strip() != "[DONE]":
                    stream.feed(json.loads(data))
            return stream.message()

        return await _http.with_retries(attempt, emit=emit, retries=self.retries)
