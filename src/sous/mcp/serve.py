"""`sous mcp serve`: sous's own tools (Bash, Read, Write, Edit, Glob, Grep...) as an MCP server on
stdio, for other MCP clients.

The tools belong to a session built by the one builder for the folder it was started in, and every
call goes through the same checks as the model's calls in that folder: argument validation (again
after a hook rewrites them), PreToolUse/PostToolUse hooks, the permission rules (settings layers and
`--allowedTools`/`--disallowedTools`/`--permission-mode`) and, with `sandbox.enabled`, the Bash
sandbox. What would ask is refused, since nobody can be asked here (the client is expected to
confirm with its user before calling); a tool that fails returns an error result. Works with the
SDK's 1.x and 2.x server APIs.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from typing import Any

from sous.core import Image, ProviderError, Text


class ToolsOnly:
    """The model of a served session: there is none, since the client is the one thinking."""

    name = "none:tools-only"

    async def complete(self, request: Any, emit: Any, cancel: Any) -> Any:
        raise ProviderError("sous mcp serve runs tools only; it has no model")


def open_toolbox(cwd: str, environ: Any, allowed: list[str], disallowed: list[str], mode: str | None) -> Any:
    """The session whose tools are served: built by the one builder, so the folder's settings,
    rules, hooks and sandbox apply as in any other session. Nothing is written to disk."""
    from sous.runtime import Options, open_session
    from sous.tools import DEFAULT_TOOLS

    return open_session(
        Options(
            cwd=cwd,
            environ=environ,
            model=ToolsOnly(),
            allowed_tools=allowed,
            disallowed_tools=disallowed,
            permission_mode=mode,
            tools=list(DEFAULT_TOOLS),
            strict_mcp_config=True,
            persist=False,
        )
    )


async def call(session: Any, name: str, arguments: dict[str, Any]) -> tuple[list[Any], bool]:
    """Run one call as sous would (validation, hooks, permissions, the sandbox): (content blocks, is_error)."""
    result = await session.call_tool(name, arguments or {})
    return list(result.content) or [Text(text="")], result.is_error


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
    session = open_toolbox(os.getcwd(), os.environ, args.allowedTools, args.disallowedTools, args.permission_mode)
    for notice in session.notices:
        print(f"sous mcp serve: {notice.level}: {notice.text}", file=sys.stderr)

    # Built from wire-named fields, which SDK 1.x takes as field names and 2.x as aliases.
    def listing() -> list[Any]:
        return [
            types.Tool.model_validate({"name": t.name, "description": t.description, "inputSchema": t.input_schema})
            for t in session.tools
        ]

    async def run_call(name: str, arguments: dict[str, Any]) -> Any:
        content, is_error = await call(session, name, arguments)
        blocks = [
            {"type": "image", "data": b.data, "mimeType": b.media_type}
            if isinstance(b, Image)
            else {"type": "text", "text": b.text}
            for b in content
        ]
        return types.CallToolResult.model_validate({"content": blocks, "isError": is_error})

    if "on_list_tools" in inspect.signature(Server.__init__).parameters:  # SDK 2.x: handlers given up front

        async def on_list_tools(context, params):
            return types.ListToolsResult(tools=listing())

        async def on_call_tool(context, params):
            return await run_call(params.name, params.arguments or {})

        server = Server("sous", version=__version__, on_list_tools=on_list_tools, on_call_tool=on_call_tool)
    else:  # SDK 1.x: decorators
        server = Server("sous", version=__version__)

        @server.list_tools()  # type: ignore[attr-defined, unused-ignore]  # 1.x only; 2.x is installed
        async def list_tools():
            return listing()

        @server.call_tool()  # type: ignore[attr-defined, unused-ignore]  # 1.x only; 2.x is installed
        async def call_tool(name, arguments):
            result = await run_call(name, arguments or {})
            if result.isError:
                raise RuntimeError(" ".join(getattr(b, "text", "") for b in result.content))
            return result.content

    await session.start()
    try:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        await session.end("other")
        session.close()
    return 0


def main(argv: list[str]) -> int:
    try:
        return asyncio.run(serve(argv))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        print("sous mcp serve: the client went away", file=sys.stderr)
        return 0
