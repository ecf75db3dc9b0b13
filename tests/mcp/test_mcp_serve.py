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
    (project / ".claude" / "settings.json").write_text(
        json.dumps({"permissions": {"allow": ["Bash(echo *)"], "deny": ["Bash(curl *)"]}})
    )
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sous", "mcp", "serve"],
        cwd=str(project),
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path)},
    )
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


def _serve_params(project: Path, tmp_path: Path, *args: str):
    from mcp.client.stdio import StdioServerParameters

    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "sous", "mcp", "serve", *args],
        cwd=str(project),
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")},
    )


def _text(result) -> str:
    return "".join(getattr(b, "text", "") for b in result.content)


def _failed(result) -> bool:
    return bool(getattr(result, "is_error", getattr(result, "isError", False)))


async def test_bash_over_mcp_runs_in_the_sandbox_when_it_is_enabled(tmp_path):
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    from sous.tools import _sandbox

    if not _sandbox.usable():
        pytest.skip("bubblewrap cannot run here")
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "settings.json").write_text(json.dumps({"sandbox": {"enabled": True}}))
    outside = tmp_path / "outside.txt"
    params = _serve_params(project, tmp_path, "--permission-mode", "bypassPermissions")
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        inside = await client.call_tool("Bash", {"command": "echo in > inside.txt && cat inside.txt"})
        assert not _failed(inside) and _text(inside).strip() == "in"
        # refused, or written into the sandbox's own private /tmp: either way nothing lands outside
        await client.call_tool("Bash", {"command": f"echo out > {outside}"})
    assert (project / "inside.txt").read_text() == "in\n"
    assert not outside.exists()


async def test_hooks_run_over_mcp_and_rewritten_arguments_are_checked_again(tmp_path):
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / "notes.txt").write_text("alpha\n")
    hook = tmp_path / "rewrite.py"
    hook.write_text(
        "import json, sys\npayload = json.load(sys.stdin)\n"
        "open(sys.argv[1], 'a').write(payload['tool_name'] + '\\n')\n"
        "print(json.dumps({'hookSpecificOutput': {'hookEventName': 'PreToolUse',"
        " 'updatedInput': {'file_path': 42}}}))\n"
    )
    log = tmp_path / "hook.log"
    (project / ".claude" / "settings.json").write_text(
        json.dumps(
            {
                "hooks": {
                    "PreToolUse": [
                        {"matcher": "Read", "hooks": [{"type": "command", "command": f"{sys.executable} {hook} {log}"}]}
                    ]
                }
            }
        )
    )
    from sous.permissions import trust

    serve_env = dict(_serve_params(project, tmp_path).env or os.environ)
    trust.approve(trust.check(project, serve_env), serve_env)  # `sous trust --yes`
    async with stdio_client(_serve_params(project, tmp_path)) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        result = await client.call_tool("Read", {"file_path": str(project / "notes.txt")})
        assert _failed(result) and "InputValidationError" in _text(result), _text(result)
        grep = await client.call_tool("Grep", {"pattern": "alpha"})
        assert not _failed(grep)
    assert log.read_text() == "Read\n"  # the hook ran, for the matching tool only
