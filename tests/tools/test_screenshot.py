"""Screenshot in real headless Chromium: the returned PNG's pixels, console errors and failed
requests, actions, refusals; and the image reaching the model over both wire protocols."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image as PILImage
from web_server import WebServer, html

import sous
from sous.core import Image, Text, ToolContext
from sous.testing.server import ScriptedServer
from sous.tools import _sandbox, screenshot
from sous.tools.screenshot import TOOL as SCREENSHOT

pytestmark = pytest.mark.skipif(
    screenshot.unavailable() is not None, reason="Chromium (apt-get install chromium) or playwright (pip) is missing"
)

SRC = str(Path(sous.__file__).resolve().parents[1])


def page(colour: str) -> str:
    return f"""<!doctype html><html><body style="margin:0;background:#fff">
<button id="go" style="position:absolute;left:50px;top:50px;width:200px;height:100px;border:0;background:{colour}"
 onclick="this.style.background='rgb(0, 0, 255)'">Go</button>
<input id="name" style="position:absolute;left:50px;top:200px">
<p id="echo" style="position:absolute;left:50px;top:260px"></p>
<script>document.getElementById('name').addEventListener('keydown', e => {{
  if (e.key === 'Enter') document.getElementById('echo').textContent = 'hello ' + e.target.value; }});</script>
</body></html>"""


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))


def pixels(result) -> PILImage.Image:
    (image,) = [b for b in result.content if isinstance(b, Image)]
    assert image.media_type == "image/png"
    return PILImage.open(io.BytesIO(base64.b64decode(image.data))).convert("RGB")


def summary(result) -> str:
    return (
        "".join(b.text for b in result.content if isinstance(b, Text))
        if isinstance(result.content, tuple)
        else result.content
    )


async def test_a_local_file_is_shot_at_the_viewport_size(ctx, tmp_path):
    (tmp_path / "index.html").write_text(page("rgb(255, 0, 0)"))
    result = await SCREENSHOT.run({"url": "index.html", "width": 400, "height": 300}, ctx)
    assert not result.is_error, result.content
    shot = pixels(result)
    assert shot.size == (400, 300)
    assert shot.getpixel((60, 60)) == (255, 0, 0)  # the button
    assert shot.getpixel((10, 10)) == (255, 255, 255)  # the page
    assert "No console errors or failed requests" in summary(result)


async def test_actions_run_before_the_shot(ctx, tmp_path):
    (tmp_path / "index.html").write_text(page("rgb(255, 0, 0)"))
    result = await SCREENSHOT.run(
        {
            "url": str(tmp_path / "index.html"),
            "width": 400,
            "height": 300,
            "actions": [
                {"action": "click", "selector": "#go"},
                {"action": "type", "selector": "#name", "text": "sous"},
                {"action": "press", "selector": "#name", "text": "Enter"},
                {"action": "wait", "ms": 50},
            ],
            "wait_for": "#go",
        },
        ctx,
    )
    assert pixels(result).getpixel((60, 60)) == (0, 0, 255)
    missing = await SCREENSHOT.run({"url": "index.html", "actions": [{"action": "click", "selector": "#nope"}]}, ctx)
    assert missing.is_error and "action 1 (click #nope)" in missing.content


async def test_console_errors_and_failed_requests_are_reported(ctx):
    broken = (
        "<html><body><img src='/missing.png'><script>console.error('boom from the page');"
        "undefinedFunction();</script></body></html>"
    )
    with WebServer({"/": html(broken)}) as server:
        result = await SCREENSHOT.run({"url": f"http://localhost:{server.port}/", "width": 300, "height": 200}, ctx)
    text = summary(result)
    assert not result.is_error
    assert "console.error: boom from the page" in text
    assert "uncaught exception" in text and "undefinedFunction" in text
    assert "HTTP 404" in text and "/missing.png" in text


async def test_a_shot_past_the_size_cap_comes_as_jpeg(ctx, tmp_path):
    noise = (
        "<html><body style='margin:0'><canvas id=c width=1800 height=1800></canvas><script>"
        "const c = document.getElementById('c').getContext('2d'), d = c.createImageData(1800, 1800);"
        "for (let i = 0; i < d.data.length; i++) d.data[i] = Math.random() * 256 | 0;"
        "c.putImageData(d, 0, 0);</script></body></html>"
    )
    (tmp_path / "noise.html").write_text(noise)
    result = await SCREENSHOT.run({"url": "noise.html", "width": 1800, "height": 1800}, ctx)
    (image,) = [b for b in result.content if isinstance(b, Image)]
    assert image.media_type == "image/jpeg"
    assert len(base64.b64decode(image.data)) <= screenshot.MAX_IMAGE_BYTES
    assert PILImage.open(io.BytesIO(base64.b64decode(image.data))).size == (1800, 1800)


async def test_only_local_pages_are_opened(ctx):
    for url in ("https://example.com/", "http://10.0.0.1/", "ftp://localhost/x", "nope.html"):
        result = await SCREENSHOT.run({"url": url}, ctx)
        assert result.is_error, url
    assert "local pages only" in (await SCREENSHOT.run({"url": "https://example.com/"}, ctx)).content


async def test_with_the_sandbox_the_page_cannot_reach_other_hosts(ctx):
    page_html = "<html><body><img src='http://example.invalid/pixel.png'>hi</body></html>"
    with WebServer({"/": html(page_html)}) as server:
        ctx.state["sandbox"] = _sandbox.Sandbox(writable=(ctx.cwd,), allowed_domains=("pypi.org",))
        result = await SCREENSHOT.run({"url": f"{server.url}/", "width": 300, "height": 200}, ctx)
    assert "Blocked by the sandbox" in summary(result) and "example.invalid" in summary(result)


def run_sous(project: Path, env: dict, *flags: str):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "check the button",
            "--output-format",
            "stream-json",
            "--verbose",
            "--allowedTools",
            "Screenshot,Edit,Read",
            *flags,
        ],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent), "ENABLE_TOOL_SEARCH": "false", **env},
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def shot_turns(index: Path) -> list[dict]:
    """The model looks, makes the red button green, and looks again."""
    look = {"name": "Screenshot", "input": {"url": str(index), "width": 400, "height": 300}}
    return [
        {"tool_calls": [look]},
        {"tool_calls": [{"name": "Read", "input": {"file_path": str(index)}}]},
        {
            "tool_calls": [
                {
                    "name": "Edit",
                    "input": {
                        "file_path": str(index),
                        "old_string": "background:rgb(255, 0, 0)",
                        "new_string": "background:rgb(0, 170, 0)",
                    },
                }
            ]
        },
        {"tool_calls": [look]},
        {"text": "The button is green now."},
    ]


def image_of(part: dict) -> PILImage.Image:
    # Anthropic's image block, or OpenAI's data URL
    data = part["source"]["data"] if part.get("type") == "image" else part["image_url"]["url"].partition("base64,")[2]
    return PILImage.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def anthropic_images(body: dict) -> list[dict]:
    return [
        part
        for message in body["messages"]
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
        for part in block["content"]
        if part.get("type") == "image"
    ]


def openai_images(body: dict) -> list[dict]:
    return [
        part
        for message in body["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


@pytest.mark.parametrize("wire", ["anthropic", "openai"])
def test_the_model_sees_the_button_change_colour_on_both_wire_protocols(tmp_path, wire):
    project = tmp_path / "p"
    project.mkdir()
    index = project / "index.html"
    index.write_text(page("rgb(255, 0, 0)"))
    with ScriptedServer(shot_turns(index)) as api:
        env = (
            {"ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "k"}
            if wire == "anthropic"
            else {"OPENAI_BASE_URL": api.openai_url, "OPENAI_API_KEY": "k"}
        )
        model = "anthropic:claude-sonnet-4-5" if wire == "anthropic" else "openai:gpt-4o"
        lines = run_sous(project, env, "--model", model)
    assert lines[-1]["result"] == "The button is green now."
    images = anthropic_images if wire == "anthropic" else openai_images
    after_first, after_second = images(api.requests[1]["body"]), images(api.requests[4]["body"])
    assert len(after_first) == 1 and len(after_second) == 2
    assert image_of(after_first[0]).getpixel((60, 60)) == (255, 0, 0)
    assert image_of(after_second[-1]).getpixel((60, 60)) == (0, 170, 0)
    assert "background:rgb(0, 170, 0)" in index.read_text()


def test_without_chromium_the_tool_is_not_offered_and_status_says_how(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    script = tmp_path / "turns.json"
    script.write_text(json.dumps([{"text": "hi"}]))
    env = {"SOUS_CHROMIUM": str(tmp_path / "no-such-browser")}
    lines = run_sous(project, env, "--model", f"scripted:{script}")
    init = next(line for line in lines if line.get("subtype") == "init")
    assert "Screenshot" not in init["tools"]
    import asyncio

    from sous.runtime import Options, open_session
    from sous.ui.slash import _status

    session = open_session(
        Options(cwd=str(project), model=f"scripted:{script}", persist=False, environ={**os.environ, **env})
    )
    outcome = asyncio.run(_status(session, "", []))
    assert "Screenshot: not offered: it needs Chromium (apt-get install chromium" in outcome.text
