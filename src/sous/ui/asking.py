"""How the terminal shows who waits on a permission question: the agents that ask (others asking
the same at the same time join the question, see `sous.runtime.queue`), each with what its call
says it is for, and a line for each agent that joins while the question is open."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sous.labels import printable


def extra_choices(askers: Sequence[Any], decision: Any) -> str:
    """After the usual choices: `*` when a sub-agent asks (a kept grant then covers every agent,
    not only the askers), `e` when several wait on the question (each is asked on its own)."""
    extra = "  [*] grants for every agent" if getattr(decision, "agent", "") else ""
    return extra + ("  [e] ask each agent on its own" if len(askers) > 1 else "")


FOLLOW_EVERY_S = 0.2


def name(asker: Any) -> str:
    return f"agent {printable(asker.agent)}" if asker.agent else "the main agent"


def who(askers: Sequence[Any], decision: Any) -> str:
    """The end of the question's first line: who asks."""
    if len(askers) > 1:
        return f"  (asked by {len(askers)} agents)"
    agent = getattr(decision, "agent", "")
    return f"  (asked by agent {printable(agent)})" if agent else ""


def asker_lines(askers: Sequence[Any]) -> list[str]:
    """One line per asker when several wait on the question; the call's own reason for one."""
    if len(askers) == 1:
        return [f"  what for: {printable(askers[0].why)}"] if askers[0].why else []
    if len(askers) > 1:
        return [f"    · {name(a)}" + (f" — {printable(a.why)}" if a.why else "") for a in askers]
    return []


def joined_line(asker: Any) -> str:
    why = f" — {printable(asker.why)}" if asker.why else ""
    return f"  + also asked by {name(asker)}{why}; this answer is theirs too ([e] asks each on its own)"


def for_all_note(on: bool) -> str:
    if on:
        return "  (a grant from this answer will cover every agent; press * again to keep it to the askers)"
    return "  (a grant from this answer will cover only the agents that asked)"


async def follow(
    session: Any, call_id: str, shown: Sequence[Any], joined: Callable[[Any], None], agent_id: str = ""
) -> None:
    """Call `joined` for each agent that joins the question after it was shown, until it is answered."""
    seen = set(shown)  # by who asks and with which call: two agents' calls may carry the same id
    while True:
        await asyncio.sleep(FOLLOW_EVERY_S)
        askers = session.askers(call_id, agent_id)
        if not askers:
            return
        for asker in askers:
            if asker not in seen:
                seen.add(asker)
                joined(asker)


async def answer_or_no(asked: Awaitable[Any], say: Callable[[str], None]) -> Any:
    """The front end's answer to a question, or a no when asking it failed: every agent waiting on
    a question must get an answer (or it waits forever), and one that could not be asked allows
    nothing. `say` tells the person why."""
    from sous.permissions import Answer

    try:
        return await asked
    except Exception as e:  # any failure of the front end: fail closed, never leave the askers waiting
        problem = f"the permission question could not be asked ({type(e).__name__}: {e})"
        say(f"  {problem}; the call is refused")
        return Answer(allow=False, feedback=f"{problem}. The call was not run.")
