"""MCP: servers from `.mcp.json` and Claude Code's files, their tools offered as `mcp__server__tool`.

Nothing here is imported unless a server is configured (`sources` tells, reading the files);
the SDK itself only when connecting. ToolSearch (`search`) is imported alone, for the built-in
tools it keeps out of the prompt. The names below are re-exported lazily for that reason.
"""

from __future__ import annotations

from typing import Any

__all__ = ["McpConfig", "ServerSpec", "load"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import config

        return getattr(config, name)
    raise AttributeError(f"module 'sous.mcp' has no attribute {name!r}")
