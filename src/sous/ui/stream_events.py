"""`--include-partial-messages`: each model reply as the Anthropic Messages API's stream events.

Claude Code passes the API's server-sent events through as `stream_event` lines; sous rebuilds
the same sequence from its own events, whatever the provider:

    message_start, then per content block: content_block_start, content_block_delta...,
    content_block_stop; then message_delta (stop reason, usage) and message_stop.

Text and thinking deltas go out as they stream. The loop sees a tool call's input only once it
is complete, so each tool_use block gets its whole input as one `input_json_delta`. A reply that
fails or is interrupted gets no `message_stop`: the request did not complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from sous.core import AssistantMessage, Text, TextDelta, Thinking, ThinkingDelta

Line = Callable[[dict[str, Any]], None]


class PartialMessages:
    """Turns one session's deltas and finished replies into `stream_event` lines (written by `event`)."""

    def __init__(self, event: Line):
        self.event = event
        self.message_id: str | None = None
        """The id of the reply being streamed (its `assistant` lines carry the same)."""
        self._index = -1
        self._open: str | None = None

    def reset(self) -> None:
        """A new model request (or a retry of one) begins: forget the reply under way."""
        self.message_id, self._index, self._open = None, -1, None

    def delta(self, event: Any, model: str) -> None:
        """A text or thinking delta: opens the message and a block of its kind when needed."""
        kind = "text" if isinstance(event, TextDelta) else "thinking"
        self._start(model)
        if self._open != kind:
            self._stop_block()
            self._index += 1
            self._open = kind
            block = {"type": "text", "text": ""} if kind == "text" else {"type": "thinking", "thinking": ""}
            self.event({"type": "content_block_start", "index": self._index, "content_block": block})
        delta = {"type": f"{kind}_delta", kind: event.text}
        self.event({"type": "content_block_delta", "index": self._index, "delta": delta})

    def close_blocks(self, message: AssistantMessage) -> str | None:
        """The reply is complete: close its streamed block and send its tool calls; returns the
        message id for its `assistant` lines (None for a failed or interrupted reply)."""
        if message.stop_reason in ("error", "aborted"):
            self.reset()
            return None
        if self.message_id is None:  # nothing was streamed (a provider that sends whole replies)
            self._start(message.model)
            self._whole_blocks(message)
        if self._open == "thinking":
            signature = next((b.signature for b in reversed(message.content) if isinstance(b, Thinking)), None)
            if signature:
                self.event(
                    {
                        "type": "content_block_delta",
                        "index": self._index,
                        "delta": {"type": "signature_delta", "signature": signature},
                    }
                )
        self._stop_block()
        for call in message.tool_calls:
            self._index += 1
            start = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            self.event({"type": "content_block_start", "index": self._index, "content_block": start})
            partial = json.dumps(call.arguments, ensure_ascii=False)
            delta = {"type": "input_json_delta", "partial_json": partial}
            self.event({"type": "content_block_delta", "index": self._index, "delta": delta})
            self.event({"type": "content_block_stop", "index": self._index})
        return self.message_id

    def end(self, message: AssistantMessage, usage: dict[str, int]) -> None:
        """After the reply's `assistant` lines: message_delta and message_stop."""
        if self.message_id is None:
            return
        self.event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": message.stop_reason, "stop_sequence": None},
                "usage": usage,
            }
        )
        self.event({"type": "message_stop"})
        self.reset()

    def _whole_blocks(self, message: AssistantMessage) -> None:
        for block in message.content:
            if isinstance(block, Thinking):
                self.delta(ThinkingDelta(text=block.thinking), message.model)
            elif isinstance(block, Text):
                self.delta(TextDelta(text=block.text), message.model)

    def _start(self, model: str) -> None:
        if self.message_id is not None:
            return
        self.message_id = f"msg_{os.urandom(12).hex()}"
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        self.event({"type": "message_start", "message": message})

    def _stop_block(self) -> None:
        if self._open is not None:
            self.event({"type": "content_block_stop", "index": self._index})
            self._open = None
