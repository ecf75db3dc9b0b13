"""Servers that stall, or are not the provider at all: bounded waits, one clear line, retries said aloud."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sous
from sous.core import CancelToken, ModelRequest, ProviderError, Retry, user
from sous.models._http import DEFAULT_IDLE_TIMEOUT_S, RetryPolicy
from sous.models.anthropic import AnthropicModel
from sous.models.openai_chat import OpenAIChatModel
from sous.testing.server import ScriptedServer

SRC = str(Path(sous.__file__).resolve().parents[1])
HTML = "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>It works</body></html>"


@pytest.fixture(params=["anthropic", "openai"])
def protocol(request) -> str:
    return request.param


def make_model(protocol: str, server: ScriptedServer, **env: str):
    env = {"SOUS_RETRY_BASE_DELAY": "0.001", **env}
    if protocol == "anthropic":
        return AnthropicModel(
            "claude-sonnet-4-5", environ={"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-test", **env}
        )
    return OpenAIChatModel(
        "gpt-5.1", environ={"OPENAI_BASE_URL": server.openai_url, "OPENAI_API_KEY": "sk-test", **env}
    )


async def ask(model):
    events: list = []
    reply = await model.complete(
        ModelRequest(system="", messages=(user("hi"),), tools=()), events.append, CancelToken()
    )
    return reply, events


async def test_a_stalled_stream_counts_as_cut_after_the_idle_timeout_and_is_retried(protocol):
    turns = [{"text": "this stream stops half way and then says nothing " * 4, "stall": 3}, {"text": "second try"}]
    with ScriptedServer(turns) as server:
        started = time.monotonic()
        reply, events = await ask(make_model(protocol, server, SOUS_STREAM_IDLE_TIMEOUT_MS="300"))
        took = time.monotonic() - started
    assert reply.text == "second try" and took < 2.5
    retries = [e for e in events if isinstance(e, Retry)]
    assert len(retries) == 1 and retries[0].status is None
    assert "sent nothing for 0.3s" in retries[0].error and "SOUS_STREAM_IDLE_TIMEOUT_MS" in retries[0].error


def test_the_idle_timeout_is_read_from_the_environment_with_a_sane_fallback():
    assert RetryPolicy.from_environ({}).idle_timeout_s == DEFAULT_IDLE_TIMEOUT_S == 120
    assert RetryPolicy.from_environ({"SOUS_STREAM_IDLE_TIMEOUT_MS": "90000"}).idle_timeout_s == 90
    for bad in ("soon", "0", "-5", "nan"):
        assert RetryPolicy.from_environ({"SOUS_STREAM_IDLE_TIMEOUT_MS": bad}).idle_timeout_s == 120


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=utf-8", "application/xhtml+xml"])
async def test_an_html_page_is_a_wrong_base_url_in_one_line_and_not_retried(protocol, content_type):
    turns = [{"answer": {"status": 200, "content_type": content_type, "body": HTML}}, {"text": "never reached"}]
    with ScriptedServer(turns) as server:
        with pytest.raises(ProviderError) as e:
            await ask(make_model(protocol, server))
        assert len(server.requests) == 1
    variable = "ANTHROPIC_BASE_URL" if protocol == "anthropic" else "OPENAI_BASE_URL"
    text = str(e.value)
    assert "\n" not in text and "answered with an HTML page, not an event stream" in text
    assert f"check {variable}" in text and server.url in text and not e.value.retryable


async def test_a_json_error_body_with_status_200_is_said_and_not_retried(protocol):
    body = json.dumps({"error": {"message": "model 'gpt-9' not found", "code": 404}})
    turns = [{"answer": {"status": 200, "content_type": "application/json", "body": body}}, {"text": "never"}]
    with ScriptedServer(turns) as server:
        with pytest.raises(ProviderError) as e:
            await ask(make_model(protocol, server))
        assert len(server.requests) == 1
    assert "answered 200 with an error: model 'gpt-9' not found" in str(e.value)


async def test_a_whole_json_answer_to_a_streaming_request_is_said_and_not_retried(protocol):
    body = json.dumps({"choices": [{"message": {"content": "hi"}}]})
    turns = [{"answer": {"status": 200, "content_type": "application/json", "body": body}}, {"text": "never"}]
    with ScriptedServer(turns) as server:
        with pytest.raises(ProviderError, match="answered with JSON, not an event stream"):
            await ask(make_model(protocol, server))
        assert len(server.requests) == 1


async def test_each_retry_carries_attempt_delay_and_status(protocol):
    turns = [
        {"error": {"status": 503, "message": "busy"}},
        {"error": {"status": 429, "message": "slow down"}},
        {"text": "ok"},
    ]
    with ScriptedServer(turns) as server:
        reply, events = await ask(make_model(protocol, server, SOUS_MAX_RETRIES="4"))
    retries = [e for e in events if isinstance(e, Retry)]
    assert reply.text == "ok"
    assert [(r.attempt, r.max_retries, r.status) for r in retries] == [(1, 4, 503), (2, 4, 429)]
    assert all(r.delay_s >= 0 for r in retries)


# The real command: retries are said while they happen, in text mode on stderr and in stream-json.


def sous_p(env: dict, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
        "SOUS_RETRY_BASE_DELAY": "0.001",
        "SOUS_MAX_RETRIES": "2",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "sous", "-p", "hi", *args],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        cwd=env["HOME"],
    )


def anthropic_env(server: ScriptedServer, tmp_path: Path) -> dict:
    return {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-test", "HOME": str(tmp_path)}


def test_stream_json_shows_each_retry_as_claude_codes_api_retry_message(tmp_path):
    turns = [
        {"error": {"status": 500, "message": "boom"}},
        {"error": {"status": 429, "message": "later"}},
        {"text": "done"},
    ]
    with ScriptedServer(turns) as server:
        run = sous_p(
            anthropic_env(server, tmp_path),
            "--model",
            "anthropic:claude-sonnet-4-5",
            "--output-format",
            "stream-json",
            "--verbose",
        )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    retries = [line for line in lines if line.get("subtype") == "api_retry"]
    assert [(r["attempt"], r["max_retries"], r["error_status"], r["error"]) for r in retries] == [
        (1, 2, 500, "server_error"),
        (2, 2, 429, "rate_limit"),
    ]
    assert all(
        r["type"] == "system" and isinstance(r["retry_delay_ms"], int) and r["session_id"] and r["uuid"]
        for r in retries
    )
    assert lines[-1]["type"] == "result" and lines[-1]["result"] == "done"


def test_text_mode_says_each_retry_on_stderr_and_keeps_stdout_for_the_answer(tmp_path):
    turns = [{"error": {"status": 500, "message": "boom"}}] * 3
    with ScriptedServer(turns) as server:
        run = sous_p(anthropic_env(server, tmp_path), "--model", "anthropic:claude-sonnet-4-5")
    assert run.returncode != 0
    said = [line for line in run.stderr.splitlines() if "retrying in" in line]
    assert len(said) == 2 and "attempt 1 of 2, 500" in said[0] and "attempt 2 of 2, 500" in said[1]
    assert "retrying" not in run.stdout


def test_sous_pointed_at_a_web_server_says_so_at_once(tmp_path):
    with ScriptedServer([{"answer": {"status": 200, "content_type": "text/html", "body": HTML}}] * 3) as server:
        run = sous_p(anthropic_env(server, tmp_path), "--model", "anthropic:claude-sonnet-4-5")
        assert len(server.requests) == 1
    assert run.returncode != 0 and "retrying" not in run.stderr
    assert "answered with an HTML page, not an event stream: check ANTHROPIC_BASE_URL" in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("content_type", "body", "said"),
    [
        ("text/plain", HTML, "answered with an HTML page"),
        ("", HTML, "answered with an HTML page"),
        ("application/octet-stream", '{"result": "not streamed"}', "answered with JSON"),
    ],
)
async def test_a_wrong_answer_that_does_not_say_its_type_is_judged_by_its_body(protocol, content_type, body, said):
    turns = [{"answer": {"status": 200, "content_type": content_type, "body": body}}, {"text": "never"}]
    with ScriptedServer(turns) as server:
        with pytest.raises(ProviderError, match=said):
            await ask(make_model(protocol, server))
        assert len(server.requests) == 1


async def test_a_stream_line_without_end_is_refused_before_it_fills_memory(protocol):
    body = "data: " + "x" * (17 * 2**20)
    turns = [{"answer": {"status": 200, "content_type": "text/event-stream", "body": body}}, {"text": "never"}]
    with ScriptedServer(turns) as server:
        with pytest.raises(ProviderError, match="sent a line over 16 MB without an end"):
            await ask(make_model(protocol, server))
        assert len(server.requests) == 1


@pytest.mark.parametrize("line_end", ["\r\n", "\r", "\n"])
async def test_every_sse_line_end_is_read(protocol, line_end):
    from sous.testing.server import anthropic_events, openai_chunks

    turn = {"text": "ends \u2028 of lines"}
    if protocol == "anthropic":
        events = [
            f"event: {name}{line_end}data: {json.dumps(data, ensure_ascii=False)}{line_end}{line_end}"
            for name, data in anthropic_events(turn, "m")
        ]
    else:
        events = [f"data: {json.dumps(c, ensure_ascii=False)}{line_end}{line_end}" for c in openai_chunks(turn, "m")]
        events.append(f"data: [DONE]{line_end}{line_end}")
    turns = [{"answer": {"status": 200, "content_type": "text/event-stream", "body": "".join(events)}}]
    with ScriptedServer(turns) as server:
        reply, _ = await ask(make_model(protocol, server))
    assert reply.text == "ends \u2028 of lines"


async def test_line_ends_split_across_chunks_are_one_line_end():
    import httpx

    from sous.models._http import _lines

    class Chunks(httpx.AsyncByteStream):
        async def __aiter__(self):
            for chunk in (b"data: a\r", b"\ndata: b\r", b"\r", b"\n", b"x" * 10, b"y\n\r\n", b"tail"):
                yield chunk

    response = httpx.Response(200, stream=Chunks())
    assert [line async for line in _lines(response, "http://x")] == [
        "data: a",
        "data: b",
        "",
        "xxxxxxxxxxy",
        "",
        "tail",
    ]
