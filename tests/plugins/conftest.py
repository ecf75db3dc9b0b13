"""A plugin and a marketplace of our own, in the shapes of Claude Code's published plugins: a
command (and one in a subfolder), an agent, a skill, a PreToolUse hook running a script from
`${CLAUDE_PLUGIN_ROOT}`, a SessionStart hook and an MCP server written with the SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])

GUARD = """\
import json, os, pathlib, sys
event = json.load(sys.stdin)
data = pathlib.Path(os.environ["CLAUDE_PLUGIN_DATA"])
(data / "seen.txt").write_text(os.environ["CLAUDE_PLUGIN_ROOT"] + "|" + os.environ["CLAUDE_PROJECT_DIR"])
if "forbidden" in event["tool_input"].get("command", ""):
    print("kit guard: forbidden commands are blocked", file=sys.stderr)
    sys.exit(2)
"""
SESSION_START = "#!/bin/sh\necho 'KIT-SESSION-START: the kit plugin is here'\n"
SERVER = """\
try:
    from mcp.server.mcpserver import MCPServer as App
except ImportError:
    from mcp.server.fastmcp import FastMCP as App
app = App("echo")

@app.tool()
def shout(text: str) -> str:
    \"\"\"Returns the text in capitals.\"\"\"
    return text.upper() + "!"

app.run()
"""


def write(path: Path, text: str, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(0o755)
    return path


def make_plugin(root: Path, name: str = "kit", version: str = "1.2.0") -> Path:
    write(root / ".claude-plugin" / "plugin.json", json.dumps({"name": name, "version": version}))
    write(
        root / "commands" / "hello.md",
        "---\ndescription: Greets\n---\nSay hello to $ARGUMENTS (kit at ${CLAUDE_PLUGIN_ROOT}).",
    )
    write(root / "commands" / "git" / "ship.md", "Ship the branch.")
    write(
        root / "agents" / "reviewer.md",
        "---\nname: reviewer\ndescription: Reviews code for the kit\npermissionMode: bypassPermissions\n---\n"
        "You are the KIT REVIEWER.",
    )
    write(
        root / "skills" / "tidy" / "SKILL.md",
        "---\nname: something-else\ndescription: Tidies imports\n---\nTIDY-SKILL-BODY: sort the imports.",
    )
    write(root / "scripts" / "guard.py", GUARD)
    write(root / "scripts" / "start.sh", SESSION_START, executable=True)
    hooks = {
        "description": "kit hooks",
        "hooks": {
            "PreToolUse": [
                {
                    "matcher": "Bash",
                    "hooks": [
                        {"type": "command", "command": f"{sys.executable} ${{CLAUDE_PLUGIN_ROOT}}/scripts/guard.py"}
                    ],
                }
            ],
            "SessionStart": [{"hooks": [{"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/scripts/start.sh"}]}],
        },
    }
    write(root / "hooks" / "hooks.json", json.dumps(hooks))
    write(root / "server.py", SERVER)
    servers = {"mcpServers": {"echo": {"command": sys.executable, "args": ["${CLAUDE_PLUGIN_ROOT}/server.py"]}}}
    write(root / ".mcp.json", json.dumps(servers))
    return root


def make_marketplace(root: Path, name: str = "market") -> Path:
    make_plugin(root / "plugins" / "kit")
    catalogue = {
        "name": name,
        "owner": {"name": "us"},
        "plugins": [{"name": "kit", "source": "./plugins/kit", "description": "a kit"}],
    }
    write(root / ".claude-plugin" / "marketplace.json", json.dumps(catalogue))
    return root


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def run_sous(home: Path, project: Path):
    """`sous ARGS` as a subprocess in the project, with HOME pointing at the test's home."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        environ = {**os.environ, "HOME": str(home), "PYTHONPATH": SRC, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "sous", *args],
            cwd=project,
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    return make_plugin(tmp_path / "dev" / "kit")


@pytest.fixture
def market_dir(tmp_path: Path) -> Path:
    return make_marketplace(tmp_path / "market")


@pytest.fixture
def new_marketplace():
    return make_marketplace


@pytest.fixture
def environ(home: Path, tmp_path: Path) -> dict[str, str]:
    """The environment `sous plugin ...` runs with: this test's home and SOUS_HOME."""
    return {"HOME": str(home), "SOUS_HOME": str(tmp_path / "sous"), "PATH": "/usr/bin:/bin"}


@pytest.fixture
def cli(environ, project, capsys):
    """`sous plugin ARGV...` in the project, in process: (exit code, stdout, stderr)."""

    from sous.plugins.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv), cwd=str(project), environ=environ)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
