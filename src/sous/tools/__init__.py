"""Built-in tools: Claude Code's names and input fields, one module each.

`BUILTINS` maps each tool name to the `module:attribute` holding it; a tool module is imported
only when a tool set that includes it is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from sous.core import Tool, ToolSet

from ._base import BuiltinTool, builtin
from .schema import validate

BUILTINS: dict[str, str] = {
    "Bash": "sous.tools.bash:TOOL",
    "Read": "sous.tools.offered:READ",
    "Write": "sous.tools.offered:WRITE",
    "Edit": "sous.tools.offered:EDIT",
    "MultiEdit": "sous.tools.offered:MULTI_EDIT",
    "Glob": "sous.tools.offered:GLOB",
    "Grep": "sous.tools.offered:GREP",
    "TodoWrite": "sous.tools.offered:TODO_WRITE",
    "TaskOutput": "sous.tools.bash:TASK_OUTPUT",
    "TaskStop": "sous.tools.bash:TASK_STOP",
    "ExitPlanMode": "sous.tools.plan:TOOL",
    "WebFetch": "sous.tools.offered:WEB_FETCH",
    "WebSearch": "sous.tools.offered:WEB_SEARCH",
    "NotebookEdit": "sous.tools.offered:NOTEBOOK_EDIT",
    "Screenshot": "sous.tools.offered:SCREENSHOT",
    "SessionSearch": "sous.tools.offered:SESSION_SEARCH",
}
"""Every built-in tool by name. MultiEdit is accepted for old transcripts and hooks but not
offered to the model by default; ExitPlanMode is offered only in plan mode. Most are described
in `offered`, and their modules imported by their first call."""

DEFAULT_TOOLS = ("Bash", "Read", "Write", "Edit", "Glob", "Grep", "TodoWrite", "TaskOutput", "TaskStop", "WebFetch")

DEFERRED_TOOLS = ("WebSearch", "NotebookEdit", "Screenshot", "SessionSearch")
"""Also in the default set, but kept out of the prompt until ToolSearch loads them (unless
`ENABLE_TOOL_SEARCH=false`): they are rarely needed, and their schemas would push the system
prompt plus tool schemas past 4,000 tokens."""

ALIASES = {"BashOutput": "TaskOutput", "KillShell": "TaskStop", "KillBash": "TaskStop"}


def load(name: str) -> Tool:
    module, _, attr = BUILTINS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def unavailable(name: str, *, model_name: str, settings: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """Why the tool cannot work in this session (one line naming the fix, for /status), or None.
    A tool that cannot work is not offered rather than failing when called."""
    if name == "Screenshot":
        from .offered import screenshot_unavailable

        return screenshot_unavailable(environ)
    if name == "WebSearch":
        from .offered import web_search_unavailable

        return web_search_unavailable(model_name, settings.get("webSearch"))
    return None


def toolset(names: Iterable[str] = DEFAULT_TOOLS) -> ToolSet:
    """A tool set of the named built-ins, in the given order, with the legacy aliases and the
    validation of arguments against each tool's schema (which tools added later share)."""
    return ToolSet((load(n) for n in names), aliases=ALIASES | {"MultiEdit": "MultiEdit"}, validate=validate)


__all__ = [
    "ALIASES",
    "BUILTINS",
    "DEFAULT_TOOLS",
    "DEFERRED_TOOLS",
    "BuiltinTool",
    "builtin",
    "load",
    "toolset",
    "unavailable",
]
