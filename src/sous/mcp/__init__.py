"""MCP: servers from `.mcp.json` and Claude Code's files, their tools offered as `mcp__server__tool`.

Nothing here is imported unless a server is configured; the SDK itself only when connecting.
"""

from .config import McpConfig, ServerSpec, load

__all__ = ["McpConfig", "ServerSpec", "load"]
