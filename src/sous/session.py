"""Session: one conversation, its agent and its transcript.

Front ends (headless output, the terminal UI, the editor bridge) subscribe to the session's
events; the transcript writer is one more subscriber, so the file holds what the screen showed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sous.core import (
    Agent, CancelToken, Conversation, Event, MessageAdded, Notice, PermissionDecided, RunEnd, Text, TextDelta,
    ThinkingDelta, ToolResultMessage, Usage, UserMessage, new_id,
)
from sous.core.messages import AssistantMessage, Message
from sous.store.codec import usage_to_dict
from sous.store.transcript import TranscriptWriter

Subscriber = Callable[[Event], None]


@dataclass(slots=True)
class Totals:
    """What the runs of this session used, for `/cost` and the status line."""

    usage: Usage = field(default_factory=Usage)
    runs: int = 0
    turns: int = 0
    duration_ms: int = 0
    api_ms: int = 0
    last_input_tokens: int = 0
    """The prompt size of the latest turn: how full the context window is."""

    def add(self, end: RunEnd) -> None:
        self.usage += end.usage
        self.runs += 1
        self.turns += end.num_turns
        self.duration_ms += end.duration_ms
        self.api_ms += end.duration_api_ms
        if end.last_message is not None and end.last_message.usage.input_tokens:
            u = end.last_message.usage
            self.last_input_tokens = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens + u.output_tokens


class Session:
    def __init__(self, *, session_id: str, agent: Agent, convo: Conversation,
                 writer: TranscriptWriter | None = None):
        self.id = session_id
        self.agent = agent
        self.convo = convo
        self.writer = writer
        self.subscribers: list[Subscriber] = []
        self.cancel: CancelToken | None = None
        self.interrupted = False
        """Set by a front end when the person interrupted the run (Ctrl-C, Esc)."""
        self.permissions = None
        """The permission middleware, when the composition root installed one."""
        self.notices: list[Notice] = []
        self.hooks = None
        """The hook middleware, when hooks are configured."""
        self.pending_context: list[str] = []
        """Context from SessionStart hooks, sent with the next prompt."""
        self.commands: dict = {}
        self.memory = None
        self.closers: list[Callable[[], None]] = []
        self.subagent_runs: list[dict] = []
        self.mcp = None
        """The MCP manager, when servers are configured; connected by `start()`."""
        self.tool_aliases: dict[str, str] = {}
        self._mcp_connecting: asyncio.Future | None = None
        self.side_usage = Usage()
        """Model use outside runs (compaction), for `/cost`."""
        self.totals = Totals()
        self.deferred_tools: dict = {}
        """MCP tools kept out of the prompt until ToolSearch loads them (many servers)."""
        """One entry per finished sub-agent: id, type, model, usage, tool uses, duration."""
        """Called by `close()` (stopping background sub-agents...)."""
        """The memory files loaded (`sous.context.memory.Memory`), for `/memory`."""
        """Custom commands and skills by name (`/name args` prompts are expanded)."""
        """Problems found while opening (bad settings...), for the front end to show once."""
        agent.emit = self.emit

    @property
    def transcript_path(self) -> Path | None:
        return self.writer.path if self.writer else None

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        if isinstance(event, RunEnd):
            self.totals.add(event)
        if self.writer is not None:
            self._record(event)
        for subscriber in self.subscribers:
            subscriber(event)

    def _record(self, event: Event) -> None:
        assert self.writer is not None
        if isinstance(event, MessageAdded):
            self.writer.message(event.message)
        elif isinstance(event, RunEnd):
            self.writer.write({"type": "result", "reason": event.reason, "num_turns": event.num_turns,
                               "duration_ms": event.duration_ms, "usage": usage_to_dict(event.usage)})
        elif isinstance(event, Notice):
            self.writer.write({"type": "notice", "level": event.level, "text": event.text})
        elif isinstance(event, PermissionDecided):  # who asked, what decided, why: kept for later questions
            self.writer.write({"type": "permission", "tool": event.call.name, "tool_use_id": event.call.id,
                               "decision": event.decision, "source": event.source, "reason": event.reason,
                               "agent": event.agent or None})

    async def start(self, source: str = "startup", *, wait_for_mcp: bool = True) -> None:
        """Connect MCP servers and run SessionStart hooks (front ends call this once, before the
        first prompt, and `end()` when they are done). The terminal does not wait for the servers:
        their tools join when they are up."""
        if self.mcp is not None:
            if wait_for_mcp:
                await self._connect_mcp()
            else:
                self._mcp_connecting = asyncio.ensure_future(self._connect_mcp())
        if self.hooks is not None:
            verdict = await self.hooks.session_start(source, self.agent.model.name)
            self.pending_context += verdict.context

    async def _connect_mcp(self) -> None:
        from sous.core import ToolSet

        assert self.mcp is not None
        for problem in await self.mcp.start():
            self.emit(Notice(level="warning", text=problem))
        from sous.mcp.search import ToolSearch, should_defer
        from sous.models import catalog

        offered: list = list(self.mcp.tools)
        window = catalog.info(self.agent.model.name.partition(":")[2]).context_window
        if should_defer(offered, window, self.agent.ctx.environ.get("ENABLE_TOOL_SEARCH")):
            self.deferred_tools = {t.name: t for t in offered}
            offered = [ToolSearch(self.deferred_tools, self._load_tools)]
        self.agent.tools = ToolSet([*self.agent.tools, *offered], aliases=self.tool_aliases)
        if self.agent.ctx.spawn is not None and hasattr(self.agent.ctx.spawn, "toolset"):
            self.agent.ctx.spawn.toolset = self.agent.tools

    def _load_tools(self, tools: list) -> None:
        """ToolSearch found these deferred tools: offer them from the next turn on."""
        from sous.core import ToolSet

        have = {t.name for t in self.agent.tools}
        self.agent.tools = ToolSet([*self.agent.tools, *(t for t in tools if t.name not in have)],
                                   aliases=self.tool_aliases)

    async def end(self, reason: str = "other") -> None:
        if (recorder := getattr(self, "checkpoints", None)) is not None:  # the last turn's end snapshot
            await recorder.settle()
        if self.hooks is not None:
            await self.hooks.session_end(reason)
        if self._mcp_connecting is not None and not self._mcp_connecting.done():
            self._mcp_connecting.cancel()
        if self.mcp is not None:
            await self.mcp.close()

    async def send(self, prompt: str | UserMessage) -> RunEnd:
        """Run one user turn to its end. Call `interrupt()` from elsewhere to stop it. A prompt
        `/name args` naming a custom command or skill is expanded first."""
        granted: list = []
        if isinstance(prompt, str) and prompt.startswith("/") and self.commands:
            from sous.context import commands

            if invocation := commands.split_invocation(prompt, self.commands):
                command, arguments = invocation
                try:
                    prompt = commands.expand(command, arguments, cwd=self.agent.ctx.cwd, session_id=self.id,
                                             allow_shell=lambda cmd: self.shell_allowed(command, cmd))
                except commands.ExpansionError as e:
                    return self._blocked(f"/{command.name}: {e}")
                granted = self._grant(command.allowed_tools)
        try:
            return await self._send(prompt)
        finally:
            for rule in granted:  # a command's allowed-tools hold for the invoking turn only
                self.permissions.rules.allow.remove(rule)

    def shell_allowed(self, command, shell_command: str) -> bool:
        """May a command's `!`shell`` placeholder run: its allowed-tools or the rules allow it."""
        from sous.permissions import Rules, decide

        if self.permissions is None:
            return False
        rules = self.permissions.rules
        extra = Rules.from_lists(allow=command.allowed_tools)
        rules = Rules(allow=[*rules.allow, *extra.allow], ask=rules.ask, deny=rules.deny)
        return decide(rules, "default", "Bash", {"command": shell_command}, cwd=self.agent.ctx.cwd,
                      project_dir=self.agent.ctx.project_dir, read_only=False).behavior == "allow"

    def _grant(self, allowed_tools: list[str]) -> list:
        from sous.permissions.rules import parse

        if self.permissions is None:
            return []
        granted = []
        for text in allowed_tools:
            try:
                granted.append(parse(text))
            except ValueError:
                continue
        self.permissions.rules.allow.extend(granted)
        return granted

    async def _send(self, prompt: str | UserMessage) -> RunEnd:
        message = prompt if isinstance(prompt, UserMessage) else UserMessage(content=(Text(text=prompt),))
        extra = [*self.pending_context]
        self.pending_context.clear()
        if self.hooks is not None:
            verdict = await self.hooks.user_prompt(message.text)
            if verdict.block is not None:
                return self._blocked(f"prompt blocked by a UserPromptSubmit hook: {verdict.block}")
            extra += verdict.context
        if extra:
            reminders = "\n\n".join(f"<system-reminder>\n{text}\n</system-reminder>" for text in extra)
            message = UserMessage(content=(*message.content, Text(text=reminders)), id=message.id)
        if not message.id:
            message = UserMessage(content=message.content, id=new_id())
        if (recorder := getattr(self, "checkpoints", None)) is not None:  # sous.checkpoints.Recorder
            await recorder.started(message)
        self.cancel = CancelToken()
        self.agent.ctx.cancel = self.cancel
        try:
            return await self.agent.run(self.convo, message, self.cancel)
        finally:
            self.cancel = None
            if recorder is not None:
                await recorder.ended()

    def _blocked(self, reason: str) -> RunEnd:
        self.emit(Notice(level="warning", text=reason))
        end = RunEnd(reason="blocked", num_turns=0, usage=Usage(), duration_ms=0, duration_api_ms=0,
                     last_message=AssistantMessage(content=(), stop_reason="error", error=reason))
        self.emit(end)
        return end

    def interrupt(self, reason: str = "interrupted by user") -> None:
        if self.cancel is not None:
            self.cancel.cancel(reason)

    def queue(self, text: str) -> None:
        """Deliver a message typed while the agent works at the next turn boundary."""
        self.convo.inbox.append(UserMessage(content=(Text(text=text),), id=new_id()))

    def on_mode_change(self, old: str, new: str) -> None:
        """Offer ExitPlanMode only in plan mode, and tell the model when plan mode begins."""
        from sous.core import ToolSet
        from sous.tools import load
        from sous.tools.plan import PLAN_REMINDER

        tools = [t for t in self.agent.tools if t.name != "ExitPlanMode"]
        if new == "plan":
            tools.append(load("ExitPlanMode"))
            self.pending_context.append(PLAN_REMINDER)
        self.agent.tools = ToolSet(tools, aliases=self.tool_aliases)
        if self.writer is not None:
            self.writer.write({"type": "mode", "from": old, "to": new})

    def switch(self, session_id: str, messages: list[Message], writer: TranscriptWriter | None) -> None:
        """Go on as another session (`/clear`: a new empty one; `/resume`: an earlier one) with the
        same tools, settings and servers."""
        if self.writer is not None:
            self.writer.close()
        self.id, self.writer = session_id, writer
        self.convo.messages = list(messages)
        self.convo.inbox.clear()
        if self.hooks is not None:
            self.hooks.session_id = session_id
            self.hooks.transcript_path = str(writer.path if writer else "")
            self.hooks.record = writer.write if writer else (lambda entry: None)

    async def compact(self, focus: str = "", trigger: str = "manual") -> str:
        """Replace the conversation by the model's summary of it; returns the summary. Raises
        `CompactError` (the conversation unchanged) when a PreCompact hook blocks or the model fails."""
        from sous.context.autocompact import compact_session

        return (await compact_session(self, focus=focus, trigger=trigger)).summary

    def close(self) -> None:
        for closer in self.closers:
            closer()
        if (proxy := self.agent.ctx.state.get("sandbox_proxy")) is not None:
            proxy.close()
        with contextlib.suppress(ImportError):
            from sous.tools.bash import stop_all

            stop_all(self.agent.ctx.state)
        if self.writer is not None:
            self.writer.close()


def repair(messages: list[Message]) -> list[Message]:
    """Make a loaded history valid to send again: every tool call of an assistant message gets a
    result (a session killed mid-tool leaves calls unanswered)."""
    out: list[Message] = []
    pending: dict[str, str] = {}
    for message in messages:
        if pending and not isinstance(message, ToolResultMessage):
            out += _unanswered(pending)
        if isinstance(message, AssistantMessage):
            pending = {c.id: c.name for c in message.tool_calls}
        elif isinstance(message, ToolResultMessage):
            pending.pop(message.tool_call_id, None)
        out.append(message)
    return out + _unanswered(pending)


def _unanswered(pending: dict[str, str]) -> list[Message]:
    results = [ToolResultMessage(tool_call_id=cid, tool_name=name, is_error=True, id=new_id(),
                                 content=(Text(text="[Tool call did not finish: the session ended before its result]"),))
               for cid, name in pending.items()]
    pending.clear()
    return results
