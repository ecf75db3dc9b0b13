"""`sous mcp add|get|list|remove`, and a streamable-HTTP server written with the SDK."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])
pytest.importorskip("mcp_server_time")


def sous_cmd(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(cwd.parent)},
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def test_add_get_list_remove_across_scopes(project):
    assert sous_cmd(project, "mcp", "add", "time", "--", sys.executable, "-m", "mcp_server_time").returncode == 0
    added = sous_cmd(
        project,
        "mcp",
        "add",
        "--scope",
        "project",
        "-H",
        "Authorization: Bearer ${T:-x}",
        "remote",
        "http://127.0.0.1:9/mcp",
    )
    assert "project scope" in added.stdout
    local = json.loads((project.parent / ".claude.json").read_text())
    assert local["projects"][str(project.resolve())]["mcpServers"]["time"]["args"] == ["-m", "mcp_server_time"]
    shared = json.loads((project / ".mcp.json").read_text())["mcpServers"]["remote"]
    assert shared == {"type": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer ${T:-x}"}}
    assert json.loads(sous_cmd(project, "mcp", "get", "time").stdout)["source"] == "~/.claude.json (local)"
    listed = sous_cmd(project, "mcp", "list").stdout.splitlines()
    assert "time: connected, 2 tools" in listed and any(line.startswith("remote: failed") for line in listed)
    assert "Removed remote from the project scope" in sous_cmd(project, "mcp", "remove", "remote").stdout
    assert sous_cmd(project, "mcp", "remove", "remote").returncode == 1


def test_a_streamable_http_server(project):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("http_server.py")), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        (project / ".mcp.json").write_text(
            json.dumps({"mcpServers": {"web": {"type": "http", "url": f"http://127.0.0.1:{port}/mcp"}}})
        )
        assert sous_cmd(project, "trust", "--yes").returncode == 0  # the project's server, approved
        turns = [{"tool_calls": [{"name": "mcp__web__shout", "input": {"text": "hello"}}]}, {"text": "ok"}]
        (project.parent / "turns.json").write_text(json.dumps(turns))
        done = sous_cmd(
            project,
            "-p",
            "go",
            "--model",
            f"scripted:{project.parent / 'turns.json'}",
            "--allowedTools",
            "mcp__web",
            "--output-format",
            "stream-json",
            "--verbose",
        )
        out = [json.loads(line) for line in done.stdout.splitlines()]
        result = next(o for o in out if o["type"] == "user")["message"]["content"][0]
        assert result["content"] == "HELLO" and not result["is_error"]
    finally:
        server.terminate()
        server.wait(timeout=10)
