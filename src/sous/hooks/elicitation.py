"""Elicitation and ElicitationResult: hooks that answer an MCP server's request for input.

An MCP server may ask its client for input in the middle of a call (a form to fill, or an address
to visit). sous lets hooks answer, as Claude Code does: Elicitation gets `mcp_server_name`,
`message`, `mode`, `url`, `elicitation_id` and `requested_schema` (its matcher: the server's
name) and answers with `hookSpecificOutput.action` (accept, decline, cancel) and `content`; exit 2
or a decline declines. When no hook answers, sous declines and says so in one line: it does not
ask in the terminal. ElicitationResult then sees the answer (`action`, `content`, `mode`,
`elicitation_id`) and may replace it; exit 2 turns it into a decline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import HookMiddleware

Answer = tuple[str, dict[str, Any] | None]
"""The action (accept, decline, cancel) and, for accept, the content sent back to the server."""


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that have a value (Claude Code leaves out what a request does not carry)."""
    return {key: value for key, value in fields.items() if value is not None}


def _usable(answer: dict[str, Any]) -> Answer | None:
    """A hook's answer as one the server can take; None when an accept carries no content object."""
    content = answer.get("content")
    if answer["action"] != "accept":
        return answer["action"], None
    if content is None and answer.get("mode") == "url":
        return "accept", None
    return ("accept", content) if isinstance(content, dict) else None


async def answer(hooks: HookMiddleware, server: str, request: dict[str, Any]) -> Answer:
    """What to tell `server`, which asked for input (`request`: `message`, `mode`, `url`,
    `elicitation_id`, `requested_schema`). Never raises for a hook's failure: it declines."""
    mode = request.get("mode") or "form"
    fields = _given(
        mcp_server_name=server,
        message=str(request.get("message") or ""),
        mode=mode,
        url=request.get("url"),
        elicitation_id=request.get("elicitation_id"),
        requested_schema=request.get("requested_schema"),
    )
    asked = f"MCP server {server!r} asked for input ({' '.join(fields['message'].split())[:200]})"
    verdict = await hooks.fire("Elicitation", server, fields)
    if verdict.block is not None:
        hooks.notify(f"{asked}; an Elicitation hook declined: {verdict.block}")
        action, content = "decline", None
    elif verdict.elicitation is not None and (given := _usable({**verdict.elicitation, "mode": mode})) is not None:
        action, content = given
    else:
        why = "accepted without a content object" if verdict.elicitation else "no Elicitation hook answered"
        hooks.notify(f"{asked}; {why}, so sous declined (sous does not ask in the terminal)")
        action, content = "decline", None
    result = _given(
        mcp_server_name=server, elicitation_id=request.get("elicitation_id"), mode=mode, action=action, content=content
    )
    verdict = await hooks.fire("ElicitationResult", server, result)
    if verdict.block is not None:
        if action != "decline":
            hooks.notify(f"{asked}; an ElicitationResult hook declined the answer: {verdict.block}")
        return "decline", None
    if verdict.elicitation is not None and (given := _usable({**verdict.elicitation, "mode": mode})) is not None:
        return given
    return action, content
