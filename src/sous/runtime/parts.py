"""The parts of a session that compaction and checkpoints act on, made before the `Session`.

Automatic compaction (`sous.context.autocompact`) and checkpoints (`sous.checkpoints`) replace or
cut the history, write to the transcript, count side usage and stop with the run. They are built
in `sous.runtime.build` ahead of the `Session` and handed to it, so they cannot take the Session
itself: `SessionParts` is what they see instead, and the Session reads its side usage and keeps
its id here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sous.core import Agent, CancelToken, Conversation, Event, Notice, Usage
from sous.records import field, record

from .bus import Runs
from .record import Transcript


@record(frozen=False)
class SessionParts:
    """The session's agent, history, transcript, hooks, memory files and run token."""

    id: str
    agent: Agent
    convo: Conversation
    emit: Callable[[Event], None]
    runs: Runs
    writer: Transcript
    hooks: Any = None
    memory: Any = None
    notices: list[Notice] = field(default_factory=list)
    side_usage: Usage = field(default_factory=Usage)
    """Model use outside runs (compaction, drafting an agent), for `/cost`."""
    auto_compact: Any = None
    """The session's `AutoCompact`, once `autocompact.install` made it."""
    checkpoints: Any = None
    """The session's checkpoint `Recorder`, once `checkpoints.attach` made it."""

    @property
    def transcript_path(self) -> Path | None:
        return self.writer.path

    @property
    def cancel(self) -> CancelToken | None:
        """The token of the run under way; compaction outside a run makes its own (so interrupt stops it)."""
        return self.runs.current

    @cancel.setter
    def cancel(self, token: CancelToken | None) -> None:
        self.runs.current = token
