"""SessionSearch: find facts in this project's past sessions.

A rarely needed tool, so it is deferred behind ToolSearch: the prompt carries only its name
(a few tokens) until the model loads it. It reads the project's own session folder through
`sous.store.recall` and nothing else; the folder is the one the session's transcript is
written to (`state["sessions_folder"]`), so neither the project's settings nor the model's
arguments can point it at another project's sessions.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sous.core import ToolContext, ToolResult

from .offered import SESSION_SEARCH

MAX_RESULTS = 25


def _folder(ctx: ToolContext) -> Path:
    folder = ctx.state.get("sessions_folder")
    if isinstance(folder, Path):
        return folder
    from sous.paths import sessions_dir

    return sessions_dir(ctx.project_dir, ctx.environ)


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from sous.store import recall

    query = str(args.get("query") or "").strip()[:500]
    if not recall.terms(query):
        return ToolResult(content="query is empty: give the words to look for", is_error=True)
    try:
        limit = max(1, min(int(args.get("max_results") or 10), MAX_RESULTS))
    except (TypeError, ValueError):
        limit = 10
    current = ctx.state.get("session_id")
    exclude = [current()] if callable(current) else []
    found = await asyncio.to_thread(
        recall.search,
        _folder(ctx),
        query,
        exclude=exclude,
        session_id=str(args.get("session_id") or "").strip(),
        max_results=limit,
    )
    if not found.hits:
        searched = found.sessions_searched
        return ToolResult(
            content=f"No past session of this project mentions {query!r} "
            f"({searched} session{'s' * (searched != 1)} searched).",
            data={"matches": [], "sessions_searched": searched},
        )
    head = (
        f"{len(found.hits)} message(s) from past sessions of this project hold every word of {query!r}:"
        if found.complete
        else f"No past message holds every word of {query!r}; these hold some of them:"
    )
    lines = [head]
    for hit in found.hits:
        who = f"{hit.role} ({hit.tool})" if hit.tool else hit.role
        lines.append(f"\n[session {hit.session_id} · {hit.date} · {who}]\n{hit.excerpt}")
    lines.append("\n(Search one session with session_id; the user can resume one with `sous -r ID`.)")
    return ToolResult(
        content="\n".join(lines),
        data={
            "matches": [
                {"session_id": h.session_id, "date": h.date, "role": h.role, "excerpt": h.excerpt} for h in found.hits
            ],
            "sessions_searched": found.sessions_searched,
        },
    )


TOOL = SESSION_SEARCH  # the prompt's side of the tool, in `offered`: this module is imported by its first call
