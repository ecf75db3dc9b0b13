"""The one event stream out of the loop.

The loop calls `emit(event)` for everything a front end may show or record; the terminal UI,
headless output, the editor bridge and the transcript writer are all clients of these values.
Events are frozen: a client must never expect to change the run by mutating one.
"""

from __future__ import annotations

from typing import Any, Literal

from ..records import record
from .messages import AssistantMessage, Message, ToolCall, ToolResultMessage, Usage


@record
class TurnStart:
    """A model request is about to be sent; `turn` counts from 1 within the run."""

    turn: int


@record
class TextDelta:
    text: str


@record
class ThinkingDelta:
    text: str


@record
class Retry:
    """The provider failed in a retryable way; the request is sent again after `delay_s`."""

    attempt: int
    max_retries: int
    delay_s: float
    error: str
    status: int | None = None
    """The HTTP status of the failed attempt; None for a connection failure or a stalled stream."""


@record
class MessageAdded:
    """A message was appended to the conversation (user prompt, assistant reply, tool result)."""

    message: Message


@record
class ToolStart:
    call: ToolCall


@record
class ToolProgress:
    """Partial output of a running tool (e.g. Bash lines as they come)."""

    call_id: str
    text: str


@record
class ToolEnd:
    call: ToolCall
    result: ToolResultMessage
    duration_ms: int


@record
class PermissionDecided:
    """A permission check ended: "allow" or "deny", what decided, and for which sub-agent, if any."""

    call: ToolCall
    decision: str
    source: str
    reason: str = ""
    agent: str = ""


@record
class Notice:
    """A line for the person (warnings, hints); never sent to the model."""

    level: str
    text: str


@record
class PermissionRequest:
    """Someone must approve `call`: a front end shows the question and answers with
    `Session.answer(request_id, ...)`. `detail` is the permission layer's decision (its reason,
    source, the agent asking and how to confirm)."""

    request_id: str
    call: ToolCall
    detail: Any


@record
class ModeChanged:
    """The permission mode changed (Shift+Tab, an approved plan, `Session.set_mode`)."""

    old: str
    new: str


RunEndReason = Literal["end_turn", "max_turns", "error", "aborted", "blocked"]


@record
class RunEnd:
    """The run is over. `reason`: "end_turn" (the model stopped), "max_turns" (the turn limit),
    "error" (the provider failed for good), "aborted" (interrupted) or "blocked" (the session
    refused the prompt before the loop ran: a UserPromptSubmit hook or a command that cannot expand)."""

    reason: RunEndReason
    num_turns: int
    usage: Usage
    last_message: AssistantMessage | None
    duration_ms: int
    duration_api_ms: int


Event = (
    TurnStart
    | TextDelta
    | ThinkingDelta
    | Retry
    | MessageAdded
    | ToolStart
    | ToolProgress
    | ToolEnd
    | PermissionDecided
    | PermissionRequest
    | ModeChanged
    | Notice
    | RunEnd
)
