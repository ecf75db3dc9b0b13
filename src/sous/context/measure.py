"""How big a request is: a message's characters, tokens estimated from them, and the budget a
request must fit (the window less room for the reply and a margin).

Automatic compaction measures every request with these; the compaction itself (`compact`) is
imported only when one happens.
"""

from __future__ import annotations

import json

from sous.core import Image, Message, Text, Thinking, ToolCall
from sous.records import record

CHARS_PER_TOKEN = 3.5
"""Used when no provider count is at hand: code and JSON run denser than prose's four."""
MESSAGE_OVERHEAD = 10


def estimate_tokens(text: str, chars_per_token: float = 4.0) -> int:
    """A provider-free estimate of `text`'s tokens."""
    return int(len(text) / chars_per_token) + 1


def message_chars(message: Message) -> int:
    """Characters of a message as a provider sees them (text, thinking, tool names and arguments)."""
    chars = 0
    for block in message.content:
        if isinstance(block, Text):
            chars += len(block.text)
        elif isinstance(block, Thinking):
            chars += len(block.thinking) + len(block.signature or "")
        elif isinstance(block, ToolCall):
            chars += len(block.name) + len(block.raw_arguments or json.dumps(block.arguments))
        elif isinstance(block, Image):
            chars += 6_000  # ~1,500 tokens, a typical screenshot's cost
    return chars


def message_tokens(message: Message, chars_per_token: float = 4.0) -> int:
    return int(message_chars(message) / chars_per_token) + MESSAGE_OVERHEAD


@record
class Budget:
    """How many tokens a request may hold, and how to count them."""

    window: int
    output_reserve: int
    """Room kept for the reply (the request's `max_tokens`)."""
    buffer: int
    """Slack against estimation error."""
    chars_per_token: float = CHARS_PER_TOKEN

    @property
    def prompt_limit(self) -> int:
        """The largest prompt this budget lets through."""
        return self.window - self.output_reserve - self.buffer

    def tokens(self, chars: int) -> int:
        return int(chars / self.chars_per_token) + 1

    def chars(self, tokens: int) -> int:
        return int(tokens * self.chars_per_token)


def budget_for(window: int, max_output: int, chars_per_token: float = CHARS_PER_TOKEN) -> Budget:
    """Claude Code's proportions (20k output reserve, 13k buffer on a 200k window), scaled
    down for small windows so an 8k local model still has room to work."""
    return Budget(
        window=window,
        output_reserve=max(min(max_output, 20_000, window // 4), 256),
        buffer=max(min(13_000, window // 16), 128),
        chars_per_token=chars_per_token,
    )


__all__ = [
    "CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD",
    "Budget",
    "budget_for",
    "estimate_tokens",
    "message_chars",
    "message_tokens",
]
