"""ScriptedModel: replays a list of turns. Used by the tests, the benchmarks and demos.

A script is a JSON list; each item is one assistant turn:

    {"text": "I'll create it.",                       # optional text (streamed in chunks)
     "thinking": "...",                                # optional thinking block
     "tool_calls": [{"name": "Write", "input": {...}, "id": "optional"}],
     "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_tokens": 0},
     "stop_reason": "max_tokens",                      # optional; default from tool_calls
     "delay": 0.2}                                     # seconds before answering

    {"raw_tool_call": {"name": "Bash", "arguments": "{not json"}}   # invalid tool JSON
    {"error": {"status": 429, "message": "slow down"}}               # the request fails

The same script drives `sous.testing.server.ScriptedServer`, which speaks the Anthropic and
OpenAI wire protocols, so one file tests both the loop and the adapters. Select it with
`--model scripted:PATH`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sous.core import (
    AssistantMessage,
    AuthError,
    CancelToken,
    ConnectionFailed,
    Emit,
    ModelRequest,
    Overloaded,
    ProviderError,
    RateLimited,
    Text,
    TextDelta,
    Thinking,
    ThinkingDelta,
    ToolCall,
    Usage,
)
from sous.records import fields

Turn = dict[str, Any]


def load_turns(source: str | Path | list[Turn]) -> list[Turn]:
    """Read a script from a JSON file (or take a list as is)."""
    if isinstance(source, list):
        return list(source)
    data = json.loads(Path(source).read_text("utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{source}: a scripted model file must hold a JSON list of turns")
    return data


def error_for(status: int, message: str) -> ProviderError:
    """The ProviderError a real adapter raises for this HTTP status."""
    if status in (401, 403):
        return AuthError(message, status=status)
    if status == 429:
        return RateLimited(message, status=status)
    if status >= 500:
        return Overloaded(message, status=status)
    if status == 0:
        return ConnectionFailed(message)
    return ProviderError(message, status=status)


def tool_calls_of(turn: Turn) -> list[ToolCall]:
    calls = []
    for i, spec in enumerate(turn.get("tool_calls", [])):
        calls.append(
            ToolCall(
                id=spec.get("id") or f"toolu_{i:02d}_{abs(hash(json.dumps(spec, sort_keys=True))) % 10**8:08d}",
                name=spec["name"],
                arguments=dict(spec.get("input", {})),
            )
        )
    if raw := turn.get("raw_tool_call"):
        calls.append(
            ToolCall(id=raw.get("id", "toolu_raw"), name=raw["name"], arguments={}, raw_arguments=raw["arguments"])
        )
    return calls


class ScriptedModel:
    """A `Model` that answers from a script and records every request it gets."""

    def __init__(self, turns: list[Turn], name: str = "scripted:test", *, record_requests: bool = True):
        self.turns = list(turns)
        self.name = name
        self.record_requests = record_requests
        self.requests: list[ModelRequest] = []
        """Every request, for tests to inspect; each holds the whole history, so a long session
        recording them grows quadratically: `--model scripted:FILE` does not record."""

    @classmethod
    def from_spec(cls, spec: str) -> ScriptedModel:
        return cls(load_turns(spec), name=f"scripted:{spec}", record_requests=False)

    def assert_complete(self) -> None:
        """Fail when turns are left over: the run ended sooner than the script expected."""
        if self.turns:
            raise AssertionError(f"{len(self.turns)} scripted turn(s) were never used: {self.turns[0]}")

    async def complete(self, request: ModelRequest, emit: Emit, cancel: CancelToken) -> AssistantMessage:
        if self.record_requests:
            self.requests.append(request)
        if not self.turns:
            raise ProviderError("the scripted model has no more turns")
        turn = self.turns.pop(0)
        if delay := turn.get("delay"):
            await asyncio.sleep(delay)
        if err := turn.get("error"):
            raise error_for(int(err.get("status", 500)), err.get("message", "scripted error"))
        content: list[Any] = []
        if thinking := turn.get("thinking"):
            emit(ThinkingDelta(text=thinking))
            content.append(Thinking(thinking=thinking, signature="scripted"))
        if text := turn.get("text"):
            for i in range(0, len(text), 40):
                emit(TextDelta(text=text[i : i + 40]))
            content.append(Text(text=text))
        calls = tool_calls_of(turn)
        content += calls
        usage = Usage(**{k: v for k, v in turn.get("usage", {}).items() if k in {f.name for f in fields(Usage)}})
        return AssistantMessage(
            content=tuple(content),
            model=self.name.partition(":")[2] or self.name,
            usage=usage,
            stop_reason=turn.get("stop_reason") or ("tool_use" if calls else "end_turn"),
        )
