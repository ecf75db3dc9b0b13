"""What a session is made of, and the few moves every part of the Session API shares.

`SessionState` keeps the parts `sous.runtime.build.open_session` made (the agent, the
conversation, the event bus, permissions, hooks, servers, the transcript...) and answers the
basic questions about them (id, folders, model, tools, mode). The Session API is written by
concept on top of it — `views.py` (what front ends read), `run.py` (prompts and run control),
`history.py` (clear, resume, fork, compact, rewind), `changes.py` (model, mode and tools) — and
`session.py` puts them together as `Session`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sous.core import Agent, Conversation, Event, ModeChanged, Model, Notice, Tool, ToolSet, Usage

from .bus import EventBus, Questions, Runs
from .parts import SessionParts
from .record import Totals, Transcript
from .run_record import RunRecord, RunRecorder
from .spawn import SubAgents

if TYPE_CHECKING:
    from .queue import PermissionQueue
    from .views import ContextUse


class SessionState:
    """A session's parts (private: front ends use the Session API) and its basic facts."""

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
        run_recorder: RunRecorder | None = None,
        pending_context: Sequence[str] = (),
        deferred: Sequence[Tool] = (),
        unavailable: Mapping[str, str] | None = None,
        front: Mapping[str, Any] | None = None,
        queue: PermissionQueue | None = None,
        settings_watch: Any = None,
    ):
        self._id = session_id
        self._agent = agent
        self._convo = convo
        self._bus = bus
        self._questions = questions
        self._queue = queue
        """Merges identical permission questions of agents asking at once (None when nothing is asked)."""
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
        self._front = dict(front or {})
        """Settings only front ends act on (`statusLine`), as the builder let them through."""
        self._settings_watch = settings_watch
        """`sous.settings.watch.SettingsWatch`: the settings files read at the start, looked at before each prompt."""
        self._interrupted = False
        self._context_cache: tuple[Any, ContextUse] | None = None
        self.totals = Totals()
        bus.subscribe(self.totals)
        self._run_recorder = run_recorder or RunRecorder(project_dir=agent.ctx.project_dir)
        """Collects what each run did (sub-agents feed it too); `send()` begins and finishes it."""
        bus.subscribe(self._run_recorder)
        self.last_run = RunRecord()
        """What the latest run did, complete when its `RunEnd` is delivered (`sous.runtime.run_record`)."""
        bus.subscribe(transcript)
        bus.subscribe(self._on_mode_change)
        if deferred:
            self._defer(deferred)

    # --- the basic facts ------------------------------------------------------------------------------

    @property
    def side_usage(self) -> Usage:
        """Model use outside runs (compaction, drafting an agent), for `/cost`."""
        return self._parts.side_usage

    @side_usage.setter
    def side_usage(self, usage: Usage) -> None:
        self._parts.side_usage = usage

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
    def added_dirs(self) -> tuple[str, ...]:
        """The added working folders (`--add-dir`, `permissions.additionalDirectories`, `/add-dir`), resolved."""
        from sous.tools._files import added_dirs

        return added_dirs(self._agent.ctx)

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
    def mode(self) -> str:
        return str(self._permissions.mode)

    @property
    def context_window(self) -> int:
        """The model's context window in tokens: the built-in model's own `n_ctx`, else the catalog's."""
        from sous.models import catalog

        if self.model.name.startswith("local:"):
            from sous.models.local import CONTEXT_TOKENS

            return CONTEXT_TOKENS
        return catalog.info(self.model.name.partition(":")[2]).context_window

    # --- what every part of the API does: send an event, change the tool set -------------------------

    def emit(self, event: Event) -> None:
        """Send an event to every subscriber (and the transcript), as if the session had."""
        self._bus.emit(event)

    def _set_toolset(self, tools: ToolSet) -> None:
        self._agent.tools = tools
        if self._subagents is not None:
            self._subagents.toolset = tools

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

    def _on_mode_change(self, event: Event) -> None:
        """Offer ExitPlanMode only in plan mode (the plan reminder is added by `_send` while in it)."""
        if not isinstance(event, ModeChanged):
            return
        from sous.tools import load

        tools = self.tools.without(["ExitPlanMode"])
        if event.new == "plan":
            tools = tools.adding([load("ExitPlanMode")])
        self._set_toolset(tools)
