"""What front ends read of a session: its history, queue, servers, memory, hooks, sub-agents,
todos, denials and judgements, and how full the context window is. Nothing here changes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sous.core import Notice, SpawnReport, Tool, UserMessage
from sous.core.messages import Message
from sous.permissions import DeferredJudge
from sous.records import record

from .spawn import SubAgents
from .state import SessionState


@record
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


class Views(SessionState):
    """The read-only side of the Session API."""

    @property
    def compaction_status(self) -> str | None:
        """One line on automatic compaction (window, use, threshold), for `/context`; None without it."""
        return self._compaction.describe() if self._compaction is not None else None

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
    def denials(self) -> list[dict[str, Any]]:
        """The calls refused in this session (the headless result's `permission_denials`)."""
        return list(self._permissions.denials)

    def adopt_judgement(self, number: int, kind: str) -> str:
        """`/permissions allow|deny N`: keep auto-mode judgement N as an allow rule (written to the
        local settings) or a deny for this session; returns the line to show."""
        judge = self._permissions.auto
        if judge is None:
            return "no judgements in this session"
        said = str(judge.adopt(number, kind, self._permissions.local_settings, self._permissions.approve_saved))
        if self._settings_watch is not None and self._permissions.local_settings is not None:
            self._settings_watch.seen(self._permissions.local_settings)
        return said

    @property
    def auto_judge(self) -> Any:
        """The judge of `auto` mode (`sous.permissions.auto.AutoJudge`: its judgements and their
        cost), or None when none is set up or none has been needed yet (the session was never in
        auto mode and nothing listed its judgements)."""
        judge = self._permissions.auto
        return judge.made if isinstance(judge, DeferredJudge) else judge

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
    def status_line(self) -> dict[str, Any] | None:
        """The `statusLine` setting to run (`{"type": "command", "command", "padding",
        "refreshInterval"}`), or None: unset, or a project's not yet approved (`sous trust`)."""
        value = self._front.get("statusLine")
        return dict(value) if isinstance(value, dict) else None

    @property
    def plugins(self) -> list[Any]:
        """The plugins in use (`sous.plugins.Plugin`), in the order they were found."""
        return list(self._front.get("plugins") or [])

    @property
    def output_style(self) -> str:
        """The name of the output style in the system prompt ("default" when none)."""
        return str(self._front.get("outputStyle") or "default")

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

    def context_use(self) -> ContextUse:
        """How full the context window is now: the one figure the status bar and `/context` show.
        Estimated from what the next request would carry (system prompt, tool schemas, messages,
        and memory files until they join the messages), so it follows /clear and /compact at once."""
        import json

        from sous.context.measure import estimate_tokens, message_tokens

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
