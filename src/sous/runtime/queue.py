"""One queue for every agent's permission questions.

Sub-agents work side by side, and several may ask the same thing at once. The queue stands in
front of whoever answers (the person through a front end, `--permission-prompt-tool`): a question
that another agent is already waiting on joins it instead of being asked again, and the one
answer reaches every asker. Each asker's own permission layer then applies it, so a grant
answered per agent is kept per agent, and a deny rule is never passed by it (deny rules decide
before anything is asked). Calls that need no answer never wait here: only askers do.

Questions are the same when they ask for the same tool with the same input, for the same reason,
in the same folder. Bash's `description` says why, not what, so it is left out of the comparison
and shown as the asker's reason instead. The safety floor's typed confirmations, plans, and
calls that leave the sandbox are never merged: each is asked on its own, every time. A front end
may answer a merged question with `EACH`: every agent waiting on it is then asked on its own.
An answerer that is told which agent asks (a program, a prompt tool: `per_agent`) may answer each
agent differently, and sees only the first asker: there, only one agent's identical calls merge.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sous.core import ToolCall
from sous.records import field, record

Ask = Callable[[ToolCall, Any], Awaitable[Any]]
UNMERGED_CONFIRMS = ("typed", "plan")
UNMERGED_SOURCES = ("safety", "sandbox")
LABEL_ONLY_FIELDS = {"Bash": ("description",)}
"""Input fields that only say why (they change nothing the call does)."""


class _Each:
    def __repr__(self) -> str:
        return "EACH"


EACH = _Each()
"""An answer to a question several agents wait on: ask each of them on its own instead."""


@record
class Asking:
    """One agent waiting on a question."""

    agent: str
    """Who asks: "type: task" for a sub-agent, empty for the main agent."""
    agent_id: str
    why: str
    """The call's own description, when it has one."""
    call_id: str


@record(frozen=False, kw_only=False)
class _Group:
    key: str | None
    answer: asyncio.Future[Any]
    """The question put to whoever answers, once for everyone in `askers`."""
    askers: list[Asking] = field(default_factory=list)


def request_key(call: ToolCall, detail: Any, *, per_agent: bool = False) -> str | None:
    """What makes two questions the same one, or None for a question never merged; with
    `per_agent`, the asking agent too."""
    if getattr(detail, "confirm", "") in UNMERGED_CONFIRMS or getattr(detail, "source", "") in UNMERGED_SOURCES:
        return None
    skip = LABEL_ONLY_FIELDS.get(call.name, ())
    arguments = {k: v for k, v in call.arguments.items() if k not in skip}
    what = [call.name, arguments, getattr(detail, "source", ""), getattr(detail, "cwd", "")]
    if per_agent:
        what.append(str(getattr(detail, "agent_id", "") or ""))
    text = json.dumps(what, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()  # a Write's content may be large


def asking(call: ToolCall, detail: Any) -> Asking:
    why = call.arguments.get("description")
    return Asking(
        agent=str(getattr(detail, "agent", "") or ""),
        agent_id=str(getattr(detail, "agent_id", "") or ""),
        why=why.strip() if isinstance(why, str) else "",
        call_id=call.id,
    )


class PermissionQueue:
    """The session's asker: merges identical questions waiting at the same time (see above)."""

    def __init__(self, ask: Ask, *, per_agent: bool = False):
        self._ask = ask
        self._per_agent = per_agent
        self._open: dict[str, _Group] = {}
        self._by_call: dict[tuple[str, str], _Group] = {}
        """By who asks and with which call: two agents' calls may carry the same id (`call_0`)."""

    async def ask(self, call: ToolCall, detail: Any, *, merge: bool = True) -> Any:
        """Ask, or wait on the same question already asked. One asker giving up (its run was
        stopped) leaves the question to the others; the last one withdraws it."""
        key = request_key(call, detail, per_agent=self._per_agent) if merge else None
        group = self._open.get(key) if key is not None else None
        if group is None or group.answer.done():
            group = _Group(key, asyncio.ensure_future(self._ask(call, detail)))
            if key is not None:
                self._open[key] = group
            group.answer.add_done_callback(functools.partial(self._close, group))
        me = asking(call, detail)
        mine = (me.agent_id, call.id)
        group.askers.append(me)
        self._by_call[mine] = group
        try:
            answer = await asyncio.shield(group.answer)
        except asyncio.CancelledError:
            group.askers.remove(me)
            if self._by_call.get(mine) is group and all((a.agent_id, a.call_id) != mine for a in group.askers):
                del self._by_call[mine]
            if not group.askers:
                group.answer.cancel()
            raise
        return await self.ask(call, detail, merge=False) if answer is EACH else answer

    def _close(self, group: _Group, _answered: object = None) -> None:
        if group.key is not None and self._open.get(group.key) is group:
            del self._open[group.key]
        for one in group.askers:
            if self._by_call.get((one.agent_id, one.call_id)) is group:
                del self._by_call[(one.agent_id, one.call_id)]

    def askers(self, call_id: str, agent_id: str = "") -> list[Asking]:
        """Everyone waiting on the question that the call `call_id` of the agent `agent_id` (empty
        for the main agent) asked or joined, first asker first; empty when it is no longer waiting."""
        group = self._by_call.get((agent_id, call_id))
        return list(group.askers) if group is not None else []


__all__ = ["EACH", "Asking", "PermissionQueue", "request_key"]
