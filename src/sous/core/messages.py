"""Provider-neutral conversation values.

A conversation is a list of `Message`s. Adapters in `sous.models` convert these to and from each
provider's wire format; nothing else in sous knows a provider's shapes. Every value is a frozen,
keyword-only record (`sous.records`), so a message can be shared between the loop, the UI and the transcript
without copying.
"""

from __future__ import annotations

from typing import Any, Literal

from ..records import field, record

StopReason = Literal["end_turn", "tool_use", "max_tokens", "error", "aborted"]
"""Why an assistant message ended: the model finished, it asked for tools, it hit its output
limit, the provider failed, or the user interrupted."""


@record
class Text:
    text: str
    type: Literal["text"] = "text"


@record
class Thinking:
    thinking: str
    signature: str | None = None
    """Opaque provider signature; must round-trip unchanged for the provider to accept it."""
    redacted: bool = False
    type: Literal["thinking"] = "thinking"


@record
class Image:
    media_type: str
    data: str
    """Base64-encoded bytes."""
    type: Literal["image"] = "image"


@record
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str | None = None
    """Set only when the model's argument text was not a JSON object; `arguments` is then empty
    and the loop answers the call with an error result instead of running it."""
    type: Literal["tool_call"] = "tool_call"


@record
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
        )


UserContent = Text | Image
AssistantContent = Text | Thinking | ToolCall


@record
class UserMessage:
    content: tuple[UserContent, ...]
    id: str = ""
    role: Literal["user"] = "user"

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, Text))


@record
class AssistantMessage:
    content: tuple[AssistantContent, ...]
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    stop_reason: StopReason = "end_turn"
    error: str | None = None
    """One-line description of the provider failure when `stop_reason == "error"`."""
    provider_data: dict[str, Any] = field(default_factory=dict)
    """Opaque per-provider values (e.g. the response id) kept for the transcript."""
    id: str = ""
    role: Literal["assistant"] = "assistant"

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, Text))

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [b for b in self.content if isinstance(b, ToolCall)]


@record
class ToolResultMessage:
    tool_call_id: str
    tool_name: str
    content: tuple[UserContent, ...]
    is_error: bool = False
    data: Any = None
    """Structured result for clients (hooks' `tool_response`, stream-json `tool_use_result`);
    never sent to the model."""
    ends_turn: bool = False
    """The run ends after this result, without another model request (see `ToolResult.ends_turn`)."""
    id: str = ""
    role: Literal["tool"] = "tool"

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, Text))


Message = UserMessage | AssistantMessage | ToolResultMessage


def user(text: str) -> UserMessage:
    """A user message holding one text block."""
    return UserMessage(content=(Text(text=text),))
