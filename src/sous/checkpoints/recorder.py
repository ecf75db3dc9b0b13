"""The checkpoints of a session's user turns: the middleware that takes them (`Recorder`) and how a
session gets one (`attach`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from sous.core import Allow, Chain, Notice, PassThrough

from . import Checkpoint, CheckpointError, Checkpoints


class Recorder(PassThrough):
    """Brackets a session's user turns with checkpoints, and is the middleware that holds every
    tool call of a turn until the turn's first snapshot is taken: that snapshot runs while the
    model thinks (the first one of a big project takes seconds), never while a tool changes files.
    The end snapshot is taken before `send()` returns, not in the background: a change made the
    moment after must count as made outside sous. A failure never stops a turn: the first one
    turns checkpoints off for the session with a warning."""

    def __init__(self, checkpoints: Checkpoints, session: Any):
        self.checkpoints = checkpoints
        self.session = session
        self.failed = ""
        self.pending: asyncio.Future | None = None
        self.last: Checkpoint | None = None
        """The entry of the turn that ended last, until `last_turn_changes()` takes it."""

    async def started(self, message: Any) -> None:
        """Begin the turn's snapshot (after the last turn's end snapshot); `ready()` waits for it."""
        await self.wait()
        self.checkpoints.session_id = self.session.id
        self.pending = asyncio.ensure_future(self._guard(self.checkpoints.turn_started(message.id, message.text)))

    async def ready(self) -> None:
        if self.pending is not None:
            await asyncio.shield(self.pending)

    async def ended(self) -> None:
        await self.ready()
        self.last = await self._guard(self.checkpoints.turn_ended())

    async def last_turn_changes(self) -> list[tuple[str, int, int]] | None:
        """What the last turn changed in the tree, from its two snapshots: (path, lines added,
        lines removed); None when they are missing (checkpoints failed)."""
        entry, self.last = self.last, None
        if entry is None or not entry.after:
            return None
        changes: list[tuple[str, int, int]] | None = await self._guard(
            self.checkpoints.line_changes(entry.before, entry.after)
        )
        return changes

    async def wait(self) -> None:
        """Wait for a snapshot under way (a turn's first, if no tool has waited for it)."""
        await self.ready()

    async def _guard(self, step: Any) -> Any:
        """`await step`; None once checkpoints have failed (the first failure turns them off)."""
        if self.failed:
            step.close()
            return None
        try:
            return await step
        except (CheckpointError, OSError) as e:
            self.failed = str(e)
            self.session.emit(Notice(level="warning", text=f"checkpoints are off for this session: {e}"))
            return None

    # The middleware side: only `before_tool` does anything. (Not `settle`: that name is the
    # middleware's answer to a permission question, which a recorder never gives.)
    async def before_tool(self, call: Any, ctx: Any) -> Any:
        await self.ready()
        return Allow()


def attach(session: Any, get: Any, environ: Mapping[str, str]) -> Recorder | None:
    """Give a session's parts (`sous.runtime.parts.SessionParts`) checkpoints, unless
    `fileCheckpointingEnabled` is false or `SOUS_CHECKPOINTS=0`; the session calls
    `started`/`ended` around each turn."""
    if get("fileCheckpointingEnabled") is False or environ.get("SOUS_CHECKPOINTS", "").strip() in ("0", "false", "off"):
        return None
    project = session.agent.ctx.project_dir
    home = environ.get("HOME")
    if os.path.realpath(project) in (os.path.realpath(home) if home else "", "/"):
        return None
    recorder = Recorder(Checkpoints(project, session_id=session.id, environ=environ), session)
    session.checkpoints = recorder
    agent = session.agent  # first in the chain: not even a PreToolUse hook runs before the snapshot
    agent.middleware = (
        Chain(recorder, *agent.middleware.middlewares)
        if isinstance(agent.middleware, Chain)
        else Chain(recorder, agent.middleware)
    )
    return recorder
