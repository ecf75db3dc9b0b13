"""`sous mcp serve`: sous's own tools (Bash, Read, Write, Edit, Glob, Grep...) as an MCP server on
stdio, for other MCP clients.

Every call goes through sous's permission rules for the folder it was started in (settings layers
and `--allowedTools`/`--disallowedTools`/`--permission-mode`): what the rules allow runs, what they
deny is refused, and what would ask is refused too, since nobody can be asked here (the client is
expected to confirm with its user before calling). Works with the SDK's 1.x and 2.x server APIs.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from typing import Any

from sous.core import Deny, Image, Rewrite, ToolCall, ToolContext, new_id


def _toolbox(cwd: str, environ, allowed: list[str], disallowed: list[str], mode: str | None):
    from sous import settings as settings_mod
    from sous import tools as builtin_tools
    from sous.permissions import PermissionMiddleware, Rules, parse
    from sous.permissions.rules import read_denied

    cfg = settings_mod.load(cwd, None, environ=environ, check_rule=parse)
    cfg.require_valid()
    rules = Rules.from_lists(allow=[*cfg.get("permissions.allow", []), *allowed], ask=cfg.get("permissions.ask", []),
                             deny=[*cfg.get("permissions.deny", []), *disallowed])
    tools = builtin_tools.toolset(n for n in builtin_tools.DEFAULT_TOOLS if n not in rules.denied_tools())
    permissions = PermissionMiddleware(rules, mode or cfg.get("permissions.defaultMode") or "default",
                                       read_only_tools={t.name for t in tools if t.read_only})
    ctx = ToolContext(cwd=cwd, project_dir=cwd, environ=dict(environ))
    if (denied := read_denied(rules.deny, cwd)) is not None:  # Glob and Grep leave these files out
        ctx.state["read_denied"] = denied
    return tools, permissions, ctx


async def call(tools, permissions, ctx: ToolContext, name: str, arguments: dict[str, Any]) -> tuple[list[Any], bool]:
    """Run one call as sous would: (content blocks, is_error)."""
    from sous.core import Text

    call_ = ToolCall(id=new_id(), name=name, arguments=arguments or {})
    if problem := tools.check(call_):
        return [Text(text=problem)], True
    decision = await permissions.before_tool(call_, ctx)
    if isinstance(decision, Deny):
        return [Text(text=decision.reason)], True
    if isinstance(decision, Rewrite):
        call_ = ToolCall(id=call_.id, name=name, arguments=decision.arguments)
    result = await tools.get(name).run(call_.arguments, ctx)
    content = [Text(text=result.content)] if isinstance(result.content, str) else list(result.content)
    return content, result.is_error


async def serve(argv: list[str]) -> int:
    import argparse

    import mcp.types as types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    from sous import __version__

    parser = argparse.ArgumentParser(prog="sous mcp serve")
    parser.add_argument("--allowedTools", nargs="+", action="extend", default=[])
    parser.add_argument("--disallowedTools", nargs="+", action="extend", default=[])
    parser.add_argument("--permission-mode")
    args = parser.parse_args(argv)
    tools, permissions, ctx = _toolbox(os.getcwd(), os.environ, args.allowedTools, args.disallowedTools,
                                       args.permission_mode)

    def listing() -> list[Any]:
        return [types.Tool(name=t.name, description=t.description, inputSchema=t.input_schema) for t in tools]

    async def run_call(name: str, arguments: dict[str, Any]) -> Any:
        content, is_error = await call(tools, permissions, ctx, name, arguments)
        blocks = [types.ImageContent(type="image", data=b.data, mimeType=b.media_type) if isinstance(b, Image)
                  else types.TextContent(type="text", text=b.text) for b in content]
        return types.CallToolResult(content=blocks, isError=is_error)

    if "on_list_tools" in inspect.signature(Server.__init__).parameters:  # SDK 2.x: handlers given up front
        async def on_list_tools(context, params):
            return types.ListToolsResult(tools=listing())

        async def on_call_tool(context, params):
            return await run_call(params.name, params.arguments or {})

        server = Server("sous", version=__version__, on_list_tools=on_list_tools, on_call_tool=on_call_tool)
    else:  # SDK 1.x: decorators
        server = Server("sous", version=__version__)

        @server.list_tools()
        async def list_tools():
            return listing()

        @server.call_tool()
        async def call_tool(name, arguments):
            result = await run_call(name, arguments or {})
            if result.isError:
                raise RuntimeError(" ".join(getattr(b, "text", "") for b in result.content))
            return result.content

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
    return 0


def main(argv: list[str]) -> int:
    try:
        return asyncio.run(serve(argv))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        print("sous mcp serve: the client went away", file=sys.stderr)
        return 0
