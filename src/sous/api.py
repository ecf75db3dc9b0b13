"""The Python API: programs run sous in-process.

    import sous

    async for event in sous.query("fix the failing test", model="anthropic:claude-sonnet-4-5",
                                  permission_mode="acceptEdits"):
        ...

    async with sous.Client(cwd="repo", allowed_tools=["Read", "Bash(git *)"]) as client:
        async for event in client.send("what changed?"):
            ...
        client.set_model("openai:gpt-5.1")

Events are sous's own typed values (`sous.core`: `TextDelta`, `MessageAdded`, `ToolStart`,
`ToolEnd`, `PermissionRequest`, `RunEnd`...); each prompt's events end with its `RunEnd`. Keyword
options are the fields of `sous.runtime.Options` (the CLI flags' names); sessions are not written
to disk unless `persist=True`. Permission questions go to `can_use_tool(call, detail)` when given
(return a bool or a `sous.permissions.Answer`; an exception denies), else what would ask is refused.
After each prompt, `Client.last_run` (a `sous.RunRecord`) says what the run actually changed and ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Self

from sous.core import Event, PermissionRequest, RunEnd
from sous.runtime import Options, RunRecord, Session, open_session

CanUseTool = Callable[[Any, Any], Awaitable[Any]]


async def query(prompt: str, *, can_use_tool: CanUseTool | None = None, **options: Any) -> AsyncIterator[Event]:
    """Run one prompt in a new session and yield its events, the last being its `RunEnd`.
    Raises `sous.core.ConfigError` (before any event) when the session cannot start."""
    async with Client(can_use_tool=can_use_tool, **options) as client:
        async for event in client.send(prompt):
            yield event


class Client:
    """A session for many prompts; use it as `async with`. Each `send` runs one prompt; the
    session's other operations are here (`interrupt`, `set_model`, `set_mode`, `fork`, `compact`),
    and `session` is the full `sous.runtime.Session` for the rest."""

    def __init__(self, *, can_use_tool: CanUseTool | None = None, **options: Any):
        options.setdefault("persist", False)
        # the callback is told which agent asks (the decision's `agent`): each agent is asked on its own
        self._opts = Options(answers_permissions=can_use_tool is not None, **{"questions_per_agent": True, **options})
        self._can_use_tool = can_use_tool
        self._session: Session | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._runs: set[asyncio.Future[RunEnd]] = set()

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the client is not open: use `async with sous.Client(...) as client`")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = open_session(self._opts)
        if self._can_use_tool is not None:
            self._session.subscribe(self._on_question)
        try:
            await self._session.start()
        except BaseException:
            self._session.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        if self._runs:  # a prompt whose events were abandoned is still running: stop it first
            session.interrupt("the client was closed")
            await asyncio.wait(set(self._runs))
        for task in list(self._tasks):
            task.cancel()
        try:
            await session.end("other")
        finally:
            session.close()

    async def send(self, prompt: str) -> AsyncIterator[Event]:
        """Run one prompt and yield its events as they happen, ending with its `RunEnd`. A loop
        left early leaves the run going (Python closes an abandoned generator later): call
        `interrupt()`, or leave the `async with`, which stops it."""
        session = self.session
        events: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = session.subscribe(events.put_nowait)
        run = asyncio.ensure_future(session.send(prompt))
        self._runs.add(run)
        run.add_done_callback(self._runs.discard)
        try:
            while True:
                getter = asyncio.ensure_future(events.get())
                await asyncio.wait({getter, run}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                event = getter.result()
                yield event
                if isinstance(event, RunEnd) and run.done():
                    break
            while not events.empty():  # what was emitted as the run ended
                yield events.get_nowait()
            run.result()  # re-raise a failure of the run itself
        finally:
            unsubscribe()
            if not run.done():
                session.interrupt()
                await asyncio.wait({run})

    async def ask(self, prompt: str) -> str:
        """Run one prompt and return the final answer's text (an error or interruption says so)."""
        end: RunEnd | None = None
        async for event in self.send(prompt):
            if isinstance(event, RunEnd):
                end = event
        last = end.last_message if end is not None else None
        if end is None or end.reason != "end_turn":
            reason = end.reason if end is not None else "no result"
            raise RuntimeError(f"the run ended with {reason}" + (f": {last.error}" if last and last.error else ""))
        return last.text if last is not None else ""

    @property
    def last_run(self) -> RunRecord:
        """What the latest prompt's run actually did: the files it changed (lines added and
        removed) and the commands it ran (exit codes), whatever its answer says. Complete once
        `send()` has yielded the run's `RunEnd`."""
        return self.session.last_run

    def interrupt(self) -> bool:
        return self.session.interrupt()

    def set_model(self, spec: str) -> str:
        return self.session.set_model(spec).name

    def set_mode(self, mode: str) -> None:
        self.session.set_mode(mode)

    def fork(self) -> str:
        return self.session.fork()

    async def compact(self, focus: str = "") -> str:
        return await self.session.compact(focus)

    def _on_question(self, event: Event) -> None:
        if isinstance(event, PermissionRequest) and self._can_use_tool is not None:
            task = asyncio.ensure_future(self._answer(self._can_use_tool, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, can_use_tool: CanUseTool, event: PermissionRequest) -> None:
        from sous.permissions import Answer

        try:
            answer = await can_use_tool(event.call, event.detail)
        except Exception as e:  # the program's callback failing denies the call, fail closed
            answer = Answer(allow=False, feedback=f"the permission callback failed: {type(e).__name__}: {e}")
        if not isinstance(answer, (bool, Answer)):
            answer = Answer(
                allow=False, feedback=f"the permission callback returned {type(answer).__name__}, not a bool or Answer"
            )
        self.session.answer(event.request_id, answer)
