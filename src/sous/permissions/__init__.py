"""Permissions as a middleware: rules, grants and modes decide; asking the person is a callback.

`PermissionMiddleware` asks `decide()` about each call. An "ask" is returned as `Ask`; once every
middleware has had its say it comes back to `settle`, which takes a PreToolUse hook's approval (for
what only the mode asked), then PermissionRequest hooks (`on_ask`), then `asker` (the front end's
dialog), or refuses when there is none (headless runs). The person's answer may be a grant (once,
5 minutes, an hour, the session, N uses) or "always", which writes the narrowest rule to
`.claude/settings.local.json`. Denials are kept in `denials` for the headless result's
`permission_denials`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sous.core import (
    Allow,
    Ask,
    Deny,
    Emit,
    ModeChanged,
    Notice,
    PassThrough,
    PermissionDecided,
    Rewrite,
    ToolCall,
    ToolContext,
    ToolDecision,
)
from sous.records import record, replace
from sous.tools._files import added_dirs

from .decide import MODES, Decision, Rules, decide, split_command
from .grants import Grants, exact_as_rules, narrowest_rules, save_always
from .rules import parse

if TYPE_CHECKING:
    from .auto import AutoJudge


@record
class Answer:
    """What the person said to a permission prompt."""

    allow: bool
    duration: str = "once"
    """"once", "5m", "1h", "session" or "always"."""
    uses: int | None = None
    """Limit a grant to this many calls."""
    feedback: str = ""
    """With a no: what the model should do instead."""
    mode: str | None = None
    """With a yes to a plan: the permission mode to carry on in."""
    updated_input: dict[str, Any] | None = None
    """With a yes: run the call with these arguments instead (a permission prompt tool's answer)."""
    for_all: bool = False
    """With a yes that is kept (5 minutes, the session...): the grant covers every agent, not only
    the one that asked."""


Asker = Callable[[ToolCall, Decision], Awaitable["bool | Answer"]]

MODE_ALIASES = {"manual": "default", "dangerously-skip-permissions": "bypassPermissions"}


def _leaving_the_sandbox(mode: str) -> Decision:
    """What a Bash call the rules allow but that asks to run outside the sandbox gets: a question
    with a typed yes in every mode, bypassPermissions included (an answer is never kept for later,
    so the prompt offers no durations), and a denial in dontAsk mode."""
    reason = "the command asks to run outside the sandbox"
    if mode == "dontAsk":
        return Decision(behavior="deny", source="sandbox", reason=reason + " (dontAsk mode denies what would ask)")
    return Decision(behavior="ask", source="sandbox", reason=reason, confirm="typed")


OnAsk = Callable[[ToolCall], Awaitable["tuple[str, str] | None"]]


class DeferredJudge:
    """The `auto` mode's judge, made when first needed: the session is in or switches to auto
    mode, or `/permissions` lists its judgements. A session never in auto mode then never imports
    `permissions.auto`. The calls decided before it is made are handed to it then, so it knows
    what it would have known. Shared by a session's middlewares (its sub-agents' too): one judge,
    one history, one list of the person's refusals."""

    def __init__(self, make: Callable[[], AutoJudge]):
        self._make = make
        self.made: AutoJudge | None = None
        self._decided: list[tuple[ToolCall, Decision]] = []

    def get(self) -> AutoJudge:
        if self.made is None:
            self.made = self._make()
            for call, decision in self._decided:
                self.made.record(call, decision)
            self._decided.clear()
        return self.made

    async def review(self, call: ToolCall, decision: Decision, agent: str = "", *, cwd: str = ".") -> Decision:
        return await self.get().review(call, decision, agent, cwd=cwd)

    def record(self, call: ToolCall, decision: Decision) -> None:
        if self.made is None:
            self._decided.append((call, decision))
        else:
            self.made.record(call, decision)

    def describe(self) -> list[str]:
        return self.get().describe()

    def adopt(
        self, number: int, kind: str, settings_file: Any = None, on_saved: Callable[[list[str]], None] | None = None
    ) -> str:
        return self.get().adopt(number, kind, settings_file, on_saved)


class PermissionMiddleware(PassThrough):
    def __init__(
        self,
        rules: Rules,
        mode: str = "default",
        *,
        asker: Asker | None = None,
        emit: Emit = lambda e: None,
        read_only_tools: set[str] | None = None,
        local_settings: Path | None = None,
        on_saved: Callable[[Path], None] = lambda path: None,
        approve_saved: Callable[[list[str]], None] = lambda rules: None,
        agent: str | None = None,
        agent_id: str = "",
        on_ask: OnAsk | None = None,
        sandboxed: bool = False,
        sandbox_escape: bool = True,
        auto_allow_sandboxed: bool = False,
        auto: AutoJudge | DeferredJudge | None = None,
        grants: Grants | None = None,
        denials: list[dict[str, Any]] | None = None,
    ):
        self.rules = rules
        self.mode = MODE_ALIASES.get(mode, mode)
        self.asker = asker
        self.emit = emit
        self.read_only_tools = read_only_tools or set()
        self.grants = grants if grants is not None else Grants()
        """Shared with sub-agents' middlewares: a grant given to one holds for all."""
        self.local_settings = local_settings
        """Where "always" answers are written (the project's `.claude/settings.local.json`)."""
        self.on_saved = on_saved
        """Told after sous wrote `local_settings` (so that its own write is not taken for a person's edit)."""
        self.approve_saved = approve_saved
        """Told the rules the person saved there: they approved them, so they are recorded as trusted."""
        self.agent = agent
        self.agent_id = agent_id
        self.denials: list[dict[str, Any]] = denials if denials is not None else []
        self.on_ask = on_ask
        """Asked before the person is (PermissionRequest hooks): ("allow"|"deny", reason) or None."""
        self.sandboxed = sandboxed
        """Bash runs in the sandbox: leaving it (`dangerouslyDisableSandbox`) is always asked with a
        typed yes, in bypassPermissions mode too, and denied in dontAsk mode."""
        self.sandbox_escape = sandbox_escape
        """With `sandboxed`: whether `dangerouslyDisableSandbox` takes a command out. When not, the flag
        is ignored by the Bash tool, so the call is decided as the sandboxed command it is."""
        self.auto_allow_sandboxed = auto_allow_sandboxed
        """With `sandboxed`: a Bash command nothing else stops runs without asking."""
        self.auto = auto
        """In `auto` mode, judges what the mode would ask (see `permissions.auto`)."""
        self._updated_inputs: dict[str, dict[str, Any]] = {}

    def set_mode(self, mode: str) -> None:
        """Change the mode and emit `ModeChanged` (the session offers ExitPlanMode only in plan mode)."""
        mode = MODE_ALIASES.get(mode, mode)
        if mode not in MODES:
            raise ValueError(f"unknown permission mode {mode!r}")
        old = self.mode
        self.mode = mode
        if mode == "auto" and isinstance(self.auto, DeferredJudge):
            self.auto.get()
        if old != mode:
            self.emit(ModeChanged(old=old, new=mode))

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        """Decide by rules, grants and mode. A call that needs approval comes back as `Ask`, settled
        by `settle` once every middleware has had its say (a PreToolUse hook may approve it)."""
        arguments = call.arguments
        if self.sandboxed and not self.sandbox_escape and call.name == "Bash":
            arguments = {k: v for k, v in arguments.items() if k != "dangerouslyDisableSandbox"}
        decision = decide(
            self.rules,
            self.mode,
            call.name,
            arguments,
            cwd=ctx.cwd,
            project_dir=ctx.project_dir,
            added_dirs=added_dirs(ctx),
            read_only=call.name in self.read_only_tools,
            grants=self.grants,
            agent=self.agent,
            sandboxed=self.sandboxed and self.auto_allow_sandboxed,
            shell_home=(ctx.environ or {}).get("HOME") or None,  # as the command will see it
        )
        self.grants.consume(decision.grant_ids)
        if (
            self.sandboxed
            and call.name == "Bash"
            and arguments.get("dangerouslyDisableSandbox")
            and decision.behavior == "allow"
        ):
            decision = _leaving_the_sandbox(self.mode)
        if decision.behavior == "ask":
            return Ask(
                reason=decision.reason,
                source=decision.source,
                detail=decision,
                overridable=decision.source.startswith("mode:"),
            )
        return self._finish(call, decision, "")

    async def settle(self, call: ToolCall, ask: Ask, ctx: ToolContext) -> ToolDecision:
        """Answer a question: approved by a hook (for what only the mode asked), by PermissionRequest
        hooks, by the judge in `auto` mode, by the asker (a person, a prompt tool), or refused when
        there is none."""
        if ask.approved:
            decision = Decision(behavior="allow", source="hook", reason="allowed by a PreToolUse hook")
            return self._finish(call, decision, "")
        if isinstance(ask.detail, Decision):
            decision = ask.detail
        else:
            decision = Decision(behavior="ask", source=ask.source or "hook", reason=ask.reason)
        if self.on_ask is not None and (answer := await self.on_ask(call)) and answer[0] in ("allow", "deny"):
            behavior: Literal["allow", "deny"] = "allow" if answer[0] == "allow" else "deny"
            reason = answer[1] or f"{behavior} by a PermissionRequest hook"
            decision = Decision(behavior=behavior, source="hook", reason=reason)
        if decision.behavior == "ask" and self.mode == "auto" and self.auto is not None:
            decision = await self.auto.review(call, decision, self.agent or "", cwd=ctx.cwd)
        feedback = ""
        if decision.behavior == "ask":
            decision, feedback = await self._ask(call, ctx, decision)
        return self._finish(call, decision, feedback)

    async def check(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        """The whole decision for one call when this middleware stands alone: decide, then settle a
        question. Never returns `Ask`."""
        verdict = await self.before_tool(call, ctx)
        return await self.settle(call, verdict, ctx) if isinstance(verdict, Ask) else verdict

    def _finish(self, call: ToolCall, decision: Decision, feedback: str) -> ToolDecision:
        if self.auto is not None:  # the judge learns what was refused, and what the session did
            self.auto.record(call, decision)
        self.emit(
            PermissionDecided(
                call=call,
                decision=decision.behavior,
                source=decision.source,
                reason=decision.reason,
                agent=self.agent or "",
            )
        )
        if decision.behavior == "allow":
            if (updated := self._updated_inputs.pop(call.id, None)) is not None:
                return Rewrite(arguments=updated)
            return Allow()
        self.denials.append({"tool_name": call.name, "tool_use_id": call.id, "tool_input": call.arguments})
        if feedback:
            return Deny(reason=f"The user doesn't want to proceed with this tool use. They said: {feedback}")
        hint_text = "" if self.asker else " To allow it, rerun with --allowedTools or --permission-mode."
        if decision.source == "mode:plan":  # no rule can allow it: only leaving plan mode does
            hint_text = ""
        return Deny(reason=f"Permission to use {call.name} was denied: {decision.reason}.{hint_text}")

    async def _ask(self, call: ToolCall, ctx: ToolContext, decision: Decision) -> tuple[Decision, str]:
        if self.asker is None:
            return Decision(
                behavior="deny",
                source=decision.source,
                reason=f"{decision.reason}; no one can approve it in this non-interactive run",
            ), ""
        reply = await self.asker(call, replace(decision, agent=self.agent or "", agent_id=self.agent_id, cwd=ctx.cwd))
        answer = reply if isinstance(reply, Answer) else Answer(allow=bool(reply))
        if not answer.allow:
            return Decision(
                behavior="deny", source="user", reason=f"{decision.reason}; the user said no"
            ), answer.feedback
        if answer.updated_input is not None:
            # The answer approved its own rewrite, but never past a deny rule: decide the new input again.
            again = decide(
                self.rules,
                self.mode,
                call.name,
                answer.updated_input,
                cwd=ctx.cwd,
                project_dir=ctx.project_dir,
                added_dirs=added_dirs(ctx),
                read_only=call.name in self.read_only_tools,
                agent=self.agent,
            )
            if again.behavior == "deny":
                return Decision(
                    behavior="deny",
                    source=again.source,
                    reason=f"the approved call's updated input is denied: {again.reason}",
                ), ""
        if decision.source == "plan":
            self.set_mode(answer.mode or "default")
            return Decision(behavior="allow", source="user", reason=f"plan approved; now in {self.mode} mode"), ""
        if decision.source not in ("safety", "sandbox"):  # the floor and leaving the sandbox ask every time
            self._remember(call, ctx, answer)
        if answer.updated_input is not None:
            self._updated_inputs[call.id] = answer.updated_input
        return Decision(behavior="allow", source="user", reason=f"approved by the user ({answer.duration})"), ""

    def _remember(self, call: ToolCall, ctx: ToolContext, answer: Answer) -> None:
        if answer.duration == "once" and answer.uses is None:
            return
        parts = split_command(str(call.arguments.get("command", ""))) if call.name == "Bash" else None
        rules = narrowest_rules(call.name, call.arguments, ctx.cwd, parts)
        if answer.duration == "always":
            rules, starred = exact_as_rules(rules)
            for rule in starred:  # a saved `Bash(rm *.tmp)` would allow `rm -rf src x.tmp`
                self.grants.add(rule, duration="session", agent=None if answer.for_all else self.agent, answer=answer)
                self.emit(
                    Notice(
                        level="warning",
                        text=f"{rule} has a `*`, which a saved rule reads as any text: allowed for this session only",
                    )
                )
            if not rules:
                return
            self.rules.allow.extend(parse(r) for r in rules)
            if self.local_settings is not None:
                try:
                    save_always(rules, self.local_settings)
                except ValueError as e:  # allowed for this session; the file is never overwritten blindly
                    self.emit(Notice(level="warning", text=f"{e}: {', '.join(rules)} allowed for this session only"))
                    return
                self.on_saved(self.local_settings)
                self.approve_saved(rules)
                self.emit(Notice(level="info", text=f"added to {self.local_settings}: {', '.join(rules)}"))
            return
        duration = "session" if answer.duration == "once" else answer.duration
        agent = None if answer.for_all else self.agent
        for rule in rules:
            # One answer "for all" to several agents asking the same makes one grant, not one each.
            if answer.for_all and any(g.answer is answer and str(g.rule) == rule for g in self.grants.items):
                continue
            self.grants.add(rule, duration=duration, uses=answer.uses, agent=agent, answer=answer)

    def describe(self) -> list[str]:
        """Every active rule and grant, for `/permissions`."""
        import time

        lines = [f"mode: {self.mode}"]
        for kind in ("deny", "ask", "allow"):
            lines += [f"{kind} {rule}" for rule in getattr(self.rules, kind)]
        now = time.time()
        lines += [grant.describe(now) for grant in self.grants.active()]
        return lines + (self.auto.describe() if self.auto is not None else [])


__all__ = [
    "MODES",
    "Answer",
    "Asker",
    "Decision",
    "DeferredJudge",
    "PermissionMiddleware",
    "Rules",
    "decide",
    "split_command",
]
