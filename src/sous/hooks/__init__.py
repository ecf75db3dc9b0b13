"""Lifecycle hooks as a middleware: Claude Code's events, input fields and output contract.

`HookMiddleware` fires PreToolUse (block, deny/ask/allow, rewrite the input), PostToolUse and
PostToolUseFailure (feedback and context added to the result), PostToolBatch (once the last
result of one assistant message's calls is in; a block stops the run), PermissionDenied (a call
the `auto` mode's judge refused; `retry: true` tells the model it may try again), CwdChanged (a
call moved the working folder) and Stop (a block makes the agent go on, at most 8 times in a
row) from the loop's seams; the session calls `user_prompt`, `prompt_expansion` (a custom
command or skill about to be expanded), `session_start`, `session_end`, `stop_failure` (a turn
ended by a provider error), `instructions_loaded` (memory files), `directory_added` (`/add-dir`),
`config_change` (a settings file changed) and `teammate_idle` (a `sous team` member about to wait),
and fires PreModelSwitch and PostModelSwitch itself; `worktrees.py` has WorktreeCreate and WorktreeRemove,
`elicitation.py` Elicitation and ElicitationResult (an MCP server asking for input).
Matching handlers run in parallel; every run is recorded.
PreToolUse handlers fail closed by default (`"preToolUseHookFailure": "continue"` in settings
restores Claude Code's fail-open), since a guard that silently stops guarding is worse than none;
so do PreModelSwitch handlers (Claude Code blocks a switch whose hook does not answer in time).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

from sous.core import (
    Allow,
    Ask,
    Deny,
    Message,
    PassThrough,
    Rewrite,
    Text,
    ToolCall,
    ToolContext,
    ToolResultMessage,
    user,
)
from sous.core.events import MessageAdded, PermissionDecided
from sous.core.messages import AssistantMessage
from sous.records import replace

from . import runner
from .config import Handler, HookConfig, load
from .runner import Verdict

MAX_STOP_BLOCKS = 8
INTERRUPTED_TOOL = "[Request interrupted by user for tool use]"


def reminder(text: str) -> str:
    return f"<system-reminder>\n{text}\n</system-reminder>"


class HookMiddleware(PassThrough):
    def __init__(
        self,
        config: HookConfig,
        *,
        session_id: str,
        transcript_path: str,
        project_dir: str,
        environ: Mapping[str, str],
        mode: Callable[[], str] = lambda: "default",
        pre_tool_failure: str = "block",
        record: Callable[[dict[str, Any]], None] = lambda entry: None,
        notify: Callable[[str], None] = lambda text: None,
        stop_run: Callable[[str], object] = lambda reason: None,
        models: Callable[[str], Any] | None = None,
    ):
        self.config = config
        self.session_id = session_id
        self.transcript_path = transcript_path
        self.project_dir = project_dir
        self.environ = {**environ, "CLAUDE_PROJECT_DIR": project_dir, "SOUS_PROJECT_DIR": project_dir}
        self.mode = mode
        self.pre_tool_failure = pre_tool_failure
        self.record = record
        """Where each hook run is written (the session's transcript)."""
        self.notify = notify
        """Shows a hook's `systemMessage` to the person."""
        self.stop_run = stop_run
        """Stops the current run (a hook's `continue: false`)."""
        self.models = _once_each(models) if models is not None else None
        """The model that answers `prompt` and `agent` handlers, by their `model` ("" = the session's,
        as it is at that moment); each named model is made once and kept."""
        self.cwd = project_dir
        self.fields: dict[str, Any] = {}
        """Added to every payload (a sub-agent's `agent_id` and `agent_type`)."""
        self.stop_event: str | None = "Stop"
        self.denied: Callable[[ToolCall], None] = lambda call: None
        """Told of each call a PreToolUse hook refused (the session's `permission_denials`, as in Claude Code)."""
        self._context: dict[str, list[str]] = {}
        self._stop_blocks = 0
        self._judge_denied: dict[str, str] = {}
        self._ctx: ToolContext | None = None
        self._batch: dict[str, ToolCall] = {}
        """The calls of the latest assistant message still waited for, for PostToolBatch."""
        self._batch_done: dict[str, ToolResultMessage] = {}

    def for_agent(self, *, agent_id: str, agent_type: str) -> HookMiddleware:
        """The same hooks inside a sub-agent: its calls carry its id and type, and its end is
        reported as SubagentStop by whoever ran it, not as Stop."""
        child = HookMiddleware(
            self.config,
            session_id=self.session_id,
            transcript_path=self.transcript_path,
            project_dir=self.project_dir,
            environ=self.environ,
            mode=self.mode,
            pre_tool_failure=self.pre_tool_failure,
            record=self.record,
            notify=self.notify,
            stop_run=self.stop_run,
            models=self.models,
        )
        child.fields = {"agent_id": agent_id, "agent_type": agent_type}
        child._judge_denied = self._judge_denied  # the session's events reach the parent only
        child.stop_event = None
        child.denied = self.denied
        return child

    async def fire(self, event: str, subject: str | None, fields: dict[str, Any]) -> Verdict:
        """Run `event`'s matching handlers in parallel and combine what they decided; never raises
        for a handler's failure. Each run is recorded; `systemMessage`s reach the person."""
        return (await self.fire_with_outcomes(event, subject, fields))[0]

    async def fire_with_outcomes(
        self, event: str, subject: str | None, fields: dict[str, Any]
    ) -> tuple[Verdict, list[runner.Outcome]]:
        """`fire`, also returning each handler's own outcome (for events that read a handler's
        output as data, such as WorktreeCreate's path)."""
        handlers = self.config.handlers(event, subject)
        if (event == "PreToolUse" and self.pre_tool_failure == "block") or event == "PreModelSwitch":
            handlers = [h if h.on_failure else replace(h, on_failure="block") for h in handlers]
        handlers = [h for h in handlers if self._if_holds(h, fields)]
        if not handlers:
            return Verdict(), []
        payload = {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            "cwd": self.cwd,
            "permission_mode": self.mode(),
            "hook_event_name": event,
            **self.fields,
            **fields,
        }
        outcomes = list(
            await asyncio.gather(
                *(runner.run(h, payload, cwd=self.cwd, env=self.environ, models=self.models) for h in handlers)
            )
        )
        result = runner.verdict(event, outcomes)
        for outcome in outcomes:
            self.record(
                {
                    "type": "hook",
                    "event": event,
                    "handler": outcome.handler.label,
                    "exit_code": outcome.exit_code,
                    "duration_ms": outcome.duration_ms,
                    "failure": outcome.failure or None,
                }
            )
        self.record(
            {
                "type": "hook_decision",
                "event": event,
                "block": result.block,
                "decision": result.decision,
                "stop": result.stop,
            }
        )
        for message in result.messages:
            self.notify(message)
        if result.stop:
            self.stop_run(result.stop)
        return result, outcomes

    def _if_holds(self, handler: Handler, fields: dict[str, Any]) -> bool:
        """A handler's `if` is one permission rule tried on the call; it runs when that fails to parse."""
        if not handler.if_rule or "tool_name" not in fields:
            return True
        from sous.permissions.decide import split_command
        from sous.permissions.rules import matches, parse

        try:
            rule = parse(handler.if_rule)
        except ValueError:
            return True
        args = fields.get("tool_input") or {}
        parts = split_command(args["command"]) if isinstance(args.get("command"), str) else None
        if isinstance(args.get("command"), str) and parts is None:
            return True
        # As for a deny rule: a path rule holds when the path as given or where its links lead
        # matches, so a guard cannot be walked around through a symlink.
        return matches(rule, fields["tool_name"], args, self.cwd, parts, deny=True)

    # --- the loop's seams ------------------------------------------------------------------

    def on_event(self, event: object) -> None:
        """Listens to the agent's events: a call the `auto` judge refused is remembered, for
        PermissionDenied once its result comes back; an assistant message's tool calls are
        remembered, for PostToolBatch once the last of their results is in."""
        if isinstance(event, PermissionDecided) and event.decision == "deny" and event.source.startswith("auto:"):
            self._judge_denied[event.call.id] = event.reason
        elif isinstance(event, MessageAdded) and isinstance(event.message, AssistantMessage):
            calls = event.message.tool_calls if self.config.handlers("PostToolBatch") else []
            self._batch = {call.id: call for call in calls}
            self._batch_done = {}

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> Any:
        self.cwd = ctx.cwd
        self._ctx = ctx
        result = await self.fire(
            "PreToolUse", call.name, {"tool_name": call.name, "tool_input": _input(call, ctx), "tool_use_id": call.id}
        )
        if result.context:
            self._context[call.id] = result.context
        if result.block is not None:
            self.denied(call)
            return Deny(reason=f"PreToolUse hook blocked this call: {result.block}")
        if result.decision == "deny":
            self.denied(call)
            return Deny(reason=f"PreToolUse hook denied this call: {result.reason or 'no reason given'}")
        then: Literal["", "approve", "ask"] = (
            "approve" if result.decision == "allow" else "ask" if result.decision == "ask" else ""
        )
        if result.updated_input is not None:
            return Rewrite(arguments=result.updated_input, then=then)
        if then == "ask":
            return Ask(reason="a PreToolUse hook asks for approval", source="hook")
        return Allow(approve=then == "approve")

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        failed = result.is_error
        fields: dict[str, Any] = {"tool_name": call.name, "tool_input": call.arguments, "tool_use_id": call.id}
        denied = self._judge_denied.pop(call.id, None)
        if denied is not None and (await self.fire("PermissionDenied", call.name, {**fields, "reason": denied})).retry:
            result = replace(
                result,
                content=(*result.content, Text(text="\n\nA PermissionDenied hook says you may retry this call.")),
            )
        if self._ctx is not None and self._ctx.cwd != self.cwd:
            old, self.cwd = self.cwd, self._ctx.cwd
            await self.fire("CwdChanged", None, {"old_cwd": old, "new_cwd": self.cwd})
        if failed:
            fields |= {"error": result.text, "is_interrupt": result.text == INTERRUPTED_TOOL}
        else:
            fields["tool_response"] = result.data if result.data is not None else result.text
        verdict = await self.fire("PostToolUseFailure" if failed else "PostToolUse", call.name, fields)
        extra = [*self._context.pop(call.id, []), *verdict.context]
        notes = [reminder(text) for text in extra]
        if verdict.block:
            notes.insert(0, f"{'PostToolUseFailure' if failed else 'PostToolUse'} hook feedback:\n{verdict.block}")
        notes += await self._after_batch(call, result)
        if not notes:
            return result
        return replace(result, content=(*result.content, Text(text="\n\n" + "\n\n".join(notes))))

    async def _after_batch(self, call: ToolCall, result: ToolResultMessage) -> list[str]:
        """PostToolBatch, once the last result of the latest assistant message's calls is in
        (whichever call finishes last); its notes go on that result. A block is shown to the
        model and, as in Claude Code, stops the run, as does `continue: false`."""
        if call.id not in self._batch:
            return []
        self._batch_done[call.id] = result
        if len(self._batch_done) < len(self._batch):
            return []
        batch, done = self._batch, self._batch_done
        self._batch, self._batch_done = {}, {}
        tool_calls = [
            {"tool_name": c.name, "tool_input": c.arguments, "tool_use_id": c.id, "tool_response": done[c.id].text}
            for c in batch.values()
        ]
        verdict = await self.fire("PostToolBatch", None, {"tool_calls": tool_calls})
        notes = [reminder(text) for text in verdict.context]
        if verdict.block and not verdict.stop:
            self.stop_run(verdict.block)
        if stopped := verdict.block or verdict.stop:
            notes.insert(0, f"PostToolBatch hook stopped the run:\n{stopped}")
        return notes

    async def after_turn(self, messages: list[Message]) -> list[Message]:
        if self.stop_event is None:
            return []
        last = next((m for m in reversed(messages) if isinstance(m, AssistantMessage)), None)
        verdict = await self.fire(
            "Stop",
            None,
            {"stop_hook_active": self._stop_blocks > 0, "last_assistant_message": last.text if last else ""},
        )
        if (verdict.block or verdict.context) and self._stop_blocks < MAX_STOP_BLOCKS and not verdict.stop:
            self._stop_blocks += 1
            text = verdict.block or "\n".join(verdict.context)
            return [user(f"Stop hook feedback:\n{text}" if verdict.block else reminder(text))]
        self._stop_blocks = 0
        return []

    async def permission_request(self, call: ToolCall) -> tuple[str, str] | None:
        """Before the person is asked: a PermissionRequest hook may answer for them."""
        verdict = await self.fire(
            "PermissionRequest",
            call.name,
            {"tool_name": call.name, "tool_input": call.arguments, "permission_suggestions": []},
        )
        return (verdict.decision, verdict.reason) if verdict.decision else None

    # --- the session's moments -----------------------------------------------------------------

    async def user_prompt(self, prompt: str) -> Verdict:
        self._stop_blocks = 0
        return await self.fire("UserPromptSubmit", None, {"prompt": prompt})

    async def prompt_expansion(self, name: str, arguments: str, source: str) -> Verdict:
        """A `/name args` prompt naming a custom command or skill, before it is expanded:
        UserPromptExpansion, its matcher the command's name. A block stops the prompt."""
        prompt = f"/{name} {arguments}" if arguments else f"/{name}"
        fields = {
            "expansion_type": "slash_command",
            "command_name": name,
            "command_args": arguments,
            "command_source": source,
            "prompt": prompt,
        }
        return await self.fire("UserPromptExpansion", name, fields)

    async def session_start(self, source: str, model: str) -> Verdict:
        return await self.fire("SessionStart", source, {"source": source, "model": model})

    async def session_end(self, reason: str) -> None:
        await self.fire("SessionEnd", reason, {"reason": reason})

    async def stop_failure(self, message: AssistantMessage) -> None:
        """A turn ended by a provider error: StopFailure, its matcher the error's kind."""
        kind = error_kind(message.provider_data.get("status") if isinstance(message.provider_data, dict) else None)
        await self.fire(
            "StopFailure",
            kind,
            {"error": kind, "error_details": message.error or "", "last_assistant_message": message.text},
        )

    async def directory_added(self, directory: str, source: str = "slash_command") -> None:
        """DirectoryAdded: a working folder was added during the session (its matcher: `source`,
        "slash_command" for `/add-dir`). Its output decides nothing."""
        await self.fire("DirectoryAdded", source, {"directory": directory, "source": source})

    async def config_change(self, source: str, file_path: str) -> str | None:
        """ConfigChange: a settings file changed during the session (its matcher: `source`).
        Returns why a hook blocked the change, or None; a change to the managed policy cannot be
        blocked, as in Claude Code."""
        verdict = await self.fire("ConfigChange", source, {"source": source, "file_path": file_path})
        return verdict.block if source != "policy_settings" else None

    async def teammate_idle(self, teammate_name: str, team_name: str) -> str | None:
        """TeammateIdle: a `sous team` member ended its reply and is about to wait. Returns what a
        blocking hook tells the member (it then goes on working), or None."""
        verdict = await self.fire("TeammateIdle", None, {"teammate_name": teammate_name, "team_name": team_name})
        return verdict.block

    async def instructions_loaded(self, files: list[Any], reason: str = "session_start") -> None:
        """One InstructionsLoaded per memory file (`sous.context.memory.MemoryFile`)."""
        if not self.config.handlers("InstructionsLoaded"):
            return
        for file in files:
            await self.fire(
                "InstructionsLoaded",
                reason,
                {
                    "file_path": str(file.path),
                    "memory_type": MEMORY_TYPES.get(file.scope, "Project"),
                    "load_reason": reason,
                },
            )


MEMORY_TYPES = {"user": "User", "project": "Project", "rule": "Project", "nested": "Project", "local": "Local"}
_ERROR_KINDS = {401: "authentication_failed", 403: "authentication_failed", 402: "billing_error"}
_ERROR_KINDS |= {
    404: "model_not_found",
    400: "invalid_request",
    429: "rate_limit",
    529: "overloaded",
    503: "overloaded",
}


def error_kind(status: object) -> str:
    """StopFailure's matcher value for a provider's HTTP status."""
    if isinstance(status, int) and status in _ERROR_KINDS:
        return _ERROR_KINDS[status]
    return "server_error" if isinstance(status, int) and status >= 500 else "unknown"


def _once_each(models: Callable[[str], Any]) -> Callable[[str], Any]:
    made: dict[str, Any] = {}

    def model_for(spec: str) -> Any:
        if not spec:
            return models(spec)
        if spec not in made:
            made[spec] = models(spec)
        return made[spec]

    return model_for


def _input(call: ToolCall, ctx: ToolContext) -> dict[str, Any]:
    """The tool input as hooks see it: file paths absolute, `~` expanded."""
    args = dict(call.arguments)
    for key in ("file_path", "notebook_path", "path"):
        if isinstance(args.get(key), str):
            args[key] = os.path.normpath(os.path.join(ctx.cwd, os.path.expanduser(args[key])))
    return args


__all__ = ["HookConfig", "HookMiddleware", "Verdict", "load"]
