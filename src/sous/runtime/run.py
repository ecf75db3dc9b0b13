"""Prompts and run control: send a prompt (a custom command or skill expanded, attachments
attached), interrupt the run, queue messages for its next turn boundary, add context for the next
prompt, and one tool call or one model request outside the conversation."""

from __future__ import annotations

from typing import Any

from sous.core import CancelToken, Notice, RunEnd, Text, ToolResultMessage, Usage, UserMessage, new_id
from sous.core.messages import AssistantMessage

from .run_record import RunRecord
from .state import SessionState


class RunControl(SessionState):
    """The prompts and run side of the Session API."""

    async def send(self, prompt: str | UserMessage, *, attachments: bool = False) -> RunEnd:
        """Run one user turn to its end; `interrupt()` stops it. A prompt `/name args` naming a
        custom command or skill is expanded first; with `attachments`, `@file` and `@server:uri`
        mentions are attached. Never raises for the model's or the tools' failures."""
        self.last_run = RunRecord()  # a refused prompt did nothing; never show the run before it
        await self._look_at_settings()
        granted: list[Any] = []
        invocation = None
        if isinstance(prompt, str) and prompt.startswith("/") and self._commands:
            from sous.context.commands import split_invocation

            invocation = split_invocation(prompt, self._commands)
        if invocation is not None:
            from sous.context import commands

            command, arguments = invocation
            if self._hooks is not None:
                verdict = await self._hooks.prompt_expansion(command.name, arguments, self._command_source(command))
                if verdict.block is not None:
                    return self._blocked(f"UserPromptExpansion operation blocked by hook: {verdict.block}")
                self._pending_context.extend(verdict.context)
            try:
                prompt = commands.expand(
                    command,
                    arguments,
                    cwd=self.cwd,
                    session_id=self.id,
                    allow_shell=lambda cmd: self.shell_allowed(command, cmd),
                    allow_read=lambda path: read_allowed(self._permissions.rules, self.cwd, self.project_dir, path),
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

    async def _look_at_settings(self) -> None:
        """A settings file read at the start changed: ConfigChange hooks fire, and one line says
        what happens. sous does not reload settings during a session (a project's file could
        otherwise widen permissions without `sous trust`), so the change holds from the next start."""
        if self._settings_watch is None:
            return
        for source, path in self._settings_watch.changed():
            blocked = await self._hooks.config_change(source, str(path)) if self._hooks is not None else None
            if blocked is not None:
                text = f"{path} changed; a ConfigChange hook blocked it ({blocked}): this session keeps its settings"
            else:
                text = f"{path} changed; the change takes effect the next time sous starts"
            self.emit(Notice(level="warning" if blocked is not None else "info", text=text))

    async def teammate_idle(self, teammate_name: str, team_name: str) -> str | None:
        """TeammateIdle hooks, for a team member whose reply ended and that is about to wait:
        returns what a blocking hook (exit 2) tells the member to do next, or None to let it wait."""
        if self._hooks is None:
            return None
        return await self._hooks.teammate_idle(teammate_name, team_name)

    def _command_source(self, command: Any) -> str:
        """Where a command comes from, in Claude Code's words (UserPromptExpansion's `command_source`)."""
        from pathlib import Path

        return "projectSettings" if Path(command.path).is_relative_to(self.project_dir) else "userSettings"

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
        self._run_recorder.begin()
        self._bus.hold_run_end()  # delivered once the run's record is complete
        try:
            end = await self._agent.run(self._convo, message, cancel)
            if self._hooks is not None and end.last_message is not None and end.last_message.stop_reason == "error":
                await self._hooks.stop_failure(end.last_message)
            return end
        finally:
            try:
                tree_changes = None
                if self._checkpoints is not None:  # before send() returns: a later change is made outside sous
                    await self._checkpoints.ended()
                    if self._run_recorder.commands:  # only a command can change files no tool result shows
                        tree_changes = await self._checkpoints.last_turn_changes()
                self.last_run = self._run_recorder.finish(tree_changes)
                if self.last_run.tool_calls:  # kept beside the run's result line, for later questions
                    self._transcript.write({"type": "changes", **self.last_run.as_dict()})
            finally:
                self._bus.release()
                self._runs.finish()
                # the run's time excludes the time its questions waited for the person
                paused_ms = int(1000 * (self._questions.waited - waited))
                self.totals.duration_ms = max(0, self.totals.duration_ms - paused_ms)

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


def read_allowed(rules: Any, cwd: str, project_dir: str, path: str) -> bool:
    """May a command's `@path` be included: no Read deny rule covers the file."""
    from sous.permissions import decide

    verdict = decide(rules, "default", "Read", {"file_path": path}, cwd=cwd, project_dir=project_dir, read_only=True)
    return verdict.behavior != "deny"
