"""TodoWrite: the model's task list for the session, replaced whole on every call.

The list lives in the agent's `ToolContext.state["todos"]`; it changes no file, but the tool is
not read-only so that two TodoWrite calls in one reply run in order, the last one winning.
"""

from __future__ import annotations

from typing import Any

from sous.core import ToolContext, ToolResult

from .offered import TODO_WRITE

ACCEPTED = (
    "Todos have been modified successfully. Ensure that you continue to use the todo list to track your "
    "progress. Please proceed with the current tasks if applicable"
)


def current_todos(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The todo list of one agent (its ToolContext's `state`), for the UI and `/todos`."""
    return list(state.get("todos", []))


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    todos = [dict(t) for t in args["todos"]]
    for i, todo in enumerate(todos):
        for key in ("content", "activeForm"):
            if not str(todo.get(key, "")).strip():
                return ToolResult(
                    content=f"todos[{i}].{key} is empty: every todo needs both forms of its task", is_error=True
                )
    old = current_todos(ctx.state)
    ctx.state["todos"] = todos
    text = ACCEPTED
    if sum(t["status"] == "in_progress" for t in todos) > 1:
        text += "\nNote: more than one todo is in_progress; keep exactly one in progress at a time."
    return ToolResult(content=text, data={"oldTodos": old, "newTodos": todos})


TOOL = TODO_WRITE  # the prompt's side, in `offered`: this module is imported by the first call
