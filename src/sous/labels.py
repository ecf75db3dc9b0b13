"""One-line labels for tool calls (`Bash(pytest -q)`), shared by the terminal and the sub-agent view."""

from __future__ import annotations

import json

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


# Text from the model is printed to a terminal: control characters (an escape sequence, a carriage
# return) and bidirectional overrides in it would act on the screen (erase the question, fake a
# line of it) instead of being read. They are shown as "\ufffd"; a line break as "⏎".
_ACTING = [*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_SHOWN = {**dict.fromkeys(_ACTING, "\ufffd"), ord("\n"): "⏎", ord("\t"): " "}


def printable(text: object) -> str:
    """`text` on one line with nothing a terminal would act on (see `_SHOWN`)."""
    return str(text).translate(_SHOWN)


def _main_argument(call: ToolCall) -> str:
    arg = call.arguments.get(PRIMARY_ARG.get(call.name, ""), "")
    if call.name == "TodoWrite":
        arg = f"{len(call.arguments.get('todos', []))} items"
    elif call.name in ("Agent", "Task") and call.arguments.get("subagent_type"):
        arg = f"{call.arguments['subagent_type']}: {arg}"
    return str(arg)


def call_label(call: ToolCall, width: int = 80) -> str:
    """`Bash(pytest -q)`: the tool and its main argument on one line, cut at `width`."""
    arg = " ".join(_main_argument(call).split())
    if len(arg) > width:
        arg = arg[: max(width - 1, 1)] + "…"
    return printable(f"{call.name}({arg})")


def asked_label(call: ToolCall) -> str:
    """The call as a permission question shows it: its whole main argument, never cut (the answer
    allows all of it), its line breaks shown as such (a newline in a command starts another one);
    a tool with no main argument (an MCP tool's) shows all of its arguments."""
    if call.name not in PRIMARY_ARG and call.arguments:
        return printable(f"{call.name}({json.dumps(call.arguments, ensure_ascii=False, default=repr)})")
    return printable(f"{call.name}({_main_argument(call)})")
