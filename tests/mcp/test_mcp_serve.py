"""`sous mcp serve` driven by the SDK's own client, as another MCP client would use it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import sous

pytest.importorskip("mcp")
SRC = str(Path(sous.__file__).resolve().parents[1])


async def test_sous_tools_over_mcp_with_its_permission_rules(tmp_path):
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / "notes.txt").write_text("alpha\nbeta\n")
    (project / ".claude" / "settings.json").write_text(json.dumps(
        {"permissions": {"allow": ["Bash(echo *)"], "deny": ["Bash(curl *)"]}}))
    params = StdioServerParameters(command=sys.executable, args=["-m", "sous", "mcp", "serve"], cwd=str(project),
                                   env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path)})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"Bash", "Read", "Edit", "Write", "Glob", "Grep"} <= names

        def text(result):
            return "".join(getattr(b, "text", "") for b in result.content)

        def failed(result):
            return getattr(result, "is_error", getattr(result, "isError", False))

        read_result = await client.call_tool("Read", {"file_path": str(project / "notes.txt")})
        assert not failed(read_result) and "beta" in text(read_result)
        echo = await client.call_tool("Bash", {"command": "echo hello over mcp"})
        assert not failed(echo) and text(echo).strip() == "hello over mcp"
        denied = await client.call_tool("Bash", {"command": "curl http://example.com"})
        assert failed(denied) and "denied by the rule Bash(curl *)" in text(denied)
        asks = await client.call_tool("Write", {"file_path": str(project / "new.txt"), "content": "x"})
        assert failed(asks) and "no one can approve it" in text(asks)
        assert not (project / "new.txt").exists()
