"""The Session API: the one way front ends drive and change a session.

A `Session` is built by `sous.runtime.build.open_session` with every part it needs; front ends
(the terminal, the plain REPL, `-p`, teams, `sous mcp serve`) call its methods and read its
properties, and never reach into its parts. Events go out through `subscribe()`; permission
questions arrive as `PermissionRequest` events and are settled with `answer()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sous.core import Event, Notice

from .changes import Changes
from .history import History
from .run import RunControl
from .views import Views

if TYPE_CHECKING:  # the queue exists only when someone answers permission questions
    from .queue import Asking


class Session(RunControl, History, Changes, Views):
    """One conversation with its agent, tools, permissions, hooks, servers and transcript.

    The API is written by concept in `run.py`, `history.py`, `changes.py` and `views.py` over the
    parts kept by `SessionState`; this class adds the life cycle and the event stream."""

    # --- events and questions -------------------------------------------------------------------

    def subscribe(self, subscriber: Callable[[Event], None]) -> Callable[[], None]:
        """Receive every event from now on; the returned function unsubscribes."""
        return self._bus.subscribe(subscriber)

    @property
    def waiting_questions(self) -> list[str]:
        """The ids of the `PermissionRequest`s still waiting for `answer()`."""
        return self._questions.waiting

    def askers(self, call_id: str, agent_id: str = "") -> list[Asking]:
        """Every agent waiting on the question that the call `call_id` of the agent `agent_id` asked
        (a `PermissionRequest`'s `call.id` and `detail.agent_id`: two agents' calls may carry the
        same id), first asker first: others asking the same at the same time join it, and the one
        answer reaches them all. Empty once answered."""
        return self._queue.askers(call_id, agent_id) if self._queue is not None else []

    def answer(self, request_id: str, answer: Any) -> bool:
        """Settle the `PermissionRequest` with this id (`sous.permissions.Answer` or a bool, or
        `sous.runtime.queue.EACH` to ask each agent waiting on it on its own); False when it is no
        longer waiting."""
        return self._questions.answer(request_id, answer)

    # --- life cycle -----------------------------------------------------------------------------

    async def start(self, source: str | None = None, *, wait_for_mcp: bool = True) -> None:
        """Connect MCP servers and run SessionStart hooks; call once before the first prompt, and
        `end()` when done. The terminal does not wait for the servers: their tools join when up."""
        source = source or ("resume" if self._convo.messages else "startup")
        if self._mcp is not None:
            if wait_for_mcp:
                await self._connect_mcp()
            else:
                self._mcp_connecting = asyncio.ensure_future(self._connect_mcp())
        if self._hooks is not None:
            verdict = await self._hooks.session_start(source, self.model.name)
            self._pending_context += verdict.context
            if self._memory is not None and source == "startup":
                await self._hooks.instructions_loaded(list(self._memory.files))

    async def _connect_mcp(self) -> None:
        from sous.mcp.search import should_defer

        for problem in await self._mcp.start():
            self.emit(Notice(level="warning", text=problem))
        offered: list[Any] = list(self._mcp.tools)
        if should_defer(offered, self.context_window, self.environ.get("ENABLE_TOOL_SEARCH")):
            self._defer(offered)
        else:
            self._set_toolset(self.tools.adding(offered))

    async def end(self, reason: str = "other") -> None:
        """Wait for a checkpoint snapshot under way, run SessionEnd hooks and disconnect MCP servers."""
        if self._checkpoints is not None:  # the last turn's end snapshot
            await self._checkpoints.wait()
        if self._hooks is not None:
            await self._hooks.session_end(reason)
        if self._mcp_connecting is not None and not self._mcp_connecting.done():
            self._mcp_connecting.cancel()
        if self._mcp is not None:
            await self._mcp.close()

    def close(self) -> None:
        """Stop background agents and shells and close the transcript. The session is unusable after."""
        if self._subagents is not None:
            self._subagents.stop_background()
        if (proxy := self._agent.ctx.state.get("sandbox_proxy")) is not None:
            proxy.close()
        with contextlib.suppress(ImportError):
            from sous.tools.bash import stop_all

            stop_all(self._agent.ctx.state)
        self._transcript.close()
