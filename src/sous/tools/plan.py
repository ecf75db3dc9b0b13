"""ExitPlanMode: in plan mode, the model presents its plan and the person approves it.

The approval is a permission question (see `sous.permissions.decide`): in plan mode the call
always asks, and an approving answer names the mode to carry on in (accept edits, or ask before
each edit). The tool runs only once approved, so all it does is say so. The tool is offered only
while the session is in plan mode.
"""

from __future__ import annotations

from typing import Any

from sous.core import ToolContext, ToolResult

from ._base import builtin

SCHEMA = {
    "type": "object",
    "properties": {"plan": {"type": "string", "description": "The plan to present, in Markdown"}},
    "required": ["plan"],
}

PLAN_REMINDER = (
    "Plan mode is active. The user wants a plan before any change: you may read and search (Read, "
    "Glob, Grep, read-only Bash) but must not edit files, run commands that change anything, or make "
    "any other change. When the plan is ready, call ExitPlanMode with it for the user's approval."
)


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    plan = str(args.get("plan") or "").strip()
    if not plan:
        return ToolResult(content="The plan is empty: pass the whole plan in `plan`.", is_error=True)
    return ToolResult(
        content="The user approved your plan; plan mode is over. Carry the plan out now, starting "
        "with the first step (keep the todo list up to date if there is one).\n\nThe approved "
        f"plan:\n{plan}",
        data={"plan": plan},
    )


TOOL = builtin("ExitPlanMode", SCHEMA, run)
