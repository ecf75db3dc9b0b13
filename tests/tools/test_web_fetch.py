"""WebFetch against a real HTTP server on 127.0.0.1: pages, redirects, caps, the cache, the
sandbox's domains, permission rules and the side model (on the scripted Anthropic endpoint)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web_server import WebServer, html, redirect, send

import sous
from sous.core import ToolContext
from sous.testing.server import ScriptedServer
from sous.tools import _sandbox, web_fetch
from sous.tools.web_fetch import TOOL as WEB_FETCH

SRC = str(Path(sous.__file__).resolve().parents[1])

PAGE = """<html><head><title>Docs</title><style>body{color:red}</style><script>var secret=1</script></head>
<body><h1>Install</h1><p>Run <code>pip install widget</code> to install.</p>
<ul><li>fast</li><li>small</li></ul><a href="/next">next page</a></body></html>"""


@pytest.fixture(autouse=True)
def empty_cache():
    web_fetch._cache.clear()


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path), environ={"SOUS_WEB_FETCH_TIMEOUT": "3"})


async def fetch(ctx, url, prompt="What does it say?"):
    return await WEB_FETCH.run({"url": url, "prompt": prompt}, ctx)


async def test_html_becomes_markdown_without_scripts_or_styles(ctx):
    with WebServer({"/": html(PAGE)}) as server:
        result = await fetch(ctx, server.url + "/")
    assert not result.is_error
    assert "# Install" in result.content and "`pip install widget`" in result.content
    assert "* fast" in result.content and "[next page](/next)" in result.content
    assert "secret" not in result.content and "color:red" not in result.content
    assert result.data["code"] == 200 and result.data["model"] is None


async def test_a_redirect_to_another_host_is_reported_not_followed(ctx):
    with WebServer({"/": html("<p>landed</p>")}) as target:
        other = f"http://localhost:{target.port}/"  # another host name for the same server
        with WebServer({"/go": redirect(other)}) as server:
            result = await fetch(ctx, server.url + "/go")
    assert not result.is_error
    assert "REDIRECT DETECTED" in result.content and f'url="{other}"' in result.content
    assert target.hits == []  # never followed
    assert "landed" not in result.content


async def test_a_redirect_on_the_same_host_is_followed(ctx):
    with WebServer({"/old": redirect("/new", 301), "/new": html("<p>moved here</p>")}) as server:
        result = await fetch(ctx, server.url + "/old")
    assert result.content == "moved here" and result.data["url"].endswith("/new")


async def test_a_20_mb_page_is_cut_at_the_size_cap_with_a_note(ctx):
    body = b"<p>" + b"a" * (20 * 1024 * 1024) + b"</p>"
    with WebServer({"/huge": lambda h: send(h, 200, body, "text/plain")}) as server:
        started = time.monotonic()
        result = await fetch(ctx, server.url + "/huge")
    assert not result.is_error
    assert result.data["bytes"] == web_fetch.MAX_BYTES
    assert "larger than 10 MB; only its first 10 MB were read" in result.content
    assert len(result.content) < web_fetch.DIRECT_CHARS + 500
    assert time.monotonic() - started < 30


async def test_big_markup_is_cut_before_conversion_with_a_note(ctx, monkeypatch):
    monkeypatch.setattr(web_fetch, "MAX_HTML_CHARS", 50_000)
    scripts = "<script>" + "x" * 3_000_000 + "</script>"  # dropped before parsing: costs nothing
    paragraphs = "".join(f"<p>para {i}</p>" for i in range(10_000))
    with WebServer({"/": html(f"<html><body>{scripts}<h1>Top</h1>{paragraphs}</body></html>")}) as server:
        started = time.monotonic()
        result = await fetch(ctx, server.url + "/")
    assert time.monotonic() - started < 20
    assert "Top" in result.content and "para 10" in result.content and "para 9999" not in result.content
    assert "only the first 50,000 were converted" in result.content
    assert web_fetch._cache  # a cut by size is cached; only a cut by time is not


def stall_before_headers(handler):
    time.sleep(8)


def trickle(handler):
    handler.send_response(200)
    handler.send_header("content-type", "text/plain")
    handler.end_headers()
    handler.wfile.write(b"first part of the page\n")
    handler.wfile.flush()
    time.sleep(8)


async def test_a_server_that_never_answers_times_out(ctx):
    with WebServer({"/stall": stall_before_headers}) as server:
        started = time.monotonic()
        result = await fetch(ctx, server.url + "/stall")
    assert result.is_error and "timed out after 3 s" in result.content
    assert time.monotonic() - started < 7


async def test_a_slow_body_is_cut_at_the_time_cap_and_not_cached(ctx):
    with WebServer({"/slow": trickle}) as server:
        started = time.monotonic()
        result = await fetch(ctx, server.url + "/slow")
        assert time.monotonic() - started < 7
        assert "first part of the page" in result.content
        assert "longer than the time cap" in result.content
        assert web_fetch._cache == {}


async def test_pages_are_cached_for_15_minutes(ctx):
    with WebServer({"/": html("<p>v1</p>")}) as server:
        assert (await fetch(ctx, server.url + "/")).content == "v1"
        server.routes["/"] = html("<p>v2</p>")
        assert (await fetch(ctx, server.url + "/")).content == "v1"
        assert server.hits == ["/"]
        stamp, page = web_fetch._cache[server.url + "/"]
        web_fetch._cache[server.url + "/"] = (stamp - web_fetch.CACHE_SECONDS - 1, page)
        assert (await fetch(ctx, server.url + "/")).content == "v2"


async def test_errors_are_results(ctx):
    with WebServer({}) as server:
        missing = await fetch(ctx, server.url + "/nope")
    assert missing.is_error and "404" in missing.content
    for bad in ("ftp://example.com/x", "file:///etc/passwd", "not a url", "https://user:pw@example.com/"):
        result = await fetch(ctx, bad)
        assert result.is_error and result.content.startswith("Invalid URL"), bad
    closed = await fetch(ctx, "http://127.0.0.1:9/")  # nothing listens on the discard port
    assert closed.is_error and "failed" in closed.content


async def test_binary_content_is_refused_in_one_line_and_pdfs_are_read(ctx):
    from test_documents import make_pdf

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    with WebServer(
        {
            "/logo.png": lambda h: send(h, 200, png, "image/png"),
            "/blob": lambda h: send(h, 200, b"\0\1\2" * 100, ""),
            "/doc.pdf": lambda h: send(h, 200, make_pdf(["Quarterly numbers"]), "application/pdf"),
            "/data.json": lambda h: send(h, 200, b'{"a": 1}', "application/json"),
        }
    ) as server:
        image = await fetch(ctx, server.url + "/logo.png")
        blob = await fetch(ctx, server.url + "/blob")
        pdf = await fetch(ctx, server.url + "/doc.pdf")
        data = await fetch(ctx, server.url + "/data.json")
    assert image.is_error and "image/png content, which WebFetch does not show" in image.content
    assert blob.is_error and "binary content" in blob.content
    assert not pdf.is_error and "--- Page 1 ---\nQuarterly numbers" in pdf.content
    assert data.content == '{"a": 1}'


def test_http_is_upgraded_except_on_loopback():
    assert web_fetch.normalise("http://example.com/a#frag") == "https://example.com/a"
    assert web_fetch.normalise("http://localhost:8000/") == "http://localhost:8000/"
    assert web_fetch.normalise("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"


async def test_the_sandbox_allowed_domains_bind_webfetch(ctx):
    with WebServer({"/": html("<p>local</p>")}) as server:
        ctx.state["sandbox"] = _sandbox.Sandbox(writable=(ctx.cwd,), allowed_domains=("example.com",))
        refused = await fetch(ctx, server.url + "/")
        assert refused.is_error and "not in sandbox.network.allowedDomains (example.com)" in refused.content
        assert server.hits == []
        ctx.state["sandbox"] = _sandbox.Sandbox(writable=(ctx.cwd,), allowed_domains=("127.0.0.1",))
        assert (await fetch(ctx, server.url + "/")).content == "local"
        ctx.state["sandbox"] = _sandbox.Sandbox(writable=(ctx.cwd,), network=True)
        web_fetch._cache.clear()
        assert (await fetch(ctx, server.url + "/")).content == "local"


def test_without_a_model_a_long_page_gives_its_best_matching_parts():
    filler = "\n\n".join(f"Paragraph {i} about gardening and tomatoes." for i in range(2000))
    page = filler + "\n\nThe widget API key rotation happens every 90 days.\n\n" + filler
    part = web_fetch.relevant_part(page, "How often does the API key rotation happen?")
    assert "every 90 days" in part and "No model was used" in part
    assert len(part) < web_fetch.DIRECT_CHARS + 300


def run_sous(project: Path, env: dict, *flags: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    done = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "go", "--output-format", "stream-json", "--verbose", *flags],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent), **env},
    )
    return done, [json.loads(line) for line in done.stdout.splitlines()]


def tool_results(lines: list[dict]) -> list[dict]:
    return [
        b
        for line in lines
        if line.get("type") == "user"
        for b in line["message"]["content"]
        if b.get("type") == "tool_result"
    ]


def result_text(block: dict) -> str:
    content = block["content"]
    return content if isinstance(content, str) else "".join(c.get("text", "") for c in content)


def test_on_anthropic_a_haiku_model_answers_the_prompt(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    with WebServer({"/": html(PAGE)}) as site:
        turns = [
            {"tool_calls": [{"name": "WebFetch", "input": {"url": site.url + "/", "prompt": "How to install?"}}]},
            {"text": "Install it with pip install widget."},
            {"text": "Done."},
        ]
        with ScriptedServer(turns) as api:
            done, lines = run_sous(
                project,
                {"ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "k"},
                "--model",
                "anthropic:claude-sonnet-4-5",
                "--allowedTools",
                "WebFetch",
            )
    assert done.returncode == 0, done.stderr
    side = api.requests[1]["body"]
    assert side["model"] == "claude-haiku-4-5" and "tools" not in side
    asked = json.dumps(side["messages"])
    assert "pip install widget" in asked and "How to install?" in asked
    (result,) = tool_results(lines)
    assert result_text(result) == "Install it with pip install widget."


def test_a_domain_rule_denies_and_another_allows(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    with WebServer({"/": html("<p>secret page</p>")}) as site:
        turns = [
            {"tool_calls": [{"name": "WebFetch", "input": {"url": site.url + "/", "prompt": "x"}}]},
            {"text": "ok"},
        ]
        script = tmp_path / "turns.json"
        script.write_text(json.dumps(turns))
        done, lines = run_sous(
            project,
            {},
            "--model",
            f"scripted:{script}",
            "--allowedTools",
            "WebFetch",
            "--disallowedTools",
            "WebFetch(domain:127.0.0.1)",
        )
        assert done.returncode == 0, done.stderr
        (denied,) = tool_results(lines)
        assert denied["is_error"] and "WebFetch(domain:127.0.0.1)" in result_text(denied)
        assert site.hits == []
        script.write_text(json.dumps([*turns[:1], {"text": "The page says: secret page"}, {"text": "ok"}]))
        done, lines = run_sous(
            project,
            {},
            "--model",
            f"scripted:{script}",
            "--allowedTools",
            "WebFetch(domain:127.0.0.1)",
            "--permission-mode",
            "dontAsk",
        )
        (allowed,) = tool_results(lines)
        assert not allowed.get("is_error") and result_text(allowed) == "The page says: secret page"
        assert site.hits == ["/"]
