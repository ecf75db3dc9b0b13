"""The seams of sous: what the loop needs from a model, a tool and a middleware.

Implementations never import a base class; anything with these attributes fits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .cancel import CancelToken
from .events import Event
from .messages import AssistantMessage, Message, ToolCall, ToolResultMessage, UserContent

Emit = Callable[[Event], None]
"""Receives every event of a run, in order. Must not block and must not raise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequest:
    system: str
    messages: tuple[Message, ...]
    tools: tuple[dict[str, Any], ...]
    """Tool schemas: `{"name", "description", "input_schema"}` each."""
    max_tokens: int = 16_000


class Model(Protocol):
    name: str
    """`provider:model`, as shown to the user and written to the transcript."""

    async def complete(self, request: ModelRequest, emit: Emit, cancel: CancelToken) -> AssistantMessage:
        """Stream one assistant turn, calling `emit` with `TextDelta`/`ThinkingDelta`/`Retry`
        events as they happen, and return the whole message.

        Retries retryable failures itself. Raises `ProviderError` once it gives up; the loop
        records that as an assistant message with `stop_reason="error"`. When `cancel` fires it
        returns what it has with `stop_reason="aborted"` (or raises `asyncio.CancelledError`).
        """


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult:
    """What a tool returns. Failures the model should read are results with `is_error=True`."""

    content: str | tuple[UserContent, ...]
    is_error: bool = False
    data: Any = None
    """Structured output for hooks and headless clients; not sent to the model."""


@dataclass(slots=True, kw_only=True)
class ToolContext:
    """The world a tool runs in. One per agent; mutable because a session's working directory
    and tool state (files read, background shells, todos) live on across calls."""

    cwd: str
    project_dir: str
    cancel: CancelToken = field(default_factory=CancelToken)
    progress: Callable[[str], None] = lambda text: None
    """Report partial output of the running call; the loop turns it into `ToolProgress`."""
    environ: Mapping[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    """Per-agent tool state, each tool under its own key (e.g. "read_files", "todos")."""
    depth: int = 0
    """0 for the main agent, +1 for each level of sub-agent."""
    spawn: Callable[..., Awaitable[Any]] | None = None


class Tool(Protocol):
    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool
    """True when the tool changes nothing; such calls run concurrently (so do those of `concurrent` tools)."""

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        """Run with arguments already validated against `input_schema`. Failures the model can
        act on are returned as error results; only bugs and cancellation raise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Allow:
    """Run the call as asked."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Deny:
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rewrite:
    """Run the call with these arguments instead (e.g. a hook's `updatedInput`)."""

    arguments: dict[str, Any]


ToolDecision = Allow | Deny | Rewrite


class Middleware(Protocol):
    """Steering around the loop: permissions, hooks, compaction, reminders.

    Every method must return promptly unless it is waiting on the user; none may raise for a
    decision (deny by returning `Deny`)."""

    async def before_model(self, messages: list[Message]) -> list[Message]:
        """Return the messages to send (the conversation itself is not changed)."""

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        """Allow, deny (the reason becomes the model's error result) or rewrite a validated call."""

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        """Return the result to append; may add context or replace it (e.g. a hook's feedback)."""

    async def after_turn(self, messages: list[Message]) -> list[Message]:
        """Called when the model stops without tool calls; returned messages make it go on."""
