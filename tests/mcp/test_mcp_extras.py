"""MCP beyond tools: resources as `@server:uri`, prompts as `/mcp__server__prompt`, ToolSearch for
deferred tools, and `mcp-server-fetch` from PyPI reading a page served on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
from pathlib import Path

import pytest

import sous
from sous.context.attachments import attach, attach_resources
from sous.core import ToolContext
from sous.runtime import Options, open_session
from sous.ui import slash

pytest.importorskip("mcp")
SRC = str(Path(sous.__file__).resolve().parents[1])
LIBRARIAN = '''
try:
    from mcp.server.mcpserver import MCPServer as App
except ImportError:
    from mcp.server.fastmcp import FastMCP as App
app = App("librarian")

@app.resource("notes://today", name="today", description="Today's notes")
def today() -> str:
    return "Buy milk. Ship the release."

@app.prompt(description="Review a file carefully")
def review(path: str, focus: str = "bugs") -> str:
    return f"Please review {path}, looking for {focus}."

@app.tool()
def shelve(title: str) -> str:
    """Put a book on the shelf."""
    return f"shelved {title}"

app.run()
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "librarian.py").write_text(LIBRARIAN)
    servers = {"lib": {"command": sys.executable, "args": [str(tmp_path / "librarian.py")]}}
    (root / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    return root


async def test_resources_attach_and_prompts_become_commands(project, tmp_path):
    (tmp_path / "turns.json").write_text("[]")
    session = open_session(
        Options(
            cwd=str(project),
            model=f"scripted:{tmp_path / 'turns.json'}",
            settings=json.dumps({"enabledMcpjsonServers": ["lib"]}),  # approved by name
            environ={**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "h")},
        )
    )
    try:
        await session.start()
        assert "lib: connected, 1 tools, 1 resources, 1 prompts" in session.mcp.describe()
        assert session.mcp.resource_mentions() == [("lib:notes://today", "today")]
        message = attach("what is in @lib:notes://today?", ToolContext(cwd=str(project), project_dir=str(project)))
        message = await attach_resources(message, "what is in @lib:notes://today?", session.mcp)
        assert '<attachment resource="lib:notes://today">\nBuy milk. Ship the release.\n</attachment>' in [
            b.text for b in message.content
        ]
        broken = await attach_resources(message, "@lib:notes://nothing", session.mcp)
        assert "could not be read" in broken.content[-1].text
        outcome = await slash.run(session, '/mcp__lib__review app.py "race conditions"')
        assert outcome.prompt == "Please review app.py, looking for race conditions."
        missing = await slash.run(session, "/mcp__lib__review")
        assert missing.error and "missing path: /mcp__lib__review <path> <focus>" in missing.text
        assert "/mcp__lib__review" in (await slash.run(session, "/help")).text
        context = (await slash.run(session, "/context")).text
        assert "mcp lib" in context and "1 tools" in context
    finally:
        await session.end()
        session.close()


def _run(sous_p, project: Path, turns: list, *flags: str, env: dict | None = None):
    done, out = sous_p(project, turns, *flags, env=env)
    assert done.returncode == 0, done.stderr
    return out


def test_deferred_tools_are_found_and_loaded_by_tool_search(project, sous_p):
    turns = [
        {"tool_calls": [{"name": "mcp__lib__shelve", "input": {"title": "Dune"}}]},
        {"tool_calls": [{"name": "ToolSearch", "input": {"query": "shelf book"}}]},
        {"tool_calls": [{"name": "mcp__lib__shelve", "input": {"title": "Dune"}}]},
        {"text": "done"},
    ]
    out = _run(sous_p, project, turns, "--allowedTools", "mcp__lib", env={"ENABLE_TOOL_SEARCH": "true"})
    assert "ToolSearch" in out[0]["tools"] and "mcp__lib__shelve" not in out[0]["tools"]
    results = [o["message"]["content"][0] for o in out if o["type"] == "user"]
    assert results[0]["is_error"]  # not loaded yet
    assert "Loaded 1 tool(s)" in results[1]["content"] and "mcp__lib__shelve" in results[1]["content"]
    assert results[2]["content"] == "shelved Dune" and not results[2]["is_error"]


def test_few_tools_are_not_deferred(project, sous_p):
    out = _run(sous_p, project, [{"text": "hi"}])
    # Offered directly; a ToolSearch there holds only the rarely used built-ins (NotebookEdit...).
    assert "mcp__lib__shelve" in out[0]["tools"]


def test_mcp_server_fetch_from_pypi_reads_a_local_page(tmp_path, sous_p):
    pytest.importorskip("mcp_server_fetch")

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html><body><h1>Menu</h1><p>Soup of the day: tomato.</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    project = tmp_path / "project"
    project.mkdir()
    servers = {
        "fetch": {
            "command": sys.executable,
            "args": ["-m", "mcp_server_fetch", "--ignore-robots-txt", "--allow-private-ips"],
        }
    }
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/menu.html"
        out = _run(
            sous_p,
            project,
            [{"tool_calls": [{"name": "mcp__fetch__fetch", "input": {"url": url}}]}, {"text": "ok"}],
            "--allowedTools",
            "mcp__fetch",
            env={"NO_PROXY": "*"},
        )
    finally:
        server.shutdown()
    (result,) = [o["message"]["content"][0] for o in out if o["type"] == "user"]
    assert not result["is_error"], result["content"]
    assert "Soup of the day: tomato." in result["content"] and "# Menu" in result["content"]
