"""Opening the SDK transport for one server entry: stdio, SSE or streamable HTTP.

HTTP and SSE servers get OAuth (`sous.mcp.oauth`) unless the entry sets its own `Authorization`
header: then that header is the server's credential and sous adds none.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from .config import ServerSpec


def quiet_sdk_logs() -> None:
    """The SDK logs failures with tracebacks (`logger.exception`); with no handler of its own,
    Python's last-resort handler would print them on stderr. sous reports each failure as one
    line instead, so the SDK's records go nowhere."""
    logger = logging.getLogger("mcp")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def wants_oauth(spec: ServerSpec) -> bool:
    return spec.type in ("http", "sse") and not any(k.lower() == "authorization" for k, _ in spec.headers)


async def open_transport(
    spec: ServerSpec, stack: contextlib.AsyncExitStack, *, project_dir: str, auth: Any = None
) -> tuple[Any, Any]:
    """The (read, write) streams of a connection to `spec`, closed with `stack`. `auth` is an
    `httpx2.Auth` (the OAuth provider) for HTTP and SSE servers."""
    quiet_sdk_logs()
    if spec.type == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        env = {**os.environ, **dict(spec.env), "CLAUDE_PROJECT_DIR": project_dir, "SOUS_PROJECT_DIR": project_dir}
        transport: Any = stdio_client(
            StdioServerParameters(command=spec.command, args=list(spec.args), env=env, cwd=project_dir)
        )
    elif spec.type == "sse":
        from mcp.client.sse import sse_client

        transport = sse_client(spec.url, headers=dict(spec.headers), auth=auth)
    else:
        from mcp.client import streamable_http

        if hasattr(streamable_http, "streamable_http_client"):  # SDK 2.x
            client = streamable_http.create_mcp_http_client(headers=dict(spec.headers), auth=auth)
            await stack.enter_async_context(client)
            transport = streamable_http.streamable_http_client(spec.url, http_client=client)
        else:  # SDK 1.x, whose name the type checker, reading the installed 2.x, cannot see
            transport = streamable_http.streamablehttp_client(  # type: ignore[attr-defined, unused-ignore]
                spec.url, headers=dict(spec.headers), auth=auth
            )
    streams = await stack.enter_async_context(transport)
    return streams[0], streams[1]
