"""The history of a session: clear it, resume an earlier one, fork it, compact it, and rewind
the conversation and the files to a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sous.core import Notice, Text, ToolResultMessage, new_id
from sous.core.messages import AssistantMessage, Message
from sous.store import transcript as store
from sous.store.ids import new_uuid

from .state import SessionState


class History(SessionState):
    """The history side of the Session API."""

    async def clear(self) -> None:
        """Go on as a new, empty session with the same tools, settings and servers (`/clear`)."""
        if self._hooks is not None:
            await self._hooks.session_end("clear")
        session_id = new_uuid()
        self._switch(session_id, [], self._new_writer(session_id))
        self._agent.ctx.state.pop("todos", None)
        if self._hooks is not None:
            verdict = await self._hooks.session_start("clear", self.model.name)
            self._pending_context += verdict.context
        if self._memory is not None and (text := self._memory.render()):
            self._pending_context.append(text)

    async def resume(self, path: Path) -> list[Message]:
        """Go on as the earlier session stored at `path` (`/resume`); returns its history as the
        model will see it (unanswered tool calls answered). Raises `OSError`/`ValueError` for a
        file that cannot be read."""
        loaded = store.load(path)
        if self._hooks is not None:
            await self._hooks.session_end("resume")
        messages = repair(loaded.messages)
        writer = None
        if self._transcript.persistent:
            writer = store.TranscriptWriter(path, last_id=loaded.messages[-1].id if loaded.messages else None)
            for message in repaired_tail(loaded.messages, messages):
                writer.message(message)
        self._switch(loaded.session_id, messages, writer)
        if self._hooks is not None:
            await self._hooks.session_start("resume", self.model.name)
        return messages

    def fork(self) -> str:
        """Go on in a new session that starts with a copy of this history; the old transcript is
        left as it was. Returns the new session's id."""
        session_id = new_uuid()
        writer = self._new_writer(session_id)
        if writer is not None:
            for message in self._convo.messages:
                writer.message(message)
        self._switch(session_id, list(self._convo.messages), writer)
        return session_id

    def _new_writer(self, session_id: str) -> store.TranscriptWriter | None:
        if not self._transcript.persistent:
            return None
        path = store.session_path(self.project_dir, session_id, self.environ)
        try:
            return store.TranscriptWriter.create(
                path, session_id=session_id, cwd=self.project_dir, model=self.model.name
            )
        except OSError as e:
            self.emit(
                Notice(
                    level="warning",
                    text=f"{path}: cannot write the session file ({e.strerror or e}); this session is not saved",
                )
            )
            return None

    def _switch(self, session_id: str, messages: list[Message], writer: store.TranscriptWriter | None) -> None:
        self._id = self._parts.id = session_id
        self._transcript.switch(writer)
        self._convo.messages = list(messages)
        self._convo.inbox.clear()
        if self._hooks is not None:
            self._hooks.session_id = session_id
            self._hooks.transcript_path = str(writer.path if writer else "")

    async def compact(self, focus: str = "", trigger: str = "manual") -> str:
        """Replace the conversation by a summary that keeps the user's words, todos, plan, files
        touched and memory files; returns the summary. Raises `CompactError` (the conversation
        unchanged) when compaction is off, a PreCompact hook blocks or the model fails."""
        from sous.context.autocompact import compact_session

        return (await compact_session(self._parts, focus=focus, trigger=trigger)).summary

    # --- checkpoints ------------------------------------------------------------------------------

    @property
    def checkpointing(self) -> bool:
        """Whether this session has checkpoints (settings can turn them off; a failure later says so once)."""
        return self._checkpoints is not None

    def checkpoints(self) -> list[Any]:
        """This project's checkpoints (`sous.checkpoints.Checkpoint`), oldest first; [] when off."""
        return self._checkpoints.checkpoints.list() if self._checkpoints is not None else []

    async def files_to_rewind(self, checkpoint_id: int) -> list[str]:
        """The files `rewind(checkpoint_id, "code")` would write or delete; changes none of them.
        Raises `CheckpointError` when checkpoints are off or there is no such checkpoint."""
        from sous.checkpoints import CheckpointError

        if self._checkpoints is None:
            raise CheckpointError("checkpoints are off for this session (fileCheckpointingEnabled / SOUS_CHECKPOINTS)")
        await self._checkpoints.wait()
        store = self._checkpoints.checkpoints
        return list(await store.would_restore(store.get(checkpoint_id)))

    async def rewind(self, checkpoint_id: int, mode: str = "both", *, force: bool = False) -> str:
        """Go back to before checkpoint `checkpoint_id`'s turn: its files (`code`), the conversation,
        or `both`; returns what was done in one or two lines. Raises `CheckpointError` (nothing
        changed) when it cannot, `RewindRefused` when files changed outside sous and not `force`."""
        from sous.checkpoints.rewind import rewind_session

        return await rewind_session(self._parts, checkpoint_id, mode, force=force)


def repair(messages: list[Message]) -> list[Message]:
    """Make a loaded history valid to send again: every tool call of an assistant message gets a
    result (a session killed mid-tool leaves calls unanswered), and a tool result that answers no
    call just before it (its call's line was lost, or it answers a call twice) is left out: the
    provider refuses a history holding one. A message whose id came before (a line written twice)
    is kept once: its tool calls twice would be refused too."""
    out: list[Message] = []
    pending: dict[str, str] = {}
    seen: set[str] = set()
    for message in messages:
        if message.id and message.id in seen:
            continue
        seen.add(message.id)
        if isinstance(message, ToolResultMessage):
            if message.tool_call_id in pending:
                pending.pop(message.tool_call_id)
                out.append(message)
            continue
        out += _unanswered(pending)
        if isinstance(message, AssistantMessage):
            pending = {c.id: c.name for c in message.tool_calls}
        out.append(message)
    return out + _unanswered(pending)


def repaired_tail(loaded: list[Message], repaired: list[Message]) -> list[Message]:
    """What `repair` added after the last message read from the file (the answers to the calls a
    session ended in): written to the file, so it shows what the model sees. A repair further up
    is not appended (it would stand out of place there); each load makes it again."""
    known = {id(m) for m in loaded}
    last = max((i for i, m in enumerate(repaired) if id(m) in known), default=-1)
    return repaired[last + 1 :]


def _unanswered(pending: dict[str, str]) -> list[Message]:
    results: list[Message] = [
        ToolResultMessage(
            tool_call_id=cid,
            tool_name=name,
            is_error=True,
            id=new_id(),
            content=(Text(text="[Tool call did not finish: the session ended before its result]"),),
        )
        for cid, name in pending.items()
    ]
    pending.clear()
    return results
