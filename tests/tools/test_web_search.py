"""WebSearch through the Anthropic server tool (on the scripted endpoint) and through a local fake
SearXNG; and not offered when neither is there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from web_server import WebServer, json_route

import sous
from sous.core import ToolContext
from sous.testing.server import ScriptedServer
from sous.tools.web_search import TOOL as WEB_SEARCH

SRC = str(Path(sous.__file__).resolve().parents[1])

SEARCH_BLOCKS = [
    {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "python 3.13 release"}},
    {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_01",
        "content": [
            {
                "type": "web_search_result",
                "title": "What's New In Python 3.13",
                "url": "https://docs.python.org/3/whatsnew/3.13.html",
                "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y2ESDCVCtnUhAMpd2",
                "page_age": "October 7, 2024",
            },
            {
                "type": "web_search_result",
                "title": "Python Release Python 3.13.0",
                "url": "https://www.python.org/downloads/release/python-3130/",
                "encrypted_content": "EpMBCioIARgBIiQ3YTAwMjY1Mi1mZjM5",
            },
        ],
    },
]


def run_sous(project: Path, env: dict, *flags: str) -> list[dict]:
    """WebSearch waits behind ToolSearch by default; `ENABLE_TOOL_SEARCH=false` offers it directly."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "search",
            "--output-format",
            "stream-json",
            "--verbose",
            "--allowedTools",
            "WebSearch",
            *flags,
        ],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent), "ENABLE_TOOL_SEARCH": "false", **env},
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def tool_results(lines: list[dict]) -> list[dict]:
    return [
        b
        for line in lines
        if line.get("type") == "user"
        for b in line["message"]["content"]
        if b.get("type") == "tool_result"
    ]


def text_of(block: dict) -> str:
    content = block["content"]
    return content if isinstance(content, str) else "".join(c.get("text", "") for c in content)


def test_on_anthropic_the_server_side_search_tool_runs_and_its_blocks_are_shown(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    call = {"name": "WebSearch", "input": {"query": "python 3.13 release", "allowed_domains": ["python.org"]}}
    turns = [
        {"tool_calls": [{"name": "ToolSearch", "input": {"query": "select:WebSearch"}}]},
        {"tool_calls": [call]},
        {"server_blocks": SEARCH_BLOCKS, "text": "Python 3.13 was released on October 7, 2024."},
        {"text": "It came out in October 2024."},
    ]
    with ScriptedServer(turns) as api:
        lines = run_sous(
            project,
            {"ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "k", "ENABLE_TOOL_SEARCH": ""},
            "--model",
            "anthropic:claude-sonnet-4-5",
        )
    init = next(line for line in lines if line.get("subtype") == "init")
    assert "WebSearch" not in init["tools"] and "ToolSearch" in init["tools"]  # deferred until loaded
    search = next(t for t in api.requests[0]["body"]["tools"] if t["name"] == "ToolSearch")
    assert "WebSearch" in search["description"]
    assert "WebSearch" in [t["name"] for t in api.requests[1]["body"]["tools"]]
    side = api.requests[2]["body"]
    assert side["model"] == "claude-haiku-4-5"
    assert [{k: v for k, v in t.items() if k != "cache_control"} for t in side["tools"]] == [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5, "allowed_domains": ["python.org"]}
    ]
    loaded, result = tool_results(lines)
    assert "Loaded 1 tool(s)" in text_of(loaded)
    shown = text_of(result)
    assert 'Searches run: "python 3.13 release"' in shown
    assert "1. [What's New In Python 3.13](https://docs.python.org/3/whatsnew/3.13.html)" in shown
    assert "2. [Python Release Python 3.13.0](https://www.python.org/downloads/release/python-3130/)" in shown
    assert "released on October 7, 2024" in shown
    assert lines[-1]["result"] == "It came out in October 2024."


def test_a_search_error_block_is_an_error_result(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    failed = [
        SEARCH_BLOCKS[0],
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_01",
            "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"},
        },
    ]
    turns = [
        {"tool_calls": [{"name": "WebSearch", "input": {"query": "anything"}}]},
        {"server_blocks": failed},
        {"text": "ok"},
    ]
    with ScriptedServer(turns) as api:
        lines = run_sous(
            project, {"ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "k"}, "--model", "anthropic:claude-sonnet-4-5"
        )
    (result,) = tool_results(lines)
    assert result["is_error"] and "max_uses_exceeded" in text_of(result)


def searxng(seen: list[str]):
    def answer(handler):
        seen.append(handler.path)
        return {
            "query": "x",
            "results": [
                {
                    "title": "Widget docs",
                    "url": "https://docs.widget.dev/start",
                    "content": "How to  start\nwith widget.",
                },
                {"title": "Widget spam", "url": "https://spam.example/widget", "content": "buy now"},
                {"title": "Widget blog", "url": "https://www.widget.dev/blog", "content": ""},
            ],
        }

    return json_route(answer)


def test_through_a_searxng_instance_from_settings(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (tmp_path / ".claude").mkdir()  # the user's settings (HOME): a project's own waits for `sous trust`
    seen: list[str] = []
    with WebServer({"/search": searxng(seen)}) as fake:
        (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"webSearch": {"searxng": fake.url + "/"}}))
        script = tmp_path / "turns.json"
        script.write_text(
            json.dumps(
                [
                    {
                        "tool_calls": [
                            {
                                "name": "WebSearch",
                                "input": {"query": "widget start", "blocked_domains": ["spam.example"]},
                            }
                        ]
                    },
                    {"text": "found it"},
                ]
            )
        )
        lines = run_sous(project, {}, "--model", f"scripted:{script}")
    query = parse_qs(urlsplit(seen[0]).query)
    assert query == {"q": ["widget start"], "format": ["json"]}
    (result,) = tool_results(lines)
    shown = text_of(result)
    assert "1. [Widget docs](https://docs.widget.dev/start)\n   How to start with widget." in shown
    assert "2. [Widget blog](https://www.widget.dev/blog)" in shown
    assert "spam.example" not in shown


async def test_domain_lists_filter_searxng_results(tmp_path):
    seen: list[str] = []
    with WebServer({"/search": searxng(seen)}) as fake:
        ctx = ToolContext(
            cwd=str(tmp_path), project_dir=str(tmp_path), state={"web_search_config": {"searxng": fake.url}}
        )
        only = await WEB_SEARCH.run({"query": "widget", "allowed_domains": ["widget.dev"]}, ctx)
        both = await WEB_SEARCH.run(
            {"query": "widget", "allowed_domains": ["a.com"], "blocked_domains": ["b.com"]}, ctx
        )
    assert "docs.widget.dev" in only.content and "www.widget.dev" in only.content and "spam" not in only.content
    assert both.is_error and "not both" in both.content
    ctx.state["web_searches"] = 200
    capped = await WEB_SEARCH.run({"query": "widget"}, ctx)
    assert capped.is_error and "run its 200 web searches" in capped.content
    down = ToolContext(
        cwd=str(tmp_path), project_dir=str(tmp_path), state={"web_search_config": {"searxng": "http://127.0.0.1:9"}}
    )
    failed = await WEB_SEARCH.run({"query": "widget"}, down)
    assert failed.is_error and "SearXNG search at http://127.0.0.1:9 failed" in failed.content


def test_with_no_backend_the_tool_is_not_offered(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    script = tmp_path / "turns.json"
    script.write_text(
        json.dumps([{"tool_calls": [{"name": "WebSearch", "input": {"query": "anything"}}]}, {"text": "ok"}])
    )
    lines = run_sous(project, {}, "--model", f"scripted:{script}")
    init = next(line for line in lines if line.get("subtype") == "init")
    assert "WebSearch" not in init["tools"] and "WebFetch" in init["tools"]
    (result,) = tool_results(lines)
    assert result["is_error"] and "No such tool available: WebSearch" in text_of(result)
