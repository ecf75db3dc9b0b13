"""MCP through the real `sous -p`: the `mcp-server-time` server from PyPI and a fragile server of
our own (written with the SDK) for crashes, huge output and images; config scopes and expansion."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sous
from sous.mcp import load
from sous.permissions import trust

SRC = str(Path(sous.__file__).resolve().parents[1])
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
FRAGILE = f'''
import os, sys, base64
try:
    from mcp.server.mcpserver import MCPServer as App, Image
except ImportError:
    from mcp.server.fastmcp import FastMCP as App, Image
app = App("fragile")

@app.tool()
def crash() -> str:
    """Dies mid-call."""
    os._exit(1)

@app.tool()
def big() -> str:
    """Returns a huge text."""
    return "y" * 300000

@app.tool()
def picture() -> Image:
    """Returns a 1x1 PNG."""
    return Image(data=base64.b64decode("{PNG}"), format="png")

app.run()
'''

pytest.importorskip("mcp_server_time")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "fragile.py").write_text(FRAGILE)
    servers = {
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time"]},
        "fragile": {"type": "stdio", "command": sys.executable, "args": [str(tmp_path / "fragile.py")]},
    }
    (root / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    return root


def tool_results(out: list) -> list:
    return [o["message"]["content"][0] for o in out if o["type"] == "user"]


def call(name: str, args: dict | None = None) -> dict:
    return {"tool_calls": [{"name": name, "input": args or {}}]}


def test_a_real_server_from_pypi_is_listed_and_called(project, sous_p):
    done, out = sous_p(
        project,
        [call("mcp__time__get_current_time", {"timezone": "UTC"}), {"text": "ok"}],
        "--allowedTools",
        "mcp__time",
    )
    assert done.returncode == 0, done.stderr
    init = out[0]
    assert "mcp__time__get_current_time" in init["tools"] and "mcp__fragile__crash" in init["tools"]
    assert {"name": "time", "status": "connected"} in init["mcp_servers"]
    result = tool_results(out)[0]
    assert not result["is_error"] and '"timezone": "UTC"' in result["content"]


def test_mcp_tools_ask_in_default_mode(project, sous_p):
    _, out = sous_p(project, [call("mcp__time__get_current_time", {"timezone": "UTC"}), {"text": "ok"}])
    assert [d["tool_name"] for d in out[-1]["permission_denials"]] == ["mcp__time__get_current_time"]


def test_a_crashed_server_fails_fast_then_is_restarted(project, sous_p):
    turns = [
        call("mcp__fragile__crash"),
        call("mcp__fragile__big"),
        # Long enough for the restart (a Python MCP server takes ~1 s to start here, 6 s under load).
        call("Bash", {"command": "sleep 10"}),
        call("mcp__fragile__big"),
        {"text": "ok"},
    ]
    started = time.monotonic()
    done, out = sous_p(project, turns, "--allowedTools", "mcp__fragile", "Bash(sleep *)")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 90
    crashed, during, _, after = tool_results(out)
    assert crashed["is_error"] and "fragile" in crashed["content"]
    assert during["is_error"] and "not connected (restarting" in during["content"]
    assert not after["is_error"] and after["content"].startswith("yyyy"), after


def test_huge_output_is_cut_with_a_note_and_images_stay_images(project, sous_p):
    done, out = sous_p(
        project,
        [call("mcp__fragile__big"), call("mcp__fragile__picture"), {"text": "ok"}],
        "--allowedTools",
        "mcp__fragile",
        env={"MAX_MCP_OUTPUT_TOKENS": "1000"},
    )
    big, picture = tool_results(out)
    assert "MCP output truncated" in big["content"] and len(big["content"]) < 4200
    assert picture["content"][0]["type"] == "image" and picture["content"][0]["source"]["data"] == PNG
    assert base64.b64decode(PNG)


def test_broken_and_hanging_servers_are_reported_without_blocking(project, tmp_path, sous_p):
    servers = {
        "broken": {"command": "/nonexistent/server"},
        "hangs": {"command": "sleep", "args": ["60"]},
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time"]},
    }
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    started = time.monotonic()
    # 10 s: enough for mcp-server-time to start on a loaded 2-core machine (6 s was seen there), while
    # the hanging server is still given up on long before its 60 s sleep ends.
    done, out = sous_p(project, [{"text": "fine"}], env={"MCP_TIMEOUT": "10000"})
    assert done.returncode == 0 and out[-1]["result"] == "fine"
    assert time.monotonic() - started < 40
    warnings = [line for line in done.stderr.splitlines() if "MCP server" in line]
    assert any("'broken'" in w for w in warnings) and any("'hangs'" in w and "10s" in w for w in warnings)
    assert {"name": "time", "status": "connected"} in out[0]["mcp_servers"], done.stderr


def test_scopes_precedence_expansion_and_problems(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / ".mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "shared": {"command": "from-project"},
                    "api": {
                        "type": "http",
                        "url": "${API_URL:-http://localhost:9}/mcp",
                        "headers": {"Authorization": "Bearer ${TOKEN}"},
                    },
                    "bad": {"url": "http://x"},
                    "odd": {"type": "ws", "url": "ws://x"},
                }
            }
        )
    )
    (tmp_path / ".claude.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "shared": {"command": "from-user"},
                    "mine": {"command": "tool", "env": {"K": "${HOME}"}},
                },
                "projects": {str(project.resolve()): {"mcpServers": {"shared": {"command": "from-local"}}}},
            }
        )
    )
    trust.approve(trust.check(project, {"HOME": str(tmp_path)}), {"HOME": str(tmp_path)})  # `sous trust --yes`
    config = load(str(project), {"HOME": str(tmp_path), "TOKEN": "t0k"})
    assert config.servers["shared"].command == "from-local"
    assert config.servers["api"].url == "http://localhost:9/mcp" and dict(config.servers["api"].headers) == {
        "Authorization": "Bearer t0k"
    }
    assert dict(config.servers["mine"].env) == {"K": str(tmp_path)}
    assert "bad" not in config.servers and "odd" not in config.servers and len(config.problems) == 2
    strict = load(
        str(project), {"HOME": str(tmp_path)}, extra=['{"mcpServers": {"only": {"command": "x"}}}'], strict=True
    )
    assert list(strict.servers) == ["only"]


def test_the_git_server_from_pypi_works_on_a_real_repository(project, sous_p):
    pytest.importorskip("mcp_server_git")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "a.txt").write_text("a\n")
    servers = {"git": {"command": sys.executable, "args": ["-m", "mcp_server_git", "--repository", str(project)]}}
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    done, out = sous_p(
        project,
        [call("mcp__git__git_status", {"repo_path": str(project)}), {"text": "ok"}],
        "--allowedTools",
        "mcp__git__git_status",
    )
    assert done.returncode == 0, done.stderr
    result = tool_results(out)[0]
    assert not result["is_error"] and "a.txt" in result["content"] and "Untracked" in result["content"]
