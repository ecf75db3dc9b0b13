"""The tools a team member gets: the board (tasks) and the mailboxes, nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

from sous.core import ToolContext, ToolResult
from sous.tools._base import BuiltinTool, builtin

from .board import Board, BoardError

NAMES = ("TeamBoard", "PostTask", "ClaimTask", "UpdateTask", "SendTeamMessage", "WaitForMessages")


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def team_tools(board: Board, me: str, members: list[str], stop: asyncio.Event) -> list[BuiltinTool]:
    def guarded(fn):
        async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
            try:
                return ToolResult(content=fn(args))
            except BoardError as e:
                return ToolResult(content=str(e), is_error=True)

        return run

    def show(args: dict[str, Any]) -> str:
        unread = board.unread(me)
        return board.render() + (
            f"\n\nYou have {unread} unread message(s): WaitForMessages reads them." if unread else ""
        )

    def post(args: dict[str, Any]) -> str:
        owner = args.get("owner") or None
        if owner is not None and owner not in members:
            raise BoardError(f"no member {owner!r}; members: {', '.join(members)}")
        task = board.post(me, str(args["title"]), str(args.get("description") or ""), owner)
        return f"Posted task #{task['id']}" + (f" for {owner}" if owner else " (open: anyone may claim it)")

    def claim(args: dict[str, Any]) -> str:
        task = board.claim(me, int(args["id"]))
        return f"Task #{task['id']} is yours: {task['title']}\n{task['description']}".strip()

    def update(args: dict[str, Any]) -> str:
        task = board.update(me, int(args["id"]), str(args["state"]), str(args.get("note") or ""))
        return f"Task #{task['id']} is now {task['state']}."

    def send(args: dict[str, Any]) -> str:
        to = str(args["to"])
        targets = [m for m in members if m != me] if to == "all" else [to]
        if any(t not in (*members, "user") for t in targets):
            raise BoardError(f"no member {to!r}; send to one of {', '.join(members)}, all or user")
        for target in targets:
            board.send(me, target, str(args["text"]))
        return f"Sent to {to}."

    async def wait(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        timeout = min(max(float(args.get("timeout_s") or 60), 1), 600)
        await board.wait_for_mail(me, timeout, stop)
        mail = board.take_mail(me)
        if not mail:
            return ToolResult(content=f"No messages in {timeout:g}s. The board:\n{board.render()}")
        return ToolResult(content="\n".join(f"From {m['from']}: {m['text']}" for m in mail))

    return [
        builtin(
            "TeamBoard",
            _object({}, []),
            guarded(show),
            read_only=True,
            description="Shows the team's task list (id, state, owner, title) and how many messages wait for you.",
        ),
        builtin(
            "PostTask",
            _object(
                {
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "owner": {"type": "string", "description": "A member to give it to (optional)"},
                },
                ["title"],
            ),
            guarded(post),
            description="Posts a task on the board, open to anyone or given to one member.",
        ),
        builtin(
            "ClaimTask",
            _object({"id": {"type": "integer"}}, ["id"]),
            guarded(claim),
            description="Claims an open task: it becomes yours to do.",
        ),
        builtin(
            "UpdateTask",
            _object(
                {
                    "id": {"type": "integer"},
                    "state": {"type": "string", "enum": list(("open", "claimed", "done", "blocked"))},
                    "note": {"type": "string"},
                },
                ["id", "state"],
            ),
            guarded(update),
            description="Marks one of your tasks done or blocked (with a note), or gives it back (open).",
        ),
        builtin(
            "SendTeamMessage",
            _object(
                {"to": {"type": "string", "description": "A member, all, or user"}, "text": {"type": "string"}},
                ["to", "text"],
            ),
            guarded(send),
            description="Sends a message to a member's mailbox (or to all members, or to the user watching).",
        ),
        builtin(
            "WaitForMessages",
            _object({"timeout_s": {"type": "number", "description": "Default 60"}}, []),
            wait,
            description="Waits until a message arrives for you (or the timeout), and returns the new messages.",
        ),
    ]
