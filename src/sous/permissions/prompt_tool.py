"""`--permission-prompt-tool mcp__server__tool`: in a headless run, an MCP tool answers the
permission questions a person would (as in Claude Code).

The tool is called with `{"tool_name", "input", "tool_use_id"}`, as Claude Code calls it, and
`agent_id` when a sub-agent asks and the tool's input schema names that field (a schema that
allows no other fields would otherwise refuse the call, and with it every sub-agent's question).
It answers with JSON text:
`{"behavior": "allow", "updatedInput": {...}}` or `{"behavior": "deny", "message": "..."}`.
Anything else (no such tool, an error, text that is not that JSON) is a denial that says why:
fail closed.
"""

from __future__ import annotations

import json
from typing import Any

from sous.core import ToolCall, ToolContext

from . import Answer
from .decide import Decision


def prompt_tool_asker(tool_name: str, mcp: Any, ctx: ToolContext):
    """An `Asker` that puts each question to the MCP tool `tool_name` of the servers `mcp`
    (connected by the time anything is asked), run in the session's tool context `ctx`."""

    async def ask(call: ToolCall, decision: Decision) -> Answer:
        tool = next((t for t in (mcp.tools if mcp is not None else []) if t.name == tool_name), None)
        if tool is None:
            return Answer(allow=False, feedback=f"the permission prompt tool {tool_name} is not available")
        try:
            request = {"tool_name": call.name, "input": call.arguments, "tool_use_id": call.id}
            if decision.agent_id and "agent_id" in (getattr(tool, "input_schema", {}).get("properties") or {}):
                request["agent_id"] = decision.agent_id  # a sub-agent asks, and the tool wants to know
            result = await tool.run(request, ctx)
        except Exception as e:  # a broken prompt tool denies, it does not crash the run
            return Answer(allow=False, feedback=f"the permission prompt tool failed: {type(e).__name__}: {e}")
        text = (
            result.content
            if isinstance(result.content, str)
            else "".join(getattr(block, "text", "") for block in result.content)
        )
        return parse_reply(text, is_error=result.is_error)

    return ask


def parse_reply(text: str, *, is_error: bool = False) -> Answer:
    try:
        reply = json.loads(text)
    except ValueError:
        reply = None
    if is_error or not isinstance(reply, dict) or reply.get("behavior") not in ("allow", "deny"):
        return Answer(
            allow=False, feedback=f"the permission prompt tool gave no decision: {' '.join(text.split())[:200]}"
        )
    if reply["behavior"] == "deny":
        return Answer(allow=False, feedback=str(reply.get("message") or "denied by the permission prompt tool"))
    updated = reply.get("updatedInput")
    return Answer(allow=True, updated_input=updated if isinstance(updated, dict) else None)
