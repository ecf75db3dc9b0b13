"""The seams of sous: what the loop needs from a model, a tool and a middleware.

Implementations never import a base class; anything with these attributes fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from ..records import field, record
from .cancel import CancelToken
from .events import Event
from .messages import AssistantMessage, Message, ToolCall, ToolResultMessage, Usage, UserContent

Emit = Callable[[Event], None]
"""Receives every event of a run, in order. Must not block and must not raise."""


@record
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


@record
class ToolResult:
    """What a tool returns. Failures the model should read are results with `is_error=True`."""

    content: str | tuple[UserContent, ...]
    is_error: bool = False
    data: Any = None
    """Structured output for hooks and headless clients; not sent to the model."""
    ends_turn: bool = False
    """The call gave the run's answer: the loop ends the run once this batch of results is in."""


@record(frozen=False)
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
    spawn: Spawner | None = None
    """Runs sub-agents for the Agent and SendMessage tools; None where sub-agents are not offered."""


@record
class SpawnReport:
    """What a sub-agent run left behind, for the Agent tool's result."""

    status: Literal["completed", "async_launched", "max_turns", "error", "aborted"]
    agent_id: str
    text: str
    """Its final reply (with the worktree's branch when isolated); the only part the parent model reads."""
    tokens: int = 0
    tool_uses: int = 0
    duration_ms: int = 0
    agent_type: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    resumable: bool = False
    """SendMessage to `agent_id` continues this agent with its history."""


class Spawner(Protocol):
    """Runs sub-agents: a fresh conversation on the same loop, at `parent.depth + 1`."""

    async def spawn(
        self,
        kind: str,
        prompt: str,
        *,
        description: str,
        model: str | None,
        parent: ToolContext,
        isolation: str | None = None,
        background: bool = False,
    ) -> SpawnReport:
        """Run an agent of type `kind` on `prompt` to its end (or, with `background`, start it and
        return at once; its report arrives later as a user message). Raises `ToolError` for what the
        model can correct (too deep, no git repository for a worktree); never for the agent's failures,
        which are reported through `status`."""

    async def send(self, to: str, message: str, parent: ToolContext) -> str:
        """Queue `message` for a running agent, or resume a finished one with it and return its new
        reply. Raises `ToolError` when there is no such agent."""


class Tool(Protocol):
    """A tool the model may call. The attributes are read only: a class attribute, a frozen
    record field or a property all fit."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def input_schema(self) -> dict[str, Any]: ...

    @property
    def read_only(self) -> bool:
        """True when the tool changes nothing; consecutive read-only calls run concurrently."""

    @property
    def concurrent(self) -> bool:
        """True when calls may run beside read-only ones although the tool changes things (Agent)."""

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        """Run with arguments already validated against `input_schema`. Failures the model can
        act on are returned as error results; only bugs and cancellation raise."""


@record
class Allow:
    """Run the call as asked. `approve`: whoever returned it vouches for the call, so a question
    that only the permission mode would have asked is skipped (a PreToolUse hook's "allow")."""

    approve: bool = False


@record
class Deny:
    reason: str


@record
class Ask:
    """Someone must approve the call first. The chain collects every middleware's verdict and
    then hands the question to `Middleware.settle`, so the order of the middlewares does not matter."""

    reason: str
    source: str = ""
    """What asks: "hook", "rule:...", "mode:...", "safety", "sandbox", "plan"."""
    overridable: bool = False
    """Only the permission mode asks: an `approve` from another middleware answers it."""
    approved: bool = False
    """Set by the chain when another middleware approved the call."""
    detail: Any = None
    """The asking middleware's own record of why (the permission layer's `Decision`)."""
    arguments: dict[str, Any] | None = None
    """Arguments rewritten on the way (a hook's `updatedInput`): the call to approve and run."""


@record
class Rewrite:
    """Run the call with these arguments instead (e.g. a hook's `updatedInput`), checked again
    against the tool's schema. `then` carries the rewriter's own verdict on the new call."""

    arguments: dict[str, Any]
    then: Literal["", "approve", "ask"] = ""


ToolDecision = Allow | Deny | Rewrite | Ask


class Middleware(Protocol):
    """Steering around the loop: permissions, hooks, compaction, reminders.

    Every method must return promptly unless it is waiting on the user; none may raise for a
    decision (deny by returning `Deny`)."""

    async def before_model(self, messages: list[Message]) -> list[Message]:
        """Return the messages to send (the conversation itself is not changed)."""

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        """Allow, deny (the reason becomes the model's error result), rewrite a validated call, or
        say that someone must approve it (`Ask`)."""

    async def settle(self, call: ToolCall, ask: Ask, ctx: ToolContext) -> ToolDecision | None:
        """Answer an `Ask` (by asking a person, a hook, a prompt tool) with Allow, Deny or Rewrite;
        None when this middleware does not settle questions. May wait on a person."""

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        """Return the result to append; may add context or replace it (e.g. a hook's feedback)."""

    async def after_turn(self, messages: list[Message]) -> list[Message]:
        """Called when the model stops without tool calls; returned messages make it go on."""
