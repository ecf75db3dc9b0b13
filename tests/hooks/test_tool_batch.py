"""PostToolBatch through the real `sous -p`: once per assistant message, after its last result."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hook_log import logging, project_with_hook, run_sous


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_with_hook(tmp_path)


def run(project: Path, turns: list, hooks: dict, *flags: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    return run_sous(project, turns, {"hooks": hooks}, "--dangerously-skip-permissions", *flags)


def results(result: subprocess.CompletedProcess) -> list[str]:
    out = [json.loads(line) for line in result.stdout.splitlines()]
    blocks = [c for o in out if o["type"] == "user" for c in o["message"]["content"]]
    return [c["content"] for c in blocks if c["type"] == "tool_result"]


def bash(*commands: str) -> dict:
    return {"tool_calls": [{"name": "Bash", "input": {"command": c}} for c in commands]}


def test_a_hook_that_prints_garbage_or_crashes_does_not_stop_the_run(project, tmp_path):
    hooks = {"PostToolBatch": [{"hooks": [logging(tmp_path, "{not json"), logging(tmp_path, "", 1)]}]}
    result, payloads = run(project, [bash("echo one"), bash("echo two"), {"text": "done"}], hooks)
    assert result.returncode == 0, result.stderr
    assert len(payloads) == 4  # two handlers, two batches
    assert [r.strip() for r in results(result)] == ["one", "two"]


def test_it_fires_once_per_message_with_every_call_in_order(project, tmp_path):
    (project / "a.txt").write_text("alpha\n")
    (project / "b.txt").write_text("beta\n")
    reads = {
        "tool_calls": [
            {"name": "Read", "input": {"file_path": "a.txt"}},
            {"name": "Read", "input": {"file_path": "b.txt"}},
        ]
    }
    turns = [reads, bash("echo one", "echo two"), {"text": "done"}]
    result, payloads = run(project, turns, {"PostToolBatch": [{"hooks": [logging(tmp_path)]}]})
    assert result.returncode == 0, result.stderr
    assert [p["hook_event_name"] for p in payloads] == ["PostToolBatch", "PostToolBatch"]
    first, second = (p["tool_calls"] for p in payloads)
    assert [(c["tool_name"], c["tool_input"]) for c in first] == [
        ("Read", {"file_path": "a.txt"}),
        ("Read", {"file_path": "b.txt"}),
    ]
    assert "alpha" in first[0]["tool_response"] and "beta" in first[1]["tool_response"]
    assert [c["tool_response"].strip() for c in second] == ["one", "two"]
    assert all(c["tool_use_id"] for c in first + second) and len({c["tool_use_id"] for c in first + second}) == 4
    assert payloads[0]["session_id"] and payloads[0]["cwd"] == str(project)


def test_no_batch_for_a_message_without_calls(project, tmp_path):
    result, payloads = run(project, [{"text": "nothing to do"}], {"PostToolBatch": [{"hooks": [logging(tmp_path)]}]})
    assert result.returncode == 0 and payloads == []


def test_additional_context_reaches_the_model_once_after_the_batch(project, tmp_path):
    context = json.dumps(
        {"hookSpecificOutput": {"hookEventName": "PostToolBatch", "additionalContext": "run the tests next"}}
    )
    hooks = {"PostToolBatch": [{"hooks": [logging(tmp_path, context)]}]}
    result, _ = run(project, [bash("echo one", "echo two"), {"text": "done"}], hooks)
    assert result.returncode == 0, result.stderr
    texts = results(result)
    assert "run the tests next" not in texts[0]
    assert "<system-reminder>\nrun the tests next\n</system-reminder>" in texts[1]


@pytest.mark.parametrize(
    ("output", "code", "reason"),
    [
        (json.dumps({"decision": "block", "reason": "lint the files first"}), 0, "lint the files first"),
        (json.dumps({"continue": False, "stopReason": "budget used up"}), 0, "budget used up"),
        ("", 2, ""),
    ],
)
def test_a_block_or_continue_false_stops_the_run(project, tmp_path, output, code, reason):
    hooks = {"PostToolBatch": [{"hooks": [logging(tmp_path, output, code)]}]}
    result, payloads = run(project, [bash("echo one"), bash("touch second"), {"text": "done"}], hooks)
    assert len(payloads) == 1
    assert not (project / "second").exists()
    final = json.loads(result.stdout.splitlines()[-1])
    assert final["num_turns"] == 1 and final["is_error"]
    stopped = results(result)[0]
    assert stopped.startswith("one\n") and "PostToolBatch hook stopped the run" in stopped and reason in stopped


def test_it_fires_inside_a_sub_agent_with_its_id(project, tmp_path):
    agent = {"name": "Agent", "input": {"description": "list", "prompt": "list files", "subagent_type": "Explore"}}
    turns = [{"tool_calls": [agent]}, bash("ls"), {"text": "two files"}, {"text": "ok"}]
    result, payloads = run(project, turns, {"PostToolBatch": [{"hooks": [logging(tmp_path)]}]})
    assert result.returncode == 0, result.stderr
    inner, outer = payloads
    assert inner["agent_type"] == "Explore" and inner["agent_id"]
    assert [c["tool_name"] for c in inner["tool_calls"]] == ["Bash"]
    assert "agent_id" not in outer and [c["tool_name"] for c in outer["tool_calls"]] == ["Agent"]
