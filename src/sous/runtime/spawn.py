"""Running sub-agents: the `Spawner` behind the Agent and SendMessage tools (`ctx.spawn`).

A sub-agent is the same loop with its own conversation, system prompt, tool set, limits and
transcript (beside the session's, in `<session>/subagents/`). It shares the session's rules and
grants; its permission requests reach the person labelled with its name and task; a read-only
type (`permissionMode: plan`) stays read-only whatever the parent's mode. Hooks fire inside it
with `agent_id`/`agent_type`, and SubagentStart/SubagentStop around it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sous.core import (
    Agent,
    AssistantMessage,
    Chain,
    Conversation,
    Event,
    MessageAdded,
    Middleware,
    Model,
    Notice,
    PermissionDecided,
    RunEnd,
    SpawnReport,
    ToolContext,
    ToolEnd,
    ToolError,
    ToolSet,
    ToolStart,
    UserMessage,
    new_id,
    user,
)
from sous.records import record
from sous.store.transcript import TranscriptWriter
from sous.tools._files import ADDED_DIRS

if TYPE_CHECKING:
    from sous.worktree import Worktree

MAX_DEPTH = 2
MAX_PARALLEL = 8
KEEP_FINISHED = 20
"""Finished agents kept for SendMessage to resume (oldest dropped first)."""


@record(frozen=False, kw_only=False)
class Running:
    """A sub-agent at work, as the terminal shows it."""

    agent_id: str
    kind: str
    description: str
    started: float
    activity: str = "starting"
    """Its latest tool call, as one line."""
    tokens: int = 0
    background: bool = False


@record(frozen=False, kw_only=False)
class Finished:
    agent: Agent
    convo: Conversation
    kind: str
    description: str
    writer: TranscriptWriter | None = None
    """Kept open: a resumed agent goes on writing to its transcript."""


class SubAgents:
    """The session's `Spawner`: one per session, shared by every level of sub-agent."""

    def __init__(
        self,
        *,
        types: Mapping[str, Any],
        model: Model,
        resolve: Callable[[str], Model],
        toolset: ToolSet,
        permissions: Any,
        hooks: Any,
        environment: str,
        emit: Callable[[Event], None],
        inbox: list[UserMessage],
        transcript_dir: Path | None,
        session_id: str,
        compaction: Callable[[Agent, Conversation, TranscriptWriter | None], Any] | None = None,
        max_depth: int = MAX_DEPTH,
        max_parallel: int = MAX_PARALLEL,
        record: Callable[[Event], None] | None = None,
    ):
        self.types = dict(types)
        self.model = model
        """The session's model: agents without a model of their own use it (`Session.set_model` changes it)."""
        self.resolve = resolve
        self.toolset = toolset
        """The session's tools, which agents' tool lists are cut from (`Session.set_tools` changes it)."""
        self.permissions = permissions
        self.hooks = hooks
        self.environment = environment
        self.emit = emit
        self.record = record
        """Hears the agents' tool results (the session's run record: their edits count as the session's)."""
        self.inbox = inbox
        """Where a background agent's report goes: the session's conversation inbox."""
        self.transcript_dir = transcript_dir
        self.session_id = session_id
        self.compaction = compaction
        """Gives each agent automatic compaction under the session's policy (`autocompact.for_agent`)."""
        self.max_depth = max_depth
        self.slots = asyncio.Semaphore(max_parallel)
        self.background: dict[str, asyncio.Future[SpawnReport]] = {}
        self.runs: list[SpawnReport] = []
        """Every finished sub-agent run, for the result's accounting and `/cost`."""
        self.running: dict[str, Running] = {}
        self.inboxes: dict[str, list] = {}
        """The inbox of each running agent's conversation (SendMessage to a busy agent)."""
        self.done: OrderedDict[str, Finished] = OrderedDict()

    def _tools(self, spec: Any, depth: int) -> ToolSet:
        names = [t.name for t in self.toolset]
        if spec.tools is not None:
            allowed = {t.partition("(")[0] for t in spec.tools}
            names = [n for n in names if n in allowed]
        names = [n for n in names if n not in spec.disallowed and not (n == "Agent" and depth >= self.max_depth)]
        names = [n for n in names if n != "StructuredOutput"]  # the session's final answer, not a sub-agent's
        return self.toolset.only(names)

    def _middleware(self, spec: Any, label: str, agent_id: str, read_only: set[str], hooks: Any) -> Middleware:
        from sous.permissions import PermissionMiddleware

        parent = self.permissions
        mode = parent.mode
        if spec.permission_mode == "plan":
            mode = "plan"  # read-only types stay read-only, bypass or not
        elif spec.permission_mode and parent.mode not in ("bypassPermissions", "acceptEdits"):
            mode = spec.permission_mode
        child = PermissionMiddleware(
            parent.rules,
            mode,
            asker=parent.asker,
            emit=self.emit,
            read_only_tools=read_only,
            local_settings=parent.local_settings,
            on_saved=parent.on_saved,
            approve_saved=parent.approve_saved,
            agent=label,
            agent_id=agent_id,
            on_ask=parent.on_ask,
            sandboxed=parent.sandboxed,
            sandbox_escape=parent.sandbox_escape,
            auto_allow_sandboxed=parent.auto_allow_sandboxed,
            auto=parent.auto,  # one judge, one history, one list of the person's refusals
            grants=parent.grants,
            denials=parent.denials,  # one list for the run's permission_denials
        )
        return child if hooks is None else Chain(hooks, child)

    async def spawn(
        self,
        kind: str,
        prompt: str,
        *,
        description: str,
        model: str | None,
        parent: ToolContext,
        isolation: str | None = None,
        background: bool = False,
    ) -> SpawnReport:
        spec = self.types.get(kind)
        if spec is None:
            raise ToolError(f"Unknown agent type {kind!r}. Available: {', '.join(sorted(self.types))}")
        depth = parent.depth + 1
        if depth > self.max_depth:
            raise ToolError(f"sub-agents may nest {self.max_depth} levels deep at most; do this task yourself")
        agent_id = new_id()[:12]
        isolated = (isolation or spec.isolation) == "worktree"
        worktree = None
        if isolated:
            worktree = await self._worktree(parent.cwd, agent_id)
        if background:
            task = asyncio.ensure_future(
                self._run(spec, kind, prompt, description, model, parent, depth, agent_id, worktree)
            )
            self.background[agent_id] = task
            self.running[agent_id] = Running(agent_id, kind, description, time.monotonic(), background=True)
            task.add_done_callback(lambda done: self._deliver(agent_id, description, done))
            return SpawnReport(
                status="async_launched",
                agent_id=agent_id,
                agent_type=kind,
                text=f"Agent {agent_id} ({description}) is running in the background; its report "
                "will arrive as a message when it finishes.",
            )
        return await self._run(spec, kind, prompt, description, model, parent, depth, agent_id, worktree)

    async def _worktree(self, cwd: str, agent_id: str) -> Worktree:
        """A checkout for an isolated agent: WorktreeCreate hooks make it when configured, else git."""
        from sous import worktree as worktrees  # only for an isolated agent

        if self.hooks is not None:
            from sous.hooks import worktrees as hooked

            if (path := await hooked.create(self.hooks, f"agent-{agent_id}")) is not None:
                return worktrees.Worktree(repo="", path=path, branch="", by_hook=True)
        return await worktrees.create(cwd, agent_id)

    async def _leave(self, worktree: Worktree, message: str) -> str:
        """Done with an isolated agent's checkout: git commits and removes its own, WorktreeRemove
        hooks get one a WorktreeCreate hook made."""
        if not worktree.by_hook:
            return await worktree.finish(message)
        from sous.hooks import worktrees as hooked

        return await hooked.remove(self.hooks, worktree.path)

    def _deliver(self, agent_id: str, description: str, task: asyncio.Future[SpawnReport]) -> None:
        self.background.pop(agent_id, None)
        if task.cancelled():
            return
        error = task.exception()
        report = f"failed: {error}" if error else task.result().text
        self.inbox.append(user(f"[Background agent {agent_id} ({description}) finished]\n{report}"))

    def _keep(self, agent_id: str, finished: Finished) -> None:
        self.done[agent_id] = finished
        while len(self.done) > KEEP_FINISHED:
            _, dropped = self.done.popitem(last=False)
            if dropped.writer is not None:
                dropped.writer.close()

    def stop(self, agent_id: str) -> bool:
        """Stop a background agent (`/agents stop ID`)."""
        task = self.background.get(agent_id)
        if task is None:
            return False
        task.cancel()
        return True

    async def send(self, to: str, message: str, parent: ToolContext) -> str:
        """SendMessage: queue `message` for a running agent, or resume a finished one with it and
        return its new report."""
        to = self._resolve(to)
        if (running := self.running.get(to)) is not None and to in self.inboxes:
            self.inboxes[to].append(user(message))
            return f"Delivered to {running.kind} agent {to}; it reads it at its next step."
        finished = self.done.get(to)
        if finished is None:
            known = ", ".join(self.done) or "none"
            raise ToolError(f"no agent {to!r} to message (resumable: {known})")
        self.running[to] = Running(to, finished.kind, finished.description, time.monotonic(), "resuming")
        try:
            async with self.slots:
                end = await finished.agent.run(finished.convo, user(message), parent.cancel)
        finally:
            self.running.pop(to, None)
        return (end.last_message.text if end.last_message else "") or "(the agent replied with no text)"

    def _resolve(self, to: str) -> str:
        """An agent id from an id, a task description or a type (the latest such agent)."""
        if to in self.running or to in self.done:
            return to
        # Running agents first, then finished ones; the latest first in each.
        known: list[tuple[str, Running | Finished]] = [*reversed(self.running.items()), *reversed(self.done.items())]
        for agent_id, agent in known:
            if to in (agent.description, agent.kind):
                return agent_id
        return to

    def stop_background(self) -> None:
        for task in list(self.background.values()):
            task.cancel()
        for finished in self.done.values():
            if finished.writer is not None:
                finished.writer.close()

    async def _run(
        self,
        spec: Any,
        kind: str,
        prompt: str,
        description: str,
        model: str | None,
        parent: ToolContext,
        depth: int,
        agent_id: str,
        worktree: Worktree | None,
    ) -> SpawnReport:
        tools = self._tools(spec, depth)
        chosen = model or spec.model
        cwd = worktree.path if worktree else parent.cwd
        ctx = ToolContext(
            cwd=cwd,
            project_dir=worktree.path if worktree else parent.project_dir,
            environ=parent.environ,
            depth=depth,
            spawn=self,
            cancel=parent.cancel,
            # the added working folders are the parent's own list: a folder added later reaches them too
            state={k: v for k, v in parent.state.items() if k in ("sandbox", "read_denied", "editor", ADDED_DIRS)},
        )
        uses = 0
        writer = None
        if self.transcript_dir is not None:
            writer = TranscriptWriter.create(
                self.transcript_dir / f"agent-{agent_id}.jsonl",
                session_id=self.session_id,
                cwd=cwd,
                model=chosen or self.model.name,
                agent_type=kind,
            )

        running = self.running.setdefault(agent_id, Running(agent_id, kind, description, time.monotonic()))
        hooks = self.hooks.for_agent(agent_id=agent_id, agent_type=spec.name) if self.hooks is not None else None

        def emit(event: Event) -> None:
            nonlocal uses
            if hooks is not None and isinstance(event, MessageAdded):
                hooks.on_event(event)  # its own calls, for its PostToolBatch
            if isinstance(event, ToolEnd):
                uses += 1
                if self.record is not None:
                    self.record(event)
            if isinstance(event, ToolStart):
                from sous.labels import call_label

                running.activity = call_label(event.call, 60)
            elif isinstance(event, MessageAdded) and isinstance(event.message, AssistantMessage):
                running.tokens += event.message.usage.input_tokens + event.message.usage.output_tokens
            if writer is not None and isinstance(event, MessageAdded):
                writer.message(event.message)
            if isinstance(event, (Notice, PermissionDecided)):
                self.emit(event)

        agent = Agent(
            model=self.resolve(chosen) if chosen else self.model,
            tools=tools,
            ctx=ctx,
            emit=emit,
            middleware=self._middleware(
                spec, f"{spec.name}: {description}", agent_id, {t.name for t in tools if t.read_only}, hooks
            ),
            max_turns=spec.max_turns or 100,
        )
        system = f"{spec.prompt}\n\n# Environment\n{self.environment.strip()}"
        if self.hooks is not None:
            await self.hooks.fire("SubagentStart", spec.name, {"agent_id": agent_id, "agent_type": spec.name})
        started = time.monotonic()
        convo = Conversation(system=system)
        if self.compaction is not None:
            self.compaction(agent, convo, writer)
        self.inboxes[agent_id] = convo.inbox
        try:
            async with self.slots:
                end: RunEnd = await agent.run(convo, user(prompt), parent.cancel)
        finally:
            self.running.pop(agent_id, None)
            self.inboxes.pop(agent_id, None)
        resumable = spec.permission_mode != "plan"  # read-only helpers are one-shot, as in Claude Code
        if resumable:
            self._keep(agent_id, Finished(agent, convo, kind, description, writer))
        elif writer is not None:
            writer.close()
        text = end.last_message.text if end.last_message else ""
        if worktree is not None:
            text += "\n\n" + await self._leave(worktree, f"sous agent {agent_id}: {description or kind}")
        if self.hooks is not None:
            await self.hooks.fire(
                "SubagentStop",
                spec.name,
                {
                    "agent_id": agent_id,
                    "agent_type": spec.name,
                    "stop_hook_active": False,
                    "last_assistant_message": text,
                },
            )
        status = "completed" if end.reason == "end_turn" else end.reason
        report = SpawnReport(
            status=status if status != "blocked" else "error",
            agent_id=agent_id,
            text=text,
            tokens=end.usage.input_tokens + end.usage.output_tokens,
            tool_uses=uses,
            duration_ms=int((time.monotonic() - started) * 1000),
            usage=end.usage,
            agent_type=kind,
            model=agent.model.name.partition(":")[2] or agent.model.name,
            resumable=resumable,
        )
        self.runs.append(report)
        return report
