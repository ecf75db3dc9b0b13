"""The agent loop: ask the model, run the tools it asks for, repeat.

`Agent.run()` streams one model turn, checks and runs the requested tools (consecutive read-only
calls concurrently), appends the results and goes on until the model stops, the turn limit is
hit, the provider fails for good, or the run is cancelled. Everything observable goes out
through `emit`. The loop holds no global state: a sub-agent is another `Agent` with its own
`Conversation`, tools and context.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from ..records import field, record, replace
from .cancel import CancelToken
from .errors import ContextOverflow, ProviderError, ToolError
from .events import Event, MessageAdded, RunEnd, RunEndReason, TextDelta, ToolEnd, ToolProgress, ToolStart, TurnStart
from .messages import AssistantMessage, Message, Text, ToolCall, ToolResultMessage, Usage, UserMessage, user
from .middleware import PassThrough
from .protocols import Ask, Deny, Emit, Middleware, Model, ModelRequest, Rewrite, Tool, ToolContext, ToolResult
from .toolset import ToolSet

INTERRUPTED_TOOL = "[Request interrupted by user for tool use]"
INTERRUPTED = "[Request interrupted by user]"
current_call: ContextVar[str] = ContextVar("sous_current_call", default="")


def new_id() -> str:
    """A random 32-hex-digit id for messages and calls."""
    return os.urandom(16).hex()


@record(frozen=False)
class Conversation:
    """One agent's history. `inbox` holds user messages typed while the agent works; they are
    delivered at the next turn boundary."""

    system: str
    messages: list[Message] = field(default_factory=list)
    inbox: list[UserMessage] = field(default_factory=list)


@record(frozen=False)
class Agent:
    """Everything one run needs. Re-entrant: nothing here is shared with other agents unless
    the composition root passes the same object twice."""

    model: Model
    tools: ToolSet
    ctx: ToolContext
    emit: Emit = lambda event: None
    middleware: Middleware = field(default_factory=PassThrough)
    max_turns: int | None = None
    max_tokens: int = 16_000
    on_overflow: Callable[[Conversation, ContextOverflow], Awaitable[bool]] | None = None
    """Called when the provider refuses a request as too long; True (room was made) retries it, twice at most."""

    def __post_init__(self) -> None:
        self.ctx.progress = lambda text: self.emit(ToolProgress(call_id=current_call.get(), text=text))

    def append(self, convo: Conversation, message: Message) -> None:
        convo.messages.append(message)
        self.emit(MessageAdded(message=message))

    async def run(
        self, convo: Conversation, prompt: Message | None = None, cancel: CancelToken | None = None
    ) -> RunEnd:
        """Run until the model stops; return (and emit) the `RunEnd`. Never raises for provider
        or tool failures; `asyncio.CancelledError` from outside propagates after cleanup."""
        cancel = cancel or self.ctx.cancel
        self.ctx.cancel = cancel
        started = time.monotonic()
        stats = _Stats()
        if prompt is not None:
            self.append(convo, prompt)
        reason = await self._turns(convo, cancel, stats)
        last = next((m for m in reversed(convo.messages) if isinstance(m, AssistantMessage)), None)
        end = RunEnd(
            reason=reason,
            num_turns=stats.turns,
            usage=stats.usage,
            last_message=last,
            duration_ms=int((time.monotonic() - started) * 1000),
            duration_api_ms=stats.api_ms,
        )
        self.emit(end)
        return end

    async def _turns(self, convo: Conversation, cancel: CancelToken, stats: _Stats) -> RunEndReason:
        overflows = 0
        while True:
            if self.max_turns is not None and stats.turns >= self.max_turns:
                return "max_turns"
            if cancel.cancelled:
                return self._interrupted(convo, "")
            stats.turns += 1
            self.emit(TurnStart(turn=stats.turns))
            messages = await self.middleware.before_model(list(convo.messages))
            request = ModelRequest(
                system=convo.system, messages=tuple(messages), tools=self.tools.schemas(), max_tokens=self.max_tokens
            )
            try:
                reply, partial = await self._ask_model(request, cancel, stats)
            except ContextOverflow as e:  # raised only when there is an `on_overflow`
                if overflows < 2 and self.on_overflow is not None and await self.on_overflow(convo, e):
                    overflows += 1
                    stats.turns -= 1
                    continue
                reply, partial = self._failed(e, ""), ""
            overflows = 0
            if reply is None:
                return self._interrupted(convo, partial)
            stats.usage += reply.usage
            self.append(convo, reply)
            if reply.stop_reason == "error":
                return "error"
            if reply.stop_reason == "aborted":
                return self._interrupted(convo, None)
            calls = reply.tool_calls
            if not calls:
                follow_ups: list[Message] = list(await self.middleware.after_turn(list(convo.messages)))
                follow_ups += self._drain(convo)
                if not follow_ups:
                    return "end_turn"
                for message in follow_ups:
                    self.append(convo, message)
                continue
            results = await self._run_calls(calls, cancel)
            for result in results:
                self.append(convo, result)
            if cancel.cancelled:
                return self._interrupted(convo, None)
            if any(r.ends_turn for r in results):  # the answer is given (StructuredOutput)
                return "end_turn"
            for message in self._drain(convo):
                self.append(convo, message)

    def _drain(self, convo: Conversation) -> list[Message]:
        """Take the messages typed while the agent worked, emptying the inbox in place (the
        session and sub-agents hold the same list)."""
        queued: list[Message] = list(convo.inbox)
        convo.inbox.clear()
        return queued

    def _interrupted(self, convo: Conversation, partial: str | None) -> RunEndReason:
        if partial:
            self.append(
                convo,
                AssistantMessage(
                    content=(Text(text=partial),), model=self.model.name, stop_reason="aborted", id=new_id()
                ),
            )
        self.append(convo, user(self.ctx.cancel.marker(INTERRUPTED)))
        return "aborted"

    async def _ask_model(
        self, request: ModelRequest, cancel: CancelToken, stats: _Stats
    ) -> tuple[AssistantMessage | None, str]:
        """Return (reply, "") or, when cancelled mid-stream, (None, text streamed so far)."""
        streamed: list[str] = []

        def relay(event: Event) -> None:
            if isinstance(event, TextDelta):
                streamed.append(event.text)
            self.emit(event)

        started = time.monotonic()
        try:
            task = await cancel.race(self.model.complete(request, relay, cancel))
        finally:
            stats.api_ms += int((time.monotonic() - started) * 1000)
        if task is None:
            return None, "".join(streamed)
        try:
            reply = task.result()
        except ProviderError as e:
            if isinstance(e, ContextOverflow) and self.on_overflow is not None and not streamed:
                raise
            return self._failed(e, "".join(streamed)), ""
        return (reply if reply.id else replace(reply, id=new_id())), ""

    def _failed(self, error: ProviderError, streamed: str) -> AssistantMessage:
        content = (Text(text=streamed),) if streamed else ()
        return AssistantMessage(
            content=content,
            model=self.model.name,
            stop_reason="error",
            error=str(error),
            provider_data={"status": error.status},
            id=new_id(),
        )

    async def _run_calls(self, calls: list[ToolCall], cancel: CancelToken) -> list[ToolResultMessage]:
        results: list[ToolResultMessage] = []
        for batch in self._batches(calls):
            if cancel.cancelled:
                results += [_error(c, cancel.marker(INTERRUPTED_TOOL)) for c in batch]
            elif len(batch) == 1:
                results.append(await self._run_call(batch[0], cancel))
            else:
                results += await asyncio.gather(*(self._run_call(c, cancel) for c in batch))
        return results

    def _batches(self, calls: list[ToolCall]) -> list[list[ToolCall]]:
        """Consecutive read-only calls form one concurrent batch; every other call runs alone."""
        batches: list[tuple[bool, list[ToolCall]]] = []
        for call in calls:
            tool = self.tools.get(call.name)
            read_only = tool is not None and (tool.read_only or tool.concurrent)
            if read_only and batches and batches[-1][0]:
                batches[-1][1].append(call)
            else:
                batches.append((read_only, [call]))
        return [batch for _, batch in batches]

    async def call(self, call: ToolCall, cancel: CancelToken | None = None) -> ToolResultMessage:
        """Run one tool call exactly as the loop would — validated, checked by the middleware,
        re-validated when rewritten, run, its failures turned into error results — outside any
        conversation (a front end serving the tools, e.g. `sous mcp serve`). Never raises for the
        tool's failures."""
        return await self._run_call(call, cancel or self.ctx.cancel)

    async def _run_call(self, call: ToolCall, cancel: CancelToken) -> ToolResultMessage:
        self.emit(ToolStart(call=call))
        started = time.monotonic()
        result = await self._checked_run(call, cancel)
        result = await self.middleware.after_tool(call, result)
        self.emit(ToolEnd(call=call, result=result, duration_ms=int((time.monotonic() - started) * 1000)))
        return result

    async def _invoke(self, tool: Tool, call: ToolCall) -> ToolResult:
        current_call.set(call.id)  # runs in its own task, so concurrent calls keep their ids
        return await tool.run(call.arguments, self.ctx)

    async def _checked_run(self, call: ToolCall, cancel: CancelToken) -> ToolResultMessage:
        if problem := self.tools.check(call):
            return _error(call, problem)
        tool = self.tools.get(call.name)  # taken now: a check may change the tool set (leaving plan mode)
        try:
            decision = await self.middleware.before_tool(call, self.ctx)
            if isinstance(decision, Ask):
                if decision.arguments is not None:
                    call = ToolCall(id=call.id, name=call.name, arguments=decision.arguments)
                    if problem := self.tools.check(call):
                        return _error(call, problem)
                settled = await self.middleware.settle(call, decision, self.ctx)
                if settled is None or isinstance(settled, Ask):
                    settled = Deny(reason=f"{decision.reason}; nothing here can approve it")
                decision = settled
        except Exception as e:  # a broken check must block the call, not end the session
            return _error(call, f"The call was blocked: its check failed ({type(e).__name__}: {e})")
        if isinstance(decision, Deny):
            return _error(call, decision.reason)
        if isinstance(decision, Rewrite):
            call = ToolCall(id=call.id, name=call.name, arguments=decision.arguments)
            if problem := self.tools.check(call):
                return _error(call, problem)
        task = await cancel.race(self._invoke(tool, call))  # type: ignore[arg-type]  # check() found it
        if task is None:
            return _error(call, cancel.marker(INTERRUPTED_TOOL))
        try:
            out: ToolResult = task.result()
        except ToolError as e:
            return _error(call, str(e))
        except Exception as e:  # a tool bug must not end the session; the model sees it
            return _error(call, f"Tool {call.name} failed unexpectedly: {type(e).__name__}: {e}")
        content = (Text(text=out.content),) if isinstance(out.content, str) else tuple(out.content)
        return ToolResultMessage(
            tool_call_id=call.id,
            tool_name=call.name,
            content=content,
            is_error=out.is_error,
            data=out.data,
            ends_turn=out.ends_turn,
            id=new_id(),
        )


@record(frozen=False, kw_only=False)
class _Stats:
    turns: int = 0
    usage: Usage = field(default_factory=Usage)
    api_ms: int = 0


def _error(call: ToolCall, text: str) -> ToolResultMessage:
    return ToolResultMessage(
        tool_call_id=call.id, tool_name=call.name, content=(Text(text=text),), is_error=True, id=new_id()
    )
