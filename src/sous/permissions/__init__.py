"""Permissions as a middleware: rules and modes decide; asking the person is a callback.

`PermissionMiddleware` asks `decide()` about each call; an "ask" goes to `asker` (the terminal
UI's dialog), or becomes a denial when there is none (headless runs). Denials are kept in
`denials` for the headless result's `permission_denials`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sous.core import Allow, Deny, Emit, PassThrough, PermissionDecided, ToolCall, ToolContext, ToolDecision

from .decide import MODES, Decision, Rules, decide, split_command

Asker = Callable[[ToolCall, Decision], Awaitable[bool]]

MODE_ALIASES = {"manual": "default", "dangerously-skip-permissions": "bypassPermissions"}


class PermissionMiddleware(PassThrough):
    def __init__(self, rules: Rules, mode: str = "default", *, asker: Asker | None = None,
                 emit: Emit = lambda e: None, read_only_tools: set[str] | None = None):
        self.rules = rules
        self.mode = MODE_ALIASES.get(mode, mode)
        self.asker = asker
        self.emit = emit
        self.read_only_tools = read_only_tools or set()
        self.denials: list[dict[str, Any]] = []
        self.on_ask: Callable[[ToolCall], Awaitable[tuple[str, str] | None]] | None = None
        """Asked before the person is (PermissionRequest hooks): ("allow"|"deny", reason) or None."""
        self.hook_hints: dict[str, str] = {}
        """PreToolUse hooks' "allow"/"ask" per call id (shared with the hook middleware)."""

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        decision = decide(self.rules, self.mode, call.name, call.arguments, cwd=ctx.cwd,
                          project_dir=ctx.project_dir, read_only=call.name in self.read_only_tools)
        hint = self.hook_hints.pop(call.id, None)
        if hint == "allow" and decision.behavior == "ask" and decision.source.startswith("mode:"):
            decision = Decision(behavior="allow", source="hook", reason="allowed by a PreToolUse hook")
        elif hint == "ask" and decision.behavior == "allow":  # a hook may always insist on asking
            decision = Decision(behavior="ask", source="hook", reason="a PreToolUse hook asks for approval")
        if decision.behavior == "ask" and self.on_ask is not None and (answer := await self.on_ask(call)):
            behavior, why = answer
            decision = Decision(behavior=behavior, source="hook", reason=why or f"{behavior} by a PermissionRequest hook")
        if decision.behavior == "ask":
            if self.asker is not None and await self.asker(call, decision):
                decision = Decision(behavior="allow", source="user", reason="approved by the user")
            else:
                why = "the user said no" if self.asker else "no one can approve it in this non-interactive run"
                decision = Decision(behavior="deny", source="user" if self.asker else decision.source,
                                    reason=f"{decision.reason}; {why}")
        self.emit(PermissionDecided(call=call, decision=decision.behavior, source=decision.source,
                                    reason=decision.reason))
        if decision.behavior == "allow":
            return Allow()
        self.denials.append({"tool_name": call.name, "tool_use_id": call.id, "tool_input": call.arguments})
        hint = "" if self.asker else " To allow it, rerun with --allowedTools or --permission-mode."
        return Deny(reason=f"Permission to use {call.name} was denied: {decision.reason}.{hint}")


__all__ = ["MODES", "Asker", "Decision", "PermissionMiddleware", "Rules", "decide", "split_command"]
