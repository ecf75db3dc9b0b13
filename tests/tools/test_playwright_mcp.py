"""The real `@playwright/mcp` server from npm, as an MCP server in sous, driving the system's
Chromium: a page is opened and its screenshot reaches the model as an image.

The package is installed with npm into `SOUS_PLAYWRIGHT_MCP_DIR` (default: a folder in the temp
directory, reused between runs); the test is skipped when npm, the package or Chromium cannot be
had, saying which.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image as PILImage
from web_server import WebServer, html

import sous
from sous.testing.server import ScriptedServer
from sous.tools.screenshot import chromium_path

SRC = str(Path(sous.__file__).resolve().parents[1])
PACKAGE = "@playwright/mcp"


@pytest.fixture(scope="module")
def playwright_mcp() -> str:
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm is not installed: cannot fetch @playwright/mcp")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        pytest.skip(f"@playwright/mcp needs Node.js 20 or newer; this is {version}")
    folder = Path(os.environ.get("SOUS_PLAYWRIGHT_MCP_DIR") or Path(tempfile.gettempdir()) / "sous-playwright-mcp")
    binary = folder / "node_modules" / ".bin" / "playwright-mcp"
    if not binary.exists():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        )
        if done.returncode != 0 or not binary.exists():
            pytest.skip(f"npm could not install {PACKAGE}: {done.stderr.strip().splitlines()[-1:]}")
    return str(binary)


def server_config(binary: str) -> dict:
    """The README recipe: the system's Chromium, headless, no profile on disk."""
    return {
        "mcpServers": {
            "playwright": {
                "command": binary,
                "args": [
                    "--browser",
                    "chromium",
                    "--executable-path",
                    chromium_path(),
                    "--headless",
                    "--isolated",
                    "--no-sandbox",
                    "--viewport-size",
                    "400x300",
                ],
            }
        }
    }


def test_playwright_mcp_screenshots_arrive_as_images(tmp_path, playwright_mcp):
    project = tmp_path / "p"
    project.mkdir()
    (project / ".mcp.json").write_text(json.dumps(server_config(playwright_mcp)))
    from sous.permissions import trust

    trust.approve(trust.check(project, {**os.environ, "HOME": str(tmp_path)}))  # `sous trust --yes`
    button = (
        "<html><body style='margin:0;background:#fff'><button style='position:absolute;left:40px;top:40px;"
        "width:200px;height:100px;border:0;background:rgb(255,0,0)'>Go</button></body></html>"
    )
    with WebServer({"/": html(button)}) as site:
        turns = [
            {"tool_calls": [{"name": "mcp__playwright__browser_navigate", "input": {"url": site.url + "/"}}]},
            {
                "tool_calls": [
                    {"name": "mcp__playwright__browser_take_screenshot", "input": {"type": "png", "scale": "css"}}
                ]
            },
            {"text": "The button is red."},
        ]
        with ScriptedServer(turns) as api:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sous",
                    "-p",
                    "look",
                    "--output-format",
                    "stream-json",
                    "--verbose",
                    "--model",
                    "anthropic:claude-sonnet-4-5",
                    "--allowedTools",
                    "mcp__playwright",
                ],
                cwd=project,
                text=True,
                capture_output=True,
                timeout=240,
                env={
                    **os.environ,
                    "PYTHONPATH": SRC,
                    "HOME": str(tmp_path),
                    "ANTHROPIC_BASE_URL": api.url,
                    "ANTHROPIC_API_KEY": "k",
                    "ENABLE_TOOL_SEARCH": "false",
                },
            )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    init = next(line for line in lines if line.get("subtype") == "init")
    assert "mcp__playwright__browser_take_screenshot" in init["tools"]
    assert lines[-1]["result"] == "The button is red.", lines[-1]
    results = [
        block
        for message in api.requests[2]["body"]["messages"]
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    navigated, shot = results
    assert not navigated["is_error"] and not shot["is_error"], shot
    (image,) = [part for part in shot["content"] if part["type"] == "image"]
    picture = PILImage.open(io.BytesIO(base64.b64decode(image["source"]["data"]))).convert("RGB")
    assert picture.size == (400, 300)
    assert picture.getpixel((60, 60)) == (255, 0, 0) and picture.getpixel((10, 10)) == (255, 255, 255)
