"""OpenAI Chat Completions, streamed; also every server that speaks it (Ollama, vLLM, llama.cpp
server, LM Studio, OpenRouter) through `OPENAI_BASE_URL`."""

from __future__ import annotations

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

OPENAI_URL = "https://api.openai.com/v1"
REASONING_FAMILIES = ("gpt-5", "o1", "o3", "o4")
FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "end_turn",
}


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
            out.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Images returned by the tools above:"},
                        *map(_image_part, pending_images),
                    ],
                }
            )
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
                entry["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {
                            "name": c.name,
                            "arguments": c.raw_arguments if c.raw_arguments is not None else json.dumps(c.arguments),
                        },
                    }
                    for c in calls
                ]
            if entry["content"] is not None or calls:
                out.append(entry)
        else:
            out.append({"role": "user", "content": _user_content(message.content)})
    flush_images()
    return out


class _Stream:
    """Builds the assistant message from one attempt's chunks, emitting deltas as they come."""

    def __init__(self, model_id: str, emit: Emit):
        self.model_id = model_id
        self.emit = emit
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish: str | None = None
        self.usage = Usage()
        self.response_id = ""

    def feed(self, event: str, data: str) -> None:
        if not data or data.strip() == "[DONE]":
            return
        chunk = _http.decode(data)
        if error := chunk.get("error"):
            raise _stream_error(error)
        self.response_id = chunk.get("id") or self.response_id
        if usage := chunk.get("usage"):
            # OpenAI counts cached tokens inside prompt_tokens; sous counts them apart.
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
            self.usage = Usage(
                input_tokens=(usage.get("prompt_tokens") or 0) - cached,
                output_tokens=usage.get("completion_tokens") or 0,
                cache_read_tokens=cached,
            )
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if text := delta.get("content"):
                self.text.append(text)
                self.emit(TextDelta(text=text))
            if thought := delta.get("reasoning_content") or delta.get("reasoning"):
                self.reasoning.append(thought)
                self.emit(ThinkingDelta(text=thought))
            for call in delta.get("tool_calls") or []:
                self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]

    def _tool_delta(self, call: dict[str, Any]) -> None:
        index = call.get("index")
        if index is None:  # some servers leave it out: a new id starts a call, the rest continue the last
            index = len(self.calls) if call.get("id") or not self.calls else max(self.calls)
        slot = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        function = call.get("function") or {}
        slot["id"] = call.get("id") or slot["id"]
        slot["name"] += function.get("name") or ""
        slot["arguments"] += function.get("arguments") or ""

    def message(self) -> AssistantMessage:
        if self.finish is None:
            raise ConnectionFailed("the response stream ended before the message was complete")
        calls = [_tool_call(slot, index) for index, slot in sorted(self.calls.items())]
        stop: StopReason = FINISH_REASONS.get(self.finish, "end_turn")
        if calls:
            stop = "tool_use"  # some servers say "stop" even when they called tools
        return self._build(stop, calls)

    def partial(self) -> AssistantMessage:
        return self._build("aborted", [])

    def _build(self, stop_reason: StopReason, calls: list[ToolCall]) -> AssistantMessage:
        content: list[Any] = []
        if self.reasoning:
            content.append(Thinking(thinking="".join(self.reasoning)))
        if self.text:
            content.append(Text(text="".join(self.text)))
        content += calls
        usage = replace(self.usage, cost_usd=catalog.cost(self.model_id, self.usage))
        return AssistantMessage(
            content=tuple(content),
            model=self.model_id,
            usage=usage,
            stop_reason=stop_reason,
            provider_data={"id": self.response_id},
        )


def _stream_error(error: Any) -> ProviderError:
    """An error the server put in the stream after answering 200."""
    if not isinstance(error, dict):
        return ProviderError(f"the server reported an error mid-stream: {error}")
    text = f"the server reported an error mid-stream: {error.get('message') or error}"
    kind = f"{error.get('type')} {error.get('code')}"
    if "rate_limit" in kind:
        return RateLimited(text, status=429)
    if "server_error" in kind or "overloaded" in kind:
        return Overloaded(text, status=500)
    if _overflow.is_overflow(f"{text} {kind}"):
        return _overflow.overflow(text, 400, n_ctx=error.get("n_ctx") if isinstance(error.get("n_ctx"), int) else None)
    return ProviderError(text)


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


NO_KEY = "no OpenAI key: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)"


class OpenAIChatModel:
    """`Model` over Chat Completions (`OPENAI_BASE_URL`, `OPENAI_API_KEY`; the key is optional
    for a local server)."""

    def __init__(self, model_id: str, *, environ: Mapping[str, str] = os.environ):
        self.model_id = model_id
        self.name = f"openai:{model_id}"
        self.api_key = environ.get("OPENAI_API_KEY") or ""
        self.endpoint = _http.Endpoint(
            environ.get("OPENAI_BASE_URL") or OPENAI_URL,
            key_hint="OPENAI_API_KEY",
            environ=environ,
            url_hint="OPENAI_BASE_URL",
        )
        if not self.api_key and self.endpoint.base_url == OPENAI_URL:
            raise ConfigError(NO_KEY)  # found before the session starts, so sous says it could not start (exit 2)

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        elif self.endpoint.base_url == OPENAI_URL:
            raise AuthError(NO_KEY)
        return headers

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": to_wire(request.system, request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        # OpenAI's reasoning models refuse max_tokens; most compatible servers know only max_tokens.
        family = self.model_id.rpartition("/")[2]
        modern = self.endpoint.base_url == OPENAI_URL or family.startswith(REASONING_FAMILIES)
        body["max_completion_tokens" if modern else "max_tokens"] = min(
            request.max_tokens, catalog.info(self.model_id).max_output
        )
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t["name"], "description": t["description"], "parameters": t["input_schema"]},
                }
                for t in request.tools
            ]
        return body

    async def probe_context_window(self) -> int | None:
        """The window the server says it serves this model with, or None. Asks `GET /models`
        (vLLM's `max_model_len`, `context_length` of OpenRouter and LM Studio, llama.cpp's
        `meta.n_ctx_train`) and llama.cpp's `GET /props` (`n_ctx`, the size it was started with,
        which wins). Never raises; gives up after a few seconds."""
        from ._wire import TransportError

        if self.endpoint.base_url == OPENAI_URL:  # OpenAI's models are in the catalog; its list has no sizes
            return None
        found: int | None = None
        root = self.endpoint.base_url.removesuffix("/v1")
        headers = {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        for url in (self.endpoint.base_url + "/models", root + "/props"):
            try:
                response = await self.endpoint.client().get(url, headers=headers, timeout=5.0)
                data = response.json() if response.status_code == 200 else None
            except (TransportError, ValueError, RuntimeError):
                continue
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                entries = [e for e in data["data"] if isinstance(e, dict)]
                entry = next(
                    (e for e in entries if e.get("id") == self.model_id), entries[0] if len(entries) == 1 else None
                )
                if entry is not None:
                    meta: dict[str, Any] = entry["meta"] if isinstance(entry.get("meta"), dict) else {}
                    size = (
                        entry.get("max_model_len")
                        or entry.get("context_length")
                        or meta.get("n_ctx")
                        or meta.get("n_ctx_train")
                    )
                    found = size if isinstance(size, int) and size > 0 else found
            elif isinstance(data, dict):
                settings = data.get("default_generation_settings")
                size = (settings or {}).get("n_ctx") if isinstance(settings, dict) else None
                size = size or data.get("n_ctx")
                if isinstance(size, int) and size > 0:
                    return size
        return found

    async def complete(self, request: ModelRequest, emit: Emit, cancel: CancelToken) -> AssistantMessage:
        return await self.endpoint.stream(
            "/chat/completions",
            body=self.request_body(request),
            headers=self.headers(),
            parser=lambda: _Stream(self.model_id, emit),
            emit=emit,
            cancel=cancel,
        )
