"""WebSearch: search the web and return the results with their links.

Two backends, chosen when the session is built (`unavailable` says why neither fits, and then
the tool is not offered at all):

- the Anthropic provider: the Messages API's server-side search tool (`web_search_20250305`),
  called in a side request to the small fast model (`_side_model`, Haiku) with
  `allowed_domains` / `blocked_domains` passed to the API. The adapter keeps the response's
  `server_tool_use` and `web_search_tool_result` blocks in `provider_data["server_blocks"]`; the
  result shows the queries run, each hit's title and URL, and the model's summary.
- a SearXNG instance, from settings: `"webSearch": {"searxng": "http://localhost:8888"}` (the
  instance must have the JSON format enabled). The domain lists filter its results here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sous.core import ModelRequest, ProviderError, ToolContext, ToolResult, user

from .offered import NOT_CONFIGURED, WEB_SEARCH
from .offered import web_search_backend as backend

MAX_RESULTS = 10
MAX_USES = 5
MAX_PER_SESSION = 200
"""As Claude Code: a runaway loop of searches stops here."""
TIMEOUT = 20.0
SERVER_TOOL = "web_search_20250305"


def domain_matches(host: str, domains: list[str]) -> bool:
    host = host.lower().removeprefix("www.")
    return any(host == d or host.endswith("." + d) for d in (d.lower().removeprefix("www.") for d in domains))


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    query = args["query"].strip()
    allowed, blocked = args.get("allowed_domains") or [], args.get("blocked_domains") or []
    if allowed and blocked:
        return ToolResult(content="Give allowed_domains or blocked_domains, not both.", is_error=True)
    done = ctx.state.get("web_searches", 0)
    if done >= MAX_PER_SESSION:
        return ToolResult(
            content=f"This session has run its {MAX_PER_SESSION} web searches; answer from what was "
            "found, or start a new session.",
            is_error=True,
        )
    ctx.state["web_searches"] = done + 1
    current = ctx.state.get("session_model")
    model_name = getattr(current(), "name", "") if current else ""
    chosen = backend(model_name, ctx.state.get("web_search_config"))
    if chosen is None:
        return ToolResult(content=NOT_CONFIGURED, is_error=True)
    kind, url = chosen
    if kind == "searxng":
        return await _searxng(url, query, allowed, blocked)
    return await _anthropic(query, allowed, blocked, ctx)


async def _searxng(base: str, query: str, allowed: list[str], blocked: list[str]) -> ToolResult:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(base + "/search", params={"q": query, "format": "json"})
        response.raise_for_status()
        payload = response.json()
    except (httpx.HTTPError, ValueError) as e:
        return ToolResult(content=f"The SearXNG search at {base} failed: {e or type(e).__name__}", is_error=True)
    hits = []
    for item in payload.get("results") or []:
        host = urlsplit(str(item.get("url", ""))).hostname or ""
        if not host or (allowed and not domain_matches(host, allowed)) or (blocked and domain_matches(host, blocked)):
            continue
        hits.append(
            {
                "title": str(item.get("title") or host),
                "url": item["url"],
                "snippet": " ".join(str(item.get("content") or "").split())[:300],
            }
        )
    hits = hits[:MAX_RESULTS]
    lines = [f'Web search results for query: "{query}" (SearXNG)', ""]
    lines += [
        f"{i}. [{h['title']}]({h['url']})" + (f"\n   {h['snippet']}" if h["snippet"] else "")
        for i, h in enumerate(hits, 1)
    ] or ["No results."]
    lines += ["", "Cite the sources you use as Markdown links."]
    return ToolResult(content="\n".join(lines), data={"query": query, "results": hits, "backend": "searxng"})


async def _anthropic(query: str, allowed: list[str], blocked: list[str], ctx: ToolContext) -> ToolResult:
    from ._side_model import small_fast_model

    model = small_fast_model(ctx)
    if model is None:
        return ToolResult(content=NOT_CONFIGURED, is_error=True)
    tool: dict[str, Any] = {"type": SERVER_TOOL, "name": "web_search", "max_uses": MAX_USES}
    if allowed:
        tool["allowed_domains"] = allowed
    if blocked:
        tool["blocked_domains"] = blocked
    request = ModelRequest(
        system="You are an assistant for performing a web search tool use.",
        messages=(user(f"Perform a web search for the query: {query}"),),
        tools=(tool,),
        max_tokens=4096,
    )
    try:
        done = await ctx.cancel.race(model.complete(request, lambda event: None, ctx.cancel))
    except ProviderError as e:
        return ToolResult(content=f"The web search failed: {e}", is_error=True)
    if done is None:
        import asyncio

        raise asyncio.CancelledError
    reply = done.result()
    return format_reply(query, reply.text, reply.provider_data.get("server_blocks") or [], model.name)


def format_reply(query: str, text: str, blocks: list[dict[str, Any]], model_name: str) -> ToolResult:
    """The search's blocks as the model and the person read them: queries, hits, summary."""
    searches = [b.get("input", {}).get("query", "") for b in blocks if b.get("type") == "server_tool_use"]
    hits, errors = [], []
    for block in blocks:
        if block.get("type") != "web_search_tool_result":
            continue
        content = block.get("content")
        if isinstance(content, dict):  # {"type": "web_search_tool_result_error", "error_code": ...}
            errors.append(str(content.get("error_code") or content))
            continue
        hits += [
            {"title": r.get("title") or r.get("url"), "url": r.get("url"), "page_age": r.get("page_age")}
            for r in content or []
            if r.get("type") == "web_search_result"
        ]
    lines = [f'Web search results for query: "{query}"']
    if searches:
        lines.append("Searches run: " + "; ".join(f'"{s}"' for s in searches))
    lines.append("")
    lines += [f"{i}. [{h['title']}]({h['url']})" for i, h in enumerate(hits, 1)] or ["No results."]
    if errors:
        lines.append("Search errors: " + ", ".join(errors))
    if text.strip():
        lines += ["", text.strip()]
    lines += ["", "Cite the sources you use as Markdown links."]
    return ToolResult(
        content="\n".join(lines),
        is_error=bool(errors) and not hits,
        data={"query": query, "searches": searches, "results": hits, "backend": "anthropic", "model": model_name},
    )


TOOL = WEB_SEARCH  # the prompt's side of the tool, in `offered`: this module is imported by its first call
