"""The core of sous: messages, events, protocols, the tool set and the loop. Standard library only."""

from .cancel import CancelToken
from .errors import (
    AuthError, ConfigError, ConnectionFailed, ContextOverflow, Overloaded,
    ProviderError, RateLimited, SousError, ToolError,
)
from .events import (
    Event, MessageAdded, ModeChanged, Notice, PermissionDecided, PermissionRequest, Retry, RunEnd,
    RunEndReason, TextDelta, ThinkingDelta, ToolEnd, ToolProgress, ToolStart, TurnStart,
)
from .loop import Agent, Conversation, new_id, new_uuid
from .messages import (
    AssistantMessage, Image, Message, StopReason, Text, Thinking, ToolCall, ToolResultMessage,
    Usage, UserMessage, user,
)
from .middleware import Chain, PassThrough
from .protocols import (
    Allow, Ask, Deny, Emit, Middleware, Model, ModelRequest, Rewrite, SpawnReport, Spawner, Tool, ToolContext,
    ToolDecision, ToolResult,
)
from .toolset import ToolSet

__all__ = [
    "Agent", "Allow", "Ask", "AssistantMessage", "AuthError", "CancelToken", "Chain", "ConfigError",
    "ConnectionFailed", "ContextOverflow", "Conversation", "Deny", "Emit", "Event", "Image",
    "Message", "MessageAdded", "Middleware", "ModeChanged", "Model", "ModelRequest", "Notice",
    "Overloaded", "PassThrough", "PermissionDecided", "PermissionRequest", "ProviderError", "RateLimited",
    "Retry", "Rewrite", "RunEnd", "RunEndReason", "SousError", "SpawnReport", "Spawner", "StopReason", "Text",
    "TextDelta", "Thinking",
    "ThinkingDelta", "Tool", "ToolCall", "ToolContext", "ToolDecision", "ToolEnd", "ToolError",
    "ToolProgress", "ToolResult", "ToolResultMessage", "ToolSet", "ToolStart", "TurnStart",
    "Usage", "UserMessage", "new_id", "new_uuid", "user",
]
