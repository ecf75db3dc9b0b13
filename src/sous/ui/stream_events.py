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
WriteBlock = Callable[[Any, "str | None"], None]
"""Writes one content block's `assistant` line, given the id of the reply's stream events."""


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

    def finish(
        self, message: AssistantMessage, write: Callable[[Any, str | None], None], usage: dict[str, Any]
    ) -> None:
        """The reply is complete: `write(block, message_id)` writes each block's `assistant` line,
        which Claude Code sends just before the block's content_block_stop (a block closed earlier,
        when the next one began, gets its line now). Then the tool calls, message_delta and
        message_stop. A failed or interrupted reply gets its lines and no more events."""
        if message.stop_reason in ("error", "aborted"):
            self.reset()
            for block in message.content:
                write(block, None)
            return
        if self.message_id is None:  # nothing was streamed (a provider that sends whole replies)
            self._start(message.model)
            self._whole_blocks(message)
        message_id = self.message_id
        streamed = [b for b in message.content if isinstance(b, (Text, Thinking))]
        for block in streamed[:-1]:
            write(block, message_id)
        if streamed:
            last = streamed[-1]
            if self._open == "thinking" and isinstance(last, Thinking) and last.signature:
                delta = {"type": "signature_delta", "signature": last.signature}
                self.event({"type": "content_block_delta", "index": self._index, "delta": delta})
            write(last, message_id)
        self._stop_block()
        for call in message.tool_calls:
            self._index += 1
            start = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            self.event({"type": "content_block_start", "index": self._index, "content_block": start})
            partial = json.dumps(call.arguments, ensure_ascii=False)
            delta = {"type": "input_json_delta", "partial_json": partial}
            self.event({"type": "content_block_delta", "index": self._index, "delta": delta})
            write(call, message_id)
            self.event({"type": "content_block_stop", "index": self._index})
        stop = {"stop_reason": message.stop_reason, "stop_sequence": None}
        self.event({"type": "message_delta", "delta": stop, "usage": usage})
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
