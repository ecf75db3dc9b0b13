"""Agent (alias Task): hand a focused job to a sub-agent with a fresh context; only its report returns.

The tool asks the session's `Spawner` (`ctx.spawn`, a core protocol) to run the sub-agent, so it
knows nothing of sessions or models. Several Agent calls in one turn run concurrently; a background agent's
report arrives later as a message; `isolation: worktree` gives the agent its own git checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sous.core import ToolContext, ToolError, ToolResult

from ._base import BuiltinTool, builtin

SCHEMA = {
    "type": "object",
    "properties": {
        "description": {"type": "string", "description": "A short (3-5 word) description of the task"},
        "prompt": {"type": "string", "description": "The task for the agent, with everything it needs to know"},
        "subagent_type": {"type": "string", "description": "The type of agent (default general-purpose)"},
        "model": {"type": "string", "description": "Optional model for this agent"},
        "run_in_background": {"type": "boolean", "description": "Return at once; the report arrives as a message"},
        "isolation": {"type": "string", "enum": ["worktree"], "description": "Work in a temporary git worktree"},
    },
    "required": ["description", "prompt"],
}


def agent_tool(types: Mapping[str, Any]) -> BuiltinTool:
    """The Agent tool, its description listing the agent types (name: description)."""
    listing = "\n".join(f"- {name}: {spec.description[:200]}" for name, spec in sorted(types.items()))

    async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if ctx.spawn is None:
            return ToolResult(content="Sub-agents are not available here.", is_error=True)
        kind = args.get("subagent_type") or "general-purpose"
        if kind not in types:
            return ToolResult(
                content=f"Unknown agent type {kind!r}. Available: {', '.join(sorted(types))}", is_error=True
            )
        try:
            report = await ctx.spawn.spawn(
                kind,
                args["prompt"],
                description=args["description"],
                model=args.get("model"),
                parent=ctx,
                isolation=args.get("isolation"),
                background=bool(args.get("run_in_background")),
            )
        except ToolError as e:
            return ToolResult(content=str(e), is_error=True)
        text = report.text or "(the agent finished without a report)"
        if report.resumable:
            text += f"\n\nagentId: {report.agent_id} (SendMessage to this id continues the agent with its history)"
        return ToolResult(
            content=text,
            is_error=report.status not in ("completed", "async_launched"),
            data={
                "status": report.status,
                "agentId": report.agent_id,
                "content": [text],
                "totalTokens": report.tokens,
                "totalToolUseCount": report.tool_uses,
                "totalDurationMs": report.duration_ms,
                "agentType": kind,
            },
        )

    description = (
        "Launches a sub-agent with a fresh context for a focused task (searching a large codebase, "
        "a self-contained change, a review); it works on its own and returns one report. Give it a "
        "complete, self-contained prompt. Launch independent agents in one message to run them in "
        f"parallel.\nAgent types:\n{listing}"
    )
    return builtin("Agent", SCHEMA, run, description=description, concurrent=True)


SEND_SCHEMA = {
    "type": "object",
    "properties": {
        "to": {"type": "string", "description": "The agentId an Agent result gave (or the agent's task description)"},
        "message": {"type": "string", "description": "What to tell or ask it"},
    },
    "required": ["to", "message"],
}


def send_message_tool() -> BuiltinTool:
    """SendMessage: continue a finished sub-agent with its whole history, or tell a running one."""

    async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if ctx.spawn is None:
            return ToolResult(content="Sub-agents are not available here.", is_error=True)
        try:
            reply = await ctx.spawn.send(str(args["to"]), str(args["message"]), ctx)
        except ToolError as e:
            return ToolResult(content=str(e), is_error=True)
        return ToolResult(content=reply, data={"to": args["to"]})

    description = (
        "Sends a message to a sub-agent by its agentId: a finished agent resumes with its full history "
        "and replies (its answer is this tool's result); a running one reads it at its next step. "
        "Read-only helpers (Explore, Plan) cannot be resumed."
    )
    return builtin("SendMessage", SEND_SCHEMA, run, description=description, concurrent=True)
