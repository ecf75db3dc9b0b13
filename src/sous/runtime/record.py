"""What a session keeps about itself: the transcript it writes and the totals it shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sous.core import Event, MessageAdded, Notice, PermissionDecided, RunEnd, Usage
from sous.core.events import ModeChanged, ToolEnd
from sous.core.messages import Message
from sous.records import field, record
from sous.store.codec import usage_to_dict
from sous.store.transcript import TranscriptWriter

from .run_record import FILE_TOOLS, edit_counts


class Transcript:
    """The session's transcript file, fed by the same events the front ends see. `/clear`,
    `/resume` and fork point it at another file; without persistence it writes nothing. When the
    file cannot be written (a full disk), `warn` is told so once, and the session goes on unsaved."""

    def __init__(self, writer: TranscriptWriter | None, warn: Callable[[str], None] | None = None):
        self._writer = writer
        self.warn = warn

    @property
    def path(self) -> Path | None:
        return self._writer.path if self._writer is not None else None

    @property
    def persistent(self) -> bool:
        return self._writer is not None

    @property
    def last_id(self) -> str | None:
        """The message the next one follows in the file (a rewind moves it back)."""
        return self._writer.last_id if self._writer is not None else None

    @last_id.setter
    def last_id(self, message_id: str | None) -> None:
        if self._writer is not None:
            self._writer.last_id = message_id

    def switch(self, writer: TranscriptWriter | None) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = writer

    def write(self, entry: dict[str, Any]) -> None:
        if self._writer is not None:
            self._writer.write(entry)
            self._check()

    def message(self, message: Message) -> None:
        if self._writer is not None:
            self._writer.message(message)
            self._check()

    def _check(self) -> None:
        """Say once that the file stopped being written, and stop: its problem is told only here."""
        writer = self._writer
        if writer is not None and writer.problem:
            self._writer = None
            if self.warn is not None:
                self.warn(writer.problem)

    def __call__(self, event: Event) -> None:
        if self._writer is None:
            return
        self._record(event)
        self._check()

    def _record(self, event: Event) -> None:
        assert self._writer is not None
        if isinstance(event, MessageAdded):
            self._writer.message(event.message)
        elif isinstance(event, RunEnd):
            self._writer.write(
                {
                    "type": "result",
                    "reason": event.reason,
                    "num_turns": event.num_turns,
                    "duration_ms": event.duration_ms,
                    "usage": usage_to_dict(event.usage),
                }
            )
        elif isinstance(event, Notice):
            self._writer.write({"type": "notice", "level": event.level, "text": event.text})
        elif isinstance(event, PermissionDecided):  # who asked, what decided, why: kept for later questions
            self._writer.write(
                {
                    "type": "permission",
                    "tool": event.call.name,
                    "tool_use_id": event.call.id,
                    "decision": event.decision,
                    "source": event.source,
                    "reason": event.reason,
                    "agent": event.agent or None,
                }
            )
        elif isinstance(event, ModeChanged):
            self._writer.write({"type": "mode", "from": event.old, "to": event.new})

    def close(self) -> None:
        self.switch(None)


@record(frozen=False, kw_only=False)
class Totals:
    """What the runs of this session used, for `/cost` and the status line."""

    usage: Usage = field(default_factory=Usage)
    runs: int = 0
    turns: int = 0
    duration_ms: int = 0
    api_ms: int = 0
    last_input_tokens: int = 0
    """The prompt size of the latest turn: how full the context window is."""
    lines_added: int = 0
    lines_removed: int = 0
    """Lines the session's own file tools (Write, Edit, NotebookEdit) changed, from their diffs;
    a command's edits through Bash are not counted here (the status line's `cost.total_lines_*`)."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, ToolEnd):
            self._count_lines(event)
            return
        if not isinstance(event, RunEnd):
            return
        self.usage += event.usage
        self.runs += 1
        self.turns += event.num_turns
        self.duration_ms += event.duration_ms
        self.api_ms += event.duration_api_ms
        if event.last_message is not None and event.last_message.usage.input_tokens:
            u = event.last_message.usage
            self.last_input_tokens = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens + u.output_tokens

    def _count_lines(self, event: ToolEnd) -> None:
        if event.call.name in FILE_TOOLS and (counts := edit_counts(event.result)) is not None:
            self.lines_added += counts[1]
            self.lines_removed += counts[2]
