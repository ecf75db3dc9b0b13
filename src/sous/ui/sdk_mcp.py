"""`{"type": "sdk"}` MCP servers: tools that live in the driving program (the SDK's
`create_sdk_mcp_server`), reached by JSON-RPC carried in `mcp_message` control requests.

Their tools join the session as `mcp__server__tool`, under the same permission rules and hooks
as any MCP tool. A server that does not answer (within the reply timeout) or answers with an
error is reported on stderr and offers no tools; a call that fails is an error result the model
reads.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from sous.core import Text, ToolContext, ToolResult
from sous.records import field, record

from .control import Channel, ControlError

_ids = itertools.count(1)


def split_sdk_servers(configs: list[str]) -> tuple[list[str], list[str]]:
    """The `--mcp-config` values without their sdk servers, and the sdk servers' names. Only
    JSON strings are looked into (the SDK passes its servers that way); files are left whole."""
    kept: list[str] = []
    names: list[str] = []
    for value in configs:
        try:
            data = json.loads(value) if value.lstrip().startswith("{") else None
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(servers := data.get("mcpServers"), dict):
            kept.append(value)
            continue
        sdk = [n for n, s in servers.items() if isinstance(s, dict) and s.get("type") == "sdk"]
        names += sdk
        rest = {n: s for n, s in servers.items() if n not in sdk}
        if rest:
            kept.append(json.dumps({**data, "mcpServers": rest}))
    return kept, names


async def _rpc(
    channel: Channel, server: str, method: str, params: dict[str, Any] | None = None, *, notify: bool = False
) -> Any:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})}
    if not notify:
        message["id"] = next(_ids)
    reply = await channel.request({"subtype": "mcp_message", "server_name": server, "message": message})
    answer = reply.get("mcp_response") if isinstance(reply, dict) else None
    if notify:
        return None
    if not isinstance(answer, dict):
        raise ControlError(f"{method}: no mcp_response")
    if isinstance(answer.get("error"), dict):
        raise ControlError(f"{method}: {answer['error'].get('message') or answer['error']}")
    return answer.get("result")


@record(frozen=False, kw_only=False)
class SdkMcpTool:
    """One tool of a program's sdk server, as a sous Tool."""

    name: str
    description: str
    input_schema: dict[str, Any]
    server: str
    remote_name: str
    channel: Channel = field(repr=False)
    read_only: bool = False
    concurrent: bool = False

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            result = await _rpc(self.channel, self.server, "tools/call", {"name": self.remote_name, "arguments": args})
        except ControlError as e:
            return ToolResult(content=f"MCP tool {self.name} failed: {e}", is_error=True)
        if not isinstance(result, dict):
            return ToolResult(content=f"MCP tool {self.name} gave no result", is_error=True)
        texts = [
            Text(text=str(item.get("text", "")))
            if item.get("type") == "text"
            else Text(text=f"[{item.get('type')} content]")
            for item in result.get("content") or []
            if isinstance(item, dict)
        ]
        return ToolResult(
            content=tuple(texts) or "(no output)",
            is_error=bool(result.get("isError")),
            data=result.get("structuredContent"),
        )


async def connect(channel: Channel, server: str) -> list[SdkMcpTool]:
    """Initialize the program's server `server` and list its tools; raises `ControlError`."""
    from sous.mcp.client import tool_name

    await _rpc(
        channel,
        server,
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "sous", "version": "0"}},
    )
    await _rpc(channel, server, "notifications/initialized", notify=True)
    listed = await _rpc(channel, server, "tools/list", {})
    tools = []
    for spec in (listed or {}).get("tools") or []:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            continue
        annotations = spec.get("annotations") or {}
        tools.append(
            SdkMcpTool(
                name=tool_name(server, spec["name"]),
                description=str(spec.get("description") or ""),
                input_schema=spec.get("inputSchema") or {"type": "object"},
                server=server,
                remote_name=spec["name"],
                channel=channel,
                read_only=bool(annotations.get("readOnlyHint")),
            )
        )
    return tools
