from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from sous.context import compact, measure
from sous.context.autocompact import Policy
from sous.core import AssistantMessage, ContextOverflow, Text, ToolCall, ToolResultMessage, UserMessage
from sous.models import _http, _overflow
from sous.models.scripted import ScriptedModel
from sous.runtime import Options, open_session
from sous.store import transcript
from sous.ui import slash

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import long_session

WORDINGS = [  # (message, prompt tokens, window), as servers send them
    ("prompt is too long: 210543 tokens > 200000 maximum", 210543, 200000),
    (
        "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length",
        188240,
        200000,
    ),
    (
        (
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130012 tokens. "
            "Please reduce the length of the messages."
        ),
        130012,
        128000,
    ),
    (
        (
            "This model's maximum context length is 16384 tokens. However, you requested 122946 tokens (112946 in the "
            "messages, 10000 in the completion)."
        ),
        122946,
        16384,
    ),
    (
        "This endpoint's maximum context length is 1048576 tokens. However, you requested about 1293741 tokens",
        1293741,
        1048576,
    ),
    ("request (4476 tokens) exceeds the available context size (4096 tokens)", 4476, 4096),
    ("the request exceeds the available context size, try increasing it", None, None),
    ("The prompt (total length 25938) is too long to fit into the model (context length 4096).", 25938, 4096),
    ("Input prompt (35247 tokens) is too long and exceeds limit of 1000", 35247, 1000),
    ("Requested tokens (5000) exceed context window of 4096", 5000, 4096),
    ("The number of tokens to keep from the initial prompt is greater than the context length", None, None),
    ("the input length exceeds the context length", None, None),
    ("Your input exceeds the context window of this model. (context_length_exceeded)", None, None),
]


@pytest.mark.parametrize(("text", "tokens", "limit"), WORDINGS)
def test_every_known_too_long_wording_is_a_context_overflow_with_its_numbers(text, tokens, limit):
    for status in (400, 413):
        error = _http.error_for_status(status, text, "KEY")
        assert isinstance(error, ContextOverflow), text
        assert (error.tokens, error.limit) == (tokens, limit)
        assert not error.retryable


@pytest.mark.parametrize(
    "text",
    [
        "messages: roles must alternate between user and assistant",
        "max_tokens: 300000 > 64000, which is the maximum allowed",
        "tools.0.name: String should match pattern",
    ],
)
def test_other_bad_requests_are_not_overflows(text):
    error = _http.error_for_status(400, text, "KEY")
    assert not isinstance(error, ContextOverflow) and not _overflow.is_overflow(text)


def test_a_llama_cpp_error_body_gives_its_window():
    error = _http.error_for_status(400, "request (9000 tokens) exceeds the available context size", "KEY", n_ctx=8192)
    assert isinstance(error, ContextOverflow) and error.limit == 8192


def test_policy_names_follow_claude_code_and_bad_values_are_one_line():
    get = {"autoCompactWindow": 50000}.get
    assert Policy.from_config(get, {})[0] == Policy(window=50000)
    assert Policy.from_config(get, {"SOUS_AUTO_COMPACT_WINDOW": "80_000"})[0].window == 80000
    assert Policy.from_config({"autoCompactEnabled": False}.get, {})[0].auto is False
    off = Policy.from_config({}.get, {"DISABLE_COMPACT": "1"})[0]
    assert not off.auto and not off.manual
    policy, problems = Policy.from_config(
        {"autoCompactWindow": "lots", "autoCompactEnabled": "no"}.get, {"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "150"}
    )
    assert policy == Policy() and len(problems) == 3 and all("\n" not in p for p in problems)


def _history(exchanges: int, size: int) -> list:
    messages: list = [UserMessage(content=(Text(text="Please read every file; never touch tests/."),), id="u0")]
    for i in range(exchanges):
        call = ToolCall(id=f"c{i}", name="Read", arguments={"file_path": f"f{i}.txt"})
        messages.append(AssistantMessage(content=(Text(text=f"reading {i}"), call), id=f"a{i}"))
        messages.append(
            ToolResultMessage(
                tool_call_id=f"c{i}", tool_name="Read", id=f"r{i}", content=(Text(text=f"file {i} " + "x" * size),)
            )
        )
    return messages


async def test_the_summary_requests_fit_and_the_newest_exchange_stays_verbatim():
    budget = measure.budget_for(8_000, 16_000)
    history = _history(24, 3_000)  # ~72k characters: several times what one request may hold
    model = ScriptedModel([{"text": f"summary {i}"} for i in range(20)])
    outcome = await compact.compact(model, "system", history, budget, compact.Carry())
    assert len(model.requests) > 1  # summarised in pieces, each piece with the summary so far
    for request in model.requests:
        chars = len(request.system) + sum(measure.message_chars(m) for m in request.messages)
        assert budget.tokens(chars) <= budget.prompt_limit
    assert "summary 0" in model.requests[1].messages[0].text  # a summary of a summary
    assert outcome.messages[-2:] == history[-2:]  # the newest call and result, untouched
    assert "- USER: Please read every file; never touch tests/." in outcome.messages[0].text


async def test_an_oversized_newest_result_is_cut_with_a_pointer_to_the_transcript():
    budget = measure.budget_for(8_000, 16_000)
    history = _history(2, 80_000)
    outcome = await compact.compact(
        ScriptedModel([{"text": "s"}]), "", history, budget, compact.Carry(transcript_path="/t/s.jsonl")
    )
    kept = outcome.messages[-1]
    assert isinstance(kept, ToolResultMessage) and kept.tool_call_id == "c1"
    assert "whole output is in the transcript" in kept.text and len(kept.text) < 10_000
    assert "/t/s.jsonl" in outcome.messages[0].text


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "CLAUDE.md").write_text("Always answer in French. RULE-7731")
    (root / "notes.txt").write_text("the notes file " * 50)
    return root


def _open(project, tmp_path, turns, settings=None):
    environ = {**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")}
    session = open_session(
        Options(
            cwd=str(project),
            model=ScriptedModel(turns),
            environ=environ,
            permission_mode="bypassPermissions",
            settings=json.dumps(settings or {}),
        )
    )
    return session


TODOS = [
    {"content": "Port the parser", "status": "in_progress", "activeForm": "Porting the parser"},
    {"content": "Run the tests", "status": "pending", "activeForm": "Running the tests"},
]


def _context_text(messages) -> str:
    return "\n".join(b.text for m in messages for b in m.content if isinstance(b, Text))


async def test_memory_files_todos_and_read_files_survive_manual_compaction(project, tmp_path):
    session = _open(
        project,
        tmp_path,
        [
            {"tool_calls": [{"name": "TodoWrite", "input": {"todos": TODOS}}]},
            {"tool_calls": [{"name": "Read", "input": {"file_path": "notes.txt"}}]},
            {"text": "D'accord."},
            {"text": "The user wants the parser ported."},
            {"text": "Bien."},
        ],
    )
    try:
        await session.send("port the parser, keep the API")
        outcome = await slash.run(session, "/compact")
        assert not outcome.error, outcome.text
        text = _context_text(session.messages)
        assert "RULE-7731" in text and "[in_progress] Port the parser" in text and "[pending] Run the tests" in text
        assert "the notes file" in text and "- USER: port the parser, keep the API" in text
        await session.send("continue")
        sent = _context_text(session.model.requests[-1].messages)
        assert "RULE-7731" in sent and "Port the parser" in sent
    finally:
        session.close()


async def test_automatic_compaction_keeps_memory_and_todos_fires_hooks_and_resumes_from_the_boundary(project, tmp_path):
    log = tmp_path / "hooks.log"
    hooks = {
        "PreCompact": [{"matcher": "auto", "hooks": [{"type": "command", "command": f"cat >> {log}; echo >> {log}"}]}],
        "PostCompact": [{"hooks": [{"type": "command", "command": f"cat >> {log}; echo >> {log}"}]}],
    }
    big = project / "big.txt"
    big.write_text("payload line\n" * 1500)  # ~20k characters: over the 6k-token window below
    session = _open(
        project,
        tmp_path,
        [
            {"tool_calls": [{"name": "TodoWrite", "input": {"todos": TODOS}}], "usage": {"input_tokens": 1500}},
            {"tool_calls": [{"name": "Read", "input": {"file_path": "big.txt"}}], "usage": {"input_tokens": 1700}},
            {"text": "Summary: porting the parser; big.txt was read."},
            {"text": "Fini.", "usage": {"input_tokens": 2000}},
        ],
        settings={"autoCompactWindow": 6000, "hooks": hooks},
    )
    try:
        end = await session.send("port the parser")
        assert end.reason == "end_turn" and end.last_message.text == "Fini."
        summary_request, last_request = session.model.requests[2:]
        assert "Respond with TEXT ONLY" in summary_request.messages[-1].text
        sent = _context_text(last_request.messages)
        assert "RULE-7731" in sent and "[in_progress] Port the parser" in sent and "- USER: port the parser" in sent
        assert isinstance(last_request.messages[-1], ToolResultMessage)  # the newest result, kept
        fired = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        assert [f["hook_event_name"] for f in fired] == ["PreCompact", "PostCompact"]
        assert {f["trigger"] for f in fired} == {"auto"}
        assert "porting the parser" in fired[1]["compact_summary"]
        loaded = transcript.load(session.transcript_path)
        assert loaded.messages[0].text.startswith(compact.SUMMARY_HEADER)
        assert loaded.messages[-1].text == "Fini."
        assert [r["trigger"] for r in loaded.records if r["type"] == "compact"] == ["auto"]
        context = await slash.run(session, "/context")
        assert "auto-compact: at ~" in context.text and "(1 so far)" in context.text
    finally:
        session.close()


async def test_with_auto_compaction_off_an_overflow_ends_the_run_as_before(project, tmp_path):
    session = _open(
        project,
        tmp_path,
        [{"error": {"status": 400, "message": "prompt is too long"}}],
        settings={"autoCompactEnabled": False},
    )
    session.model.turns[0] = {"text": "never"}
    from sous.core import ContextOverflow as Overflow

    async def refuse(request, emit, cancel):
        raise Overflow("prompt is too long: 9 tokens > 8 maximum", status=400)

    session.model.complete = refuse
    try:
        end = await session.send("hello")
        assert end.reason == "error" and "prompt is too long" in end.last_message.error
    finally:
        session.close()


def test_a_long_session_compacts_ahead_and_never_goes_over_the_limit():
    figures = long_session.run(14, 6, 20_000, settings={"autoCompactWindow": 20_000}, timeout=300)
    assert figures["ok"], figures
    assert figures["compactions"] >= 2 and set(figures["triggers"]) == {"auto"}


def test_when_the_provider_refuses_anyway_sous_compacts_and_retries_the_turn():
    # sous believes the model has 200k; the server allows 30k: the first refusal teaches the window.
    figures = long_session.run(14, 8, 30_000, timeout=300)
    assert figures["exit"] == 0 and figures["in_order"] and figures["result"] == "All 14 steps are done.", figures
    assert figures["refused"] == 1 and figures["compactions"] >= 1


def test_a_server_that_reports_no_usage_is_measured_and_asked_for_its_window():
    figures = long_session.run(
        12, 6, 20_000, wire="openai", model="bench-model", report_usage=False, props=True, timeout=300
    )
    assert figures["ok"], figures
    assert figures["compactions"] >= 1


async def test_a_sub_agent_compacts_its_own_history(project, tmp_path):
    (project / "big.txt").write_text("payload line\n" * 1500)
    turns = [
        {
            "tool_calls": [
                {
                    "name": "Agent",
                    "input": {"description": "read it", "prompt": "read big.txt", "subagent_type": "general-purpose"},
                }
            ]
        },
        {"tool_calls": [{"name": "Read", "input": {"file_path": "big.txt"}}], "usage": {"input_tokens": 1500}},
        {"text": "Summary: the sub-agent read big.txt."},
        {"text": "big.txt holds payload lines.", "usage": {"input_tokens": 1800}},
        {"text": "Done."},
    ]
    # a window the sub-agent's read fills while the parent's prompt (system + tool schemas) stays under it
    session = _open(project, tmp_path, turns, settings={"autoCompactWindow": 8000})
    try:
        end = await session.send("use a sub-agent")
        assert end.last_message.text == "Done."
        summary_request, child_last = session.model.requests[2:4]
        assert "Respond with TEXT ONLY" in summary_request.messages[-1].text
        assert summary_request.system.startswith(session.subagents.types["general-purpose"].prompt[:40])
        assert child_last.messages[0].text.startswith(compact.SUMMARY_HEADER)
        assert "- USER: read big.txt" in child_last.messages[0].text
        parent = transcript.load(session.transcript_path)  # the parent's history was small: never compacted
        assert not [r for r in parent.records if r.get("type") == "compact"]
    finally:
        session.close()


def test_a_llama_cpp_refusal_teaches_the_window_and_the_turn_is_retried():
    # No usage, no /props: sous assumes 128k until the server's error names its n_ctx.
    figures = long_session.run(12, 6, 20_000, wire="openai", model="bench-model", report_usage=False, timeout=300)
    assert figures["exit"] == 0 and figures["in_order"] and figures["result"] == "All 12 steps are done.", figures
    assert figures["refused"] == 1 and figures["compactions"] >= 1
