"""One-line labels for tool calls (`Bash(pytest -q)`), shared by the terminal and the sub-agent view."""

from __future__ import annotations

from sous.core import ToolCall

PRIMARY_ARG = {
    "Bash": "command",
    "Read": "file_path",
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Glob": "pattern",
    "Grep": "pattern",
    "TaskOutput": "task_id",
    "TaskStop": "task_id",
    "WebFetch": "url",
    "WebSearch": "query",
    "Agent": "description",
    "Task": "description",
    "Skill": "skill",
    "SendMessage": "to",
    "ToolSearch": "query",
    "PostTask": "title",
    "ClaimTask": "id",
    "UpdateTask": "id",
    "SendTeamMessage": "to",
}


def call_label(call: ToolCall, width: int = 80) -> str:
    """`Bash(pytest -q)`: the tool and its main argument on one line."""
    arg = call.arguments.get(PRIMARY_ARG.get(call.name, ""), "")
    if call.name == "TodoWrite":
        arg = f"{len(call.arguments.get('todos', []))} items"
    elif call.name in ("Agent", "Task") and call.arguments.get("subagent_type"):
        arg = f"{call.arguments['subagent_type']}: {arg}"
    arg = " ".join(str(arg).split())
    if len(arg) > width:
        arg = arg[: max(width - 1, 1)] + "…"
    return f"{call.name}({arg})"
