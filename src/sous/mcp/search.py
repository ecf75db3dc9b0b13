"""ToolSearch: MCP tools kept out of the prompt until the model asks for them.

With many servers the tool schemas alone can fill the context. When they would take more than a
tenth of the model's window (`ENABLE_TOOL_SEARCH`: `auto` by default, `auto:N` for N percent,
`true` always, `false` never), the MCP tools are deferred: the model gets their names in the
ToolSearch description, and a search loads the matching tools so that they can be called from the
next turn on. `select:a,b` loads tools by exact name.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sous.core import ToolContext, ToolResult

MAX_NAMES_LISTED = 2_000


def should_defer(tools: Sequence[Any], context_window: int, setting: str | None) -> bool:
    setting = (setting or "auto").strip().lower()
    if setting in ("false", "0", "off"):
        return False
    if setting in ("true", "1", "on"):
        return bool(tools)
    percent = 10.0
    if setting.startswith("auto:"):
        with contextlib.suppress(ValueError):
            percent = float(setting[5:])
    return schema_tokens(tools) > context_window * percent / 100


def schema_tokens(tools: Sequence[Any]) -> int:
    """What the tools' definitions cost in the prompt (about four characters a token)."""
    return sum(len(t.name) + len(t.description) + len(json.dumps(t.input_schema)) for t in tools) // 4


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower().replace("__", " ")) if len(w) > 1}


def search(query: str, tools: Sequence[Any], limit: int) -> list[Any]:
    """Tools matching `query`: `select:a,b` by name, else by keywords, best first."""
    if query.startswith("select:"):
        wanted = [n.strip() for n in query[7:].split(",") if n.strip()]
        by_name = {t.name: t for t in tools}
        return [by_name[n] for n in wanted if n in by_name]
    terms = _words(query)
    scored = []
    for tool in tools:
        name_words, description_words = _words(tool.name), _words(tool.description)
        score = 0.0
        for term in terms:
            if term in name_words:
                score += 3
            elif any(w.startswith(term) or term.startswith(w) for w in name_words if len(w) > 2):
                score += 2
            if term in description_words:
                score += 1
        if query.strip().lower() in tool.name.lower():
            score += 5
        if score:
            scored.append((-score, tool.name, tool))
    return [tool for *_, tool in sorted(scored)[:limit]]


class ToolSearch:
    """The tool that finds and loads deferred MCP tools (`load` adds them to the agent's set)."""

    name = "ToolSearch"
    read_only = True
    concurrent = False

    def __init__(self, deferred: Mapping[str, Any], load: Callable[[list[Any]], None]):
        self.deferred = dict(deferred)
        self.load = load
        names = sorted(self.deferred)
        listed = "\n".join(names[:MAX_NAMES_LISTED])
        more = f"\n... and {len(names) - MAX_NAMES_LISTED} more" if len(names) > MAX_NAMES_LISTED else ""
        self.description = (
            "Finds and loads tools that are available but not yet loaded (MCP server tools, rarely used built-ins). "
            'Search by keywords ("weather forecast", "create issue") or load by exact name with '
            '"select:name1,name2". The tools found are loaded and can be called from your next reply on; a '
            f"deferred tool cannot be called before it is loaded.\n\nDeferred tools:\n{listed}{more}"
        )
        self.input_schema = {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Keywords, or select:<name>[,<name>...]"},
                "max_results": {"type": "integer", "description": "At most this many tools (default 5)"},
            },
            "required": ["query"],
        }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        query = str(args.get("query") or "").strip()
        limit = max(1, min(int(args.get("max_results") or 5), 50))
        found = search(query, list(self.deferred.values()), limit)
        if not found:
            return ToolResult(
                content=f"No deferred tool matches {query!r}. Try other keywords, or select:<name> "
                "with a name from the list in this tool's description."
            )
        self.load(found)
        lines = [f"Loaded {len(found)} tool(s); call them from your next reply:"]
        lines += [
            f"- {t.name}: {' '.join(t.description.split())[:300]}\n  input schema: {json.dumps(t.input_schema)}"
            for t in found
        ]
        return ToolResult(content="\n".join(lines), data={"matches": [t.name for t in found], "query": query})
