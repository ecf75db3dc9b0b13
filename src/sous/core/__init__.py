"""The core of sous: messages, events, protocols, the tool set and the loop. Standard library only."""

from .cancel import CancelToken
from .errors import (
    AuthError, ConfigError, ConnectionFailed, ContextOverflow, Overloaded,
    ProviderError, RateLimited, SousError, ToolError,
)
from .events import (
    Event, MessageAdded, Notice, PermissionDecided, Retry, RunEnd, TextDelta, ThinkingDelta,
    ToolEnd, ToolProgress, ToolStart, TurnStart,
)
from .loop import Agent, Conversation, new_id
from .messages import (
    AssistantMessage, Image, Message, StopReason, Text, Thinking, ToolCall, ToolResultMessage,
    Usage, UserMessage, user,
)
from .middleware import Chain, PassThrough
from .protocols import (
    Allow, Deny, Emit, Middleware, Model, ModelRequest, Rewrite, Tool, ToolContext, ToolDecision,
    ToolResult,
)
from .toolset import ToolSet

__all__ = [
    "Agent", "Allow", "AssistantMessage", "AuthError", "CancelToken", "Chain", "ConfigError",
    "ConnectionFailed", "ContextOverflow", "Conversation", "Deny", "Emit", "Event", "Image",
    "Message", "MessageAdded", "Middleware", "Model", "ModelRequest", "Notice",
    "Overloaded", "PassThrough", "PermissionDecided", "ProviderError", "RateLimited", "Retry",
    "Rewrite", "RunEnd", "SousError", "StopReason", "Text", "TextDelta", "Thinking",
    "ThinkingDelta", "Tool", "ToolCall", "ToolContext", "ToolDecision", "ToolEnd", "ToolError",
    "ToolProgress", "ToolResult", "ToolResultMessage", "ToolSet", "ToolStart", "TurnStart",
    "Usage", "UserMessage", "new_id", "user",
]
