"""The Session API: the one way front ends drive and change a session.

A `Session` is built by `sous.runtime.build.open_session` with every part it needs; front ends
(the terminal, the plain REPL, `-p`, teams, `sous mcp serve`) call its methods and read its
properties, and never reach into its parts. Events go out through `subscribe()`; permission
questions arrive as `PermissionRequest` events and are settled with `answer()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sous.core import (
    Agent,
    CancelToken,
    ConfigError,
    Conversation,
    Event,
    ModeChanged,
    Model,
    Notice,
    RunEnd,
    SpawnReport,
    Text,
    Tool,
    ToolResultMessage,
    ToolSet,
    Usage,
    UserMessage,
    new_id,
    new_uuid,
)
from sous.core.messages import AssistantMessage, Message
from sous.store import transcript as store

from .bus import EventBus, Questions, Runs
from .parts import SessionParts
from .record import Totals, Transcript
from .spawn import SubAgents


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextUse:
    """What fills the context window, in estimated tokens."""

    window: int
    system: int
    tools: int
    memory: int
    """Memory files not yet part of the messages (they are sent with the first prompt)."""
    messages: int

    @property
    def used(self) -> int:
        return self.system + self.tools + self.memory + self.messages

    @property
    def percent(self) -> float:
        return 100 * self.used / self.window if self.window else 0.0


class Session:
    """One conversation with its agent, tools, permissions, hooks, servers and transcript."""

    def __init__(
        self,
        *,
        session_id: str,
        agent: Agent,
        convo: Conversation,
        bus: EventBus,
        questions: Questions,
        runs: Runs,
        transcript: Transcript,
        permissions: Any,
        hooks: Any,
        mcp: Any,
        memory: Any,
        commands: Mapping[str, Any],
        subagents: SubAgents | None,
        notices: Sequence[Notice],
        resolve: Callable[[str], Model],
        parts: SessionParts,
        compaction: Any = None,
        checkpoints: Any = None,
        pending_context: Sequence[str] = (),
        deferred: Sequence[Tool] = (),
        unavailable: Mapping[str, str] | None = None,
    ):
        self._id = session_id
        self._agent = agent
        self._convo = convo
        self._bus = bus
        self._questions = questions
        self._transcript = transcript
        self._permissions = permissions
        self._hooks = hooks
        self._mcp = mcp
        self._memory = memory
        self._commands = dict(commands)
        self._subagents = subagents
        self._resolve = resolve
        self._notices = tuple(notices)
        self._pending_context = list(pending_context)
        self._runs = runs
        self._parts = parts
        self._compaction = compaction
        """`sous.context.autocompact.AutoCompact`: compacts before the window fills and on a too-long refusal."""
        self._checkpoints = checkpoints
        """`sous.checkpoints.Recorder`, or None when checkpoints are off: snapshots around each user turn."""
        self._mcp_connecting: asyncio.Future[None] | None = None
        self._deferred: dict[str, Tool] = {}
        self._unavailable = dict(unavailable or {})
        self._interrupted = False
        self._context_cache: tuple[Any, ContextUse] | None = None
        self.totals = Totals()
        bus.subscribe(self.totals)
        bus.subscribe(transcript)
        bus.subscribe(self._on_mode_change)
        if deferred:
            self._defer(deferred)

    # --- what front ends read ------------------------------------------------------------------

    @property
    def side_usage(self) -> Usage:
        """Model use outside runs (compaction, drafting an agent), for `/cost`."""
        return self._parts.side_usage

    @side_usage.setter
    def side_usage(self, usage: Usage) -> None:
        self._parts.side_usage = usage

    @property
    def compaction_status(self) -> str | None:
        """One line on automatic compaction (window, use, threshold), for `/context`; None without it."""
        return self._compaction.describe() if self._compaction is not None else None

    @property
    def id(self) -> str:
        return self._id

    @property
    def cwd(self) -> str:
        return self._agent.ctx.cwd

    @property
    def project_dir(self) -> str:
        return self._agent.ctx.project_dir

    @property
    def environ(self) -> Mapping[str, str]:
        return self._agent.ctx.environ

    @property
    def model(self) -> Model:
        return self._agent.model

    @property
    def tools(self) -> ToolSet:
        return self._agent.tools

    @property
    def system_prompt(self) -> str:
        return self._convo.system

    @property
    def messages(self) -> tuple[Message, ...]:
        return tuple(self._convo.messages)

    @property
    def queued(self) -> tuple[UserMessage, ...]:
        """Messages typed while the agent works, delivered at its next turn boundary."""
        return tuple(self._convo.inbox)

    @property
    def running(self) -> bool:
        """A run (or a compaction) is under way and `interrupt()` would stop it."""
        return self._runs.current is not None

    @property
    def interrupted(self) -> bool:
        """True once `interrupt()` was called (Ctrl-C, Esc); front ends choose the exit code by it."""
        return self._interrupted

    @property
    def mode(self) -> str:
        return str(self._permissions.mode)

    @property
    def denials(self) -> list[dict[str, Any]]:
        """The calls refused in this session (the headless result's `permission_denials`)."""
        return list(self._permissions.denials)

    def adopt_judgement(self, number: int, kind: str) -> str:
        """`/permissions allow|deny N`: keep auto-mode judgement N as an allow rule (written to the
        local settings) or a deny for this session; returns the line to show."""
        judge = self._permissions.auto
        if judge is None:
            return "no judgements in this session"
        return str(judge.adopt(number, kind, self._permissions.local_settings))

    @property
    def auto_judge(self) -> Any:
        """The judge of `auto` mode (`sous.permissions.auto.AutoJudge`: its judgements and their
        cost), or None when none is set up."""
        return self._permissions.auto

    @property
    def notices(self) -> tuple[Notice, ...]:
        """Problems found while opening (bad settings...), for the front end to show once."""
        return self._notices

    @property
    def commands(self) -> dict[str, Any]:
        """Custom commands and skills by name (`/name args` prompts are expanded by `send`)."""
        return self._commands

    @property
    def mcp(self) -> Any:
        """The MCP servers (`sous.mcp.client.McpManager`), or None when none are configured."""
        return self._mcp

    @property
    def memory(self) -> Any:
        """The memory files loaded (`sous.context.memory.Memory`), or None with `--bare`."""
        return self._memory

    @property
    def hook_config(self) -> Any:
        """The hooks configured (`sous.hooks.HookConfig`), or None."""
        return self._hooks.config if self._hooks is not None else None

    @property
    def deferred_tools(self) -> dict[str, Tool]:
        """Tools kept out of the prompt until ToolSearch loads them: rarely used built-ins, and
        MCP tools when there are many."""
        return dict(self._deferred)

    @property
    def unavailable_tools(self) -> dict[str, str]:
        """Built-ins not offered because they cannot work here, each with the line saying how to
        enable it (for `/status`)."""
        return dict(self._unavailable)

    @property
    def subagents(self) -> SubAgents | None:
        """Running and finished sub-agents (None when the Agent tool is not offered)."""
        return self._subagents

    @property
    def subagent_runs(self) -> list[SpawnReport]:
        return list(self._subagents.runs) if self._subagents is not None else []

    @property
    def todos(self) -> list[dict[str, Any]]:
        return list(self._agent.ctx.state.get("todos") or [])

    @property
    def transcript_path(self) -> Path | None:
        return self._transcript.path

    @property
    def context_window(self) -> int:
        """The model's context window in tokens: the built-in model's own `n_ctx`, else the catalog's."""
        from sous.models import catalog

        if self.model.name.startswith("local:"):
            from sous.models.local import CONTEXT_TOKENS

            return CONTEXT_TOKENS
        return catalog.info(self.model.name.partition(":")[2]).context_window

    def context_use(self) -> ContextUse:
        """How full the context window is now: the one figure the status bar and `/context` show.
        Estimated from what the next request would carry (system prompt, tool schemas, messages,
        and memory files until they join the messages), so it follows /clear and /compact at once."""
        import json

        from sous.context.compact import estimate_tokens, message_tokens

        key = (
            self.system_prompt,
            id(self.tools),
            len(self._convo.messages),
            self._convo.messages[-1:],
            self.model.name,
        )
        if self._context_cache is not None and self._context_cache[0] == key:
            return self._context_cache[1]
        system = estimate_tokens(self.system_prompt)
        tools = estimate_tokens(json.dumps(self.tools.schemas()))
        memory = estimate_tokens(self._memory.render()) if self._memory is not None else 0
        messages = sum(message_tokens(m) for m in self._convo.messages)
        use = ContextUse(
            window=self.context_window,
            system=system,
            tools=tools,
            memory=memory if not self._convo.messages else 0,
            messages=messages,
        )
        self._context_cache = (key, use)
        return use

    def permission_lines(self) -> list[str]:
        """Every active rule and grant, for `/permissions`."""
        return list(self._permissions.describe())

    # --- events and questions -------------------------------------------------------------------

    def subscribe(self, subscriber: Callable[[Event], None]) -> Callable[[], None]:
        """Receive every event from now on; the returned function unsubscribes."""
        return self._bus.subscribe(subscriber)

    def emit(self, event: Event) -> None:
        """Send an event to every subscriber (and the transcript), as if the session had."""
        self._bus.emit(event)

    @property
    def waiting_questions(self) -> list[str]:
        """The ids of the `PermissionRequest`s still waiting for `answer()`."""
        return self._questions.waiting

    def answer(self, request_id: str, answer: Any) -> bool:
        """Settle the `PermissionRequest` with this id (`sous.permissions.Answer` or a bool); False
        when it is no longer waiting."""
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

    async def _connect_mcp(self) -> None:
        from sous.mcp.search import should_defer

        for problem in await self._mcp.start():
            self.emit(Notice(level="warning", text=problem))
        offered: list[Any] = list(self._mcp.tools)
        if should_defer(offered, self.context_window, self.environ.get("ENABLE_TOOL_SEARCH")):
            self._defer(offered)
        else:
            self._set_toolset(self.tools.adding(offered))

    def _defer(self, tools: Sequence[Tool]) -> None:
        """Keep `tools` out of the prompt behind the one ToolSearch, which is rebuilt to list
        every deferred tool (built-ins and MCP tools alike)."""
        from sous.mcp.search import ToolSearch

        self._deferred = {**self._deferred, **{t.name: t for t in tools}}
        self._set_toolset(self.tools.adding([ToolSearch(self._deferred, self._load_deferred)]))

    def _load_deferred(self, tools: list[Any]) -> None:
        """ToolSearch found these deferred tools: offer them from the next turn on."""
        have = {t.name for t in self.tools}
        self._set_toolset(self.tools.adding(t for t in tools if t.name not in have))

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

    # --- prompts ----------------------------------------------------------------------------------

    async def send(self, prompt: str | UserMessage, *, attachments: bool = False) -> RunEnd:
        """Run one user turn to its end; `interrupt()` stops it. A prompt `/name args` naming a
        custom command or skill is expanded first; with `attachments`, `@file` and `@server:uri`
        mentions are attached. Never raises for the model's or the tools' failures."""
        granted: list[Any] = []
        invocation = None
        if isinstance(prompt, str) and prompt.startswith("/") and self._commands:
            from sous.context.commands import split_invocation

            invocation = split_invocation(prompt, self._commands)
        if invocation is not None:
            from sous.context import commands

            command, arguments = invocation
            try:
                prompt = commands.expand(
                    command,
                    arguments,
                    cwd=self.cwd,
                    session_id=self.id,
                    allow_shell=lambda cmd: self.shell_allowed(command, cmd),
                )
            except commands.ExpansionError as e:
                return self._blocked(f"/{command.name}: {e}")
            granted = self._grant(command.allowed_tools)
        elif isinstance(prompt, str) and attachments:
            from sous.context.commands import is_command_like

            if not is_command_like(prompt):  # `/tmp/shot.png what is this?` is a prompt with an image
                prompt = await self._attach(prompt)
        try:
            return await self._send(prompt)
        finally:
            for rule in granted:  # a command's allowed-tools hold for the invoking turn only
                self._permissions.rules.allow.remove(rule)

    async def _attach(self, text: str) -> str | UserMessage:
        from sous.context.attachments import attach, attach_resources, dropped_images, mentions

        if not mentions(text) and not dropped_images(text):  # a dragged image's path may start the line
            return text
        message = attach(text, self._agent.ctx)
        if self._mcp is not None:
            message = await attach_resources(message, text, self._mcp)
        return message

    def shell_allowed(self, command: Any, shell_command: str) -> bool:
        """May a command's `!`shell`` placeholder run: its allowed-tools or the rules allow it."""
        return shell_allowed(self._permissions.rules, self.cwd, self.project_dir, command, shell_command)

    def _grant(self, allowed_tools: list[str]) -> list[Any]:
        from sous.permissions.rules import parse

        granted = []
        for text in allowed_tools:
            try:
                granted.append(parse(text))
            except ValueError:
                continue
        self._permissions.rules.allow.extend(granted)
        return granted

    async def _send(self, prompt: str | UserMessage) -> RunEnd:
        message = prompt if isinstance(prompt, UserMessage) else UserMessage(content=(Text(text=prompt),))
        extra = [*self._pending_context]
        self._pending_context.clear()
        if self._hooks is not None:
            verdict = await self._hooks.user_prompt(message.text)
            if verdict.block is not None:
                return self._blocked(f"prompt blocked by a UserPromptSubmit hook: {verdict.block}")
            extra += verdict.context
        if self.mode == "plan":  # asked afresh at every prompt, so it is never sent once plan mode is left
            from sous.tools.plan import PLAN_REMINDER

            extra.append(PLAN_REMINDER)
        if extra:
            reminders = "\n\n".join(f"<system-reminder>\n{text}\n</system-reminder>" for text in extra)
            message = UserMessage(content=(*message.content, Text(text=reminders)), id=message.id)
        if not message.id:
            message = UserMessage(content=message.content, id=new_id())
        if self._checkpoints is not None:  # the turn's first snapshot runs while the model thinks
            await self._checkpoints.started(message)
        cancel = self._runs.begin()
        self._agent.ctx.cancel = cancel
        waited = self._questions.waited
        try:
            return await self._agent.run(self._convo, message, cancel)
        finally:
            self._runs.finish()
            # the run's time excludes the time its questions waited for the person
            paused_ms = int(1000 * (self._questions.waited - waited))
            self.totals.duration_ms = max(0, self.totals.duration_ms - paused_ms)
            if self._checkpoints is not None:  # before send() returns: a later change is made outside sous
                await self._checkpoints.ended()

    def _blocked(self, reason: str) -> RunEnd:
        self.emit(Notice(level="warning", text=reason))
        end = RunEnd(
            reason="blocked",
            num_turns=0,
            usage=Usage(),
            duration_ms=0,
            duration_api_ms=0,
            last_message=AssistantMessage(content=(), stop_reason="error", error=reason),
        )
        self.emit(end)
        return end

    def interrupt(self, reason: str = "interrupted by user") -> bool:
        """Stop the current run (its running tools are cancelled); False when nothing runs."""
        self._interrupted = True
        return self._runs.interrupt(reason)

    def queue(self, text: str) -> None:
        """Deliver a message typed while the agent works at the next turn boundary."""
        self._convo.inbox.append(UserMessage(content=(Text(text=text),), id=new_id()))

    def take_queued(self) -> list[UserMessage]:
        """Remove and return what is queued (to send it as the next prompt, or give it back to the input)."""
        queued = list(self._convo.inbox)
        self._convo.inbox.clear()
        return queued

    def add_context(self, text: str) -> None:
        """Send `text` with the next prompt as a system reminder (e.g. a `!command`'s output)."""
        self._pending_context.append(text)

    # --- changing the session -------------------------------------------------------------------

    def set_model(self, spec: str) -> Model:
        """Switch the model (`provider:model` or an alias) for this session and its new sub-agents;
        raises `ConfigError` when it cannot be resolved."""
        model = self._resolve(spec)
        self._agent.model = model
        if self._subagents is not None:
            self._subagents.model = model
        return model

    def set_mode(self, mode: str) -> None:
        """Change the permission mode; raises `ConfigError` for an unknown mode."""
        try:
            self._permissions.set_mode(mode)
        except ValueError as e:
            raise ConfigError(str(e)) from e

    def set_tools(self, *, add: Iterable[Tool] = (), remove: Iterable[str] = (), allow: bool = False) -> None:
        """Offer more tools (replacing those of the same name) or fewer; with `allow`, the added
        tools run without asking."""
        from sous.permissions.rules import parse

        added = list(add)
        self._set_toolset(self.tools.without(remove).adding(added))
        if allow:
            self._permissions.rules.allow.extend(parse(t.name) for t in added)
            self._permissions.read_only_tools |= {t.name for t in added if t.read_only}

    def _set_toolset(self, tools: ToolSet) -> None:
        self._agent.tools = tools
        if self._subagents is not None:
            self._subagents.toolset = tools

    def refresh_agents(self) -> dict[str, Any]:
        """Re-read the agent files into the sub-agent types and the Agent tool's description."""
        from sous import agents
        from sous.tools.agent import agent_tool

        if self._subagents is None:
            return {}
        denied = {r.specifier for r in self._permissions.rules.deny if r.tool == "Agent" and r.specifier}
        for name, spec in agents.discover(self.project_dir, self.environ).items():
            if name in denied:  # `Agent(Explore)` in permissions.deny keeps the type away, as at start-up
                continue
            if spec.source != "built-in" or name not in self._subagents.types:
                self._subagents.types[name] = spec
        if self.tools.get("Agent") is not None:
            self._set_toolset(self.tools.adding([agent_tool(self._subagents.types)]))
        return dict(self._subagents.types)

    def revoke_grant(self, number: int) -> bool:
        """Withdraw grant `#number` (`/permissions revoke N`); False when there is none."""
        return bool(self._permissions.grants.revoke(number))

    def _on_mode_change(self, event: Event) -> None:
        """Offer ExitPlanMode only in plan mode (the plan reminder is added by `_send` while in it)."""
        if not isinstance(event, ModeChanged):
            return
        from sous.tools import load

        tools = self.tools.without(["ExitPlanMode"])
        if event.new == "plan":
            tools = tools.adding([load("ExitPlanMode")])
        self._set_toolset(tools)

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
            for message in messages[len(loaded.messages) :]:
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
        return store.TranscriptWriter.create(
            store.session_path(self.project_dir, session_id, self.environ),
            session_id=session_id,
            cwd=self.project_dir,
            model=self.model.name,
        )

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

    async def rewind(self, checkpoint_id: int, mode: str = "both", *, force: bool = False) -> str:
        """Go back to before checkpoint `checkpoint_id`'s turn: its files (`code`), the conversation,
        or `both`; returns what was done in one or two lines. Raises `CheckpointError` (nothing
        changed) when it cannot, `RewindRefused` when files changed outside sous and not `force`."""
        from sous.checkpoints.rewind import rewind_session

        return await rewind_session(self._parts, checkpoint_id, mode, force=force)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultMessage:
        """Run one tool call outside the conversation, through the same checks as the model's calls
        (validation, hooks, permissions, the sandbox); failures come back as error results."""
        from sous.core import ToolCall

        return await self._agent.call(ToolCall(id=new_id(), name=name, arguments=dict(arguments)))

    async def ask_aside(self, system: str, prompt: str) -> str:
        """One model request outside the conversation (drafting an agent file); its cost counts
        in `side_usage`. Raises `ProviderError`."""
        from sous.core import ModelRequest

        request = ModelRequest(
            system=system, tools=(), messages=(UserMessage(content=(Text(text=prompt),), id=new_id()),)
        )
        reply = await self.model.complete(request, lambda event: None, CancelToken())
        self.side_usage += reply.usage
        return reply.text


def shell_allowed(rules: Any, cwd: str, project_dir: str, command: Any, shell_command: str) -> bool:
    """May a command's `!`shell`` placeholder run: its allowed-tools or the rules allow it."""
    from sous.permissions import Rules, decide

    extra = Rules.from_lists(allow=command.allowed_tools)
    merged = Rules(allow=[*rules.allow, *extra.allow], ask=rules.ask, deny=rules.deny)
    return (
        decide(
            merged, "default", "Bash", {"command": shell_command}, cwd=cwd, project_dir=project_dir, read_only=False
        ).behavior
        == "allow"
    )


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
