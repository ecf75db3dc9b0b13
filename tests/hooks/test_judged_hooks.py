"""`prompt` and `agent` hooks: a scripted model judges the event, through the real `sous -p`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.hooks.config import load
from sous.hooks.judged import parse_answer

SRC = str(Path(sous.__file__).resolve().parents[1])
PY = sys.executable
BASH_RM = [{"tool_calls": [{"name": "Bash", "input": {"command": "rm -f keep.txt"}}]}, {"text": "done"}]


def judge(tmp_path: Path, *turns: dict, name: str = "judge.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(list(turns)))
    return f"scripted:{path}"


def run(project: Path, turns: list, hooks: dict, *flags: str, settings: dict | None = None):
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    result = subprocess.run(
        [PY, "-m", "sous", "-p", "go", "--model", f"scripted:{script}", "--output-format", "stream-json", "--verbose",
         "--settings", json.dumps({"hooks": hooks, **(settings or {})}), *flags],
        cwd=project, env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def tool_results(lines: list[dict]) -> list[str]:
    return [o["message"]["content"][0]["content"] for o in lines if o["type"] == "user"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    (work / "keep.txt").write_text("x")
    return work


def prompt_hook(model: str, **extra) -> dict:
    return {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "prompt", "prompt": "No deletes. $ARGUMENTS",
                                                         "model": model, **extra}]}]}  # fmt: skip


def test_a_prompt_hook_that_answers_not_ok_blocks_the_call_with_its_reason(project, tmp_path):
    model = judge(tmp_path, {"text": '{"ok": false, "reason": "deleting files is not allowed here"}'})
    result, lines = run(project, BASH_RM, prompt_hook(model), "--dangerously-skip-permissions")
    assert result.returncode == 0, result.stderr
    assert (project / "keep.txt").exists()
    assert "deleting files is not allowed here" in tool_results(lines)[0]


def test_a_prompt_hook_that_answers_ok_lets_the_call_run(project, tmp_path):
    model = judge(tmp_path, {"text": 'Looks fine.\n```json\n{"ok": true}\n```'})
    result, lines = run(project, BASH_RM, prompt_hook(model), "--dangerously-skip-permissions")
    assert result.returncode == 0, result.stderr
    assert not (project / "keep.txt").exists()


def test_the_judge_sees_the_event_json_in_place_of_arguments(tmp_path):
    import asyncio

    from sous.hooks import runner
    from sous.models.scripted import ScriptedModel

    model = ScriptedModel([{"text": '{"ok": true}'}])
    handler = load({"Stop": [{"hooks": [{"type": "prompt", "prompt": "Check: $ARGUMENTS!"}]}]}).handlers("Stop")[0]
    payload = {"hook_event_name": "Stop", "last_assistant_message": "all done"}
    outcome = asyncio.run(runner.run(handler, payload, cwd=str(tmp_path), env={}, models=lambda spec: model))
    assert outcome.exit_code == 0 and not outcome.failure
    sent = model.requests[0].messages[0].text
    assert sent == "Check: " + json.dumps(payload) + "!"
    assert handler.timeout_s == 30


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        ({"text": "sure, go ahead"}, "is not"),
        ({"text": '{"ok": "yes"}'}, "is not"),
        ({"error": {"status": 400, "message": "bad request"}}, "the model failed"),
        ({"text": '{"ok": true}', "delay": 5}, "did not answer within 1s"),
    ],
)
def test_a_garbled_failing_or_slow_judge_blocks_a_pretooluse_call_by_default(project, tmp_path, answer, failure):
    model = judge(tmp_path, answer)
    result, lines = run(project, BASH_RM, prompt_hook(model, timeout=1), "--dangerously-skip-permissions")
    assert result.returncode == 0, result.stderr
    assert (project / "keep.txt").exists()
    assert failure in tool_results(lines)[0]


def test_with_claude_codes_fail_open_a_garbled_judge_lets_the_call_run_with_a_warning(project, tmp_path):
    model = judge(tmp_path, {"text": "no idea"})
    result, _ = run(
        project, BASH_RM, prompt_hook(model), "--dangerously-skip-permissions",
        settings={"preToolUseHookFailure": "continue"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (project / "keep.txt").exists()
    assert "PreToolUse hook error: the model's answer is not" in result.stderr


def test_an_unknown_judge_model_is_a_failure_of_that_hook_only(project, tmp_path):
    result, lines = run(project, BASH_RM, prompt_hook("nosuchprovider:x"), "--dangerously-skip-permissions")
    assert result.returncode == 0, result.stderr
    assert "cannot use model nosuchprovider:x" in tool_results(lines)[0]


def test_without_a_model_the_session_model_judges(project, tmp_path):
    turns = [BASH_RM[0], {"text": '{"ok": false, "reason": "judged by the session model"}'}, {"text": "done"}]
    result, lines = run(project, turns, prompt_hook(""), "--dangerously-skip-permissions")
    assert result.returncode == 0, result.stderr
    assert "judged by the session model" in tool_results(lines)[0]


def test_a_stop_prompt_hook_that_says_not_ok_makes_the_agent_go_on(project, tmp_path):
    model = judge(tmp_path, {"text": '{"ok": false, "reason": "run the tests first"}'}, {"text": '{"ok": true}'})
    hooks = {"Stop": [{"hooks": [{"type": "prompt", "prompt": "Is the work finished?", "model": model}]}]}
    result, lines = run(project, [{"text": "first"}, {"text": "tests pass"}], hooks)
    assert result.returncode == 0, result.stderr
    assert lines[-1]["result"] == "tests pass"


def test_an_agent_hook_reads_the_project_before_it_decides(project, tmp_path):
    (project / "POLICY.md").write_text("Never delete keep.txt.\n")
    model = judge(
        tmp_path,
        {"tool_calls": [{"name": "Read", "input": {"file_path": str(project / "POLICY.md")}}]},
        {"text": '{"ok": false, "reason": "POLICY.md forbids it"}'},
    )
    hooks = {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "agent", "prompt": "Follow POLICY.md", "model": model}]}]
    }
    result, lines = run(project, BASH_RM, hooks, "--dangerously-skip-permissions")
    assert result.returncode == 0, result.stderr
    assert (project / "keep.txt").exists()
    assert "POLICY.md forbids it" in tool_results(lines)[0]


def test_an_agent_hook_gets_only_read_only_tools(project, tmp_path):
    model = judge(
        tmp_path, {"tool_calls": [{"name": "Bash", "input": {"command": "rm -f keep.txt"}}]}, {"text": '{"ok": true}'}
    )
    hooks = {"UserPromptSubmit": [{"hooks": [{"type": "agent", "prompt": "check", "model": model}]}]}
    result, _ = run(project, [{"text": "hi"}], hooks)
    assert result.returncode == 0, result.stderr
    assert (project / "keep.txt").exists()


def test_parse_answer_takes_the_last_ok_object_and_caps_the_reason():
    assert parse_answer('{"ok": true} then {"ok": false, "reason": "no"}') == (False, "no")
    assert parse_answer("{not json} {}") is None
    assert parse_answer("") is None
    assert parse_answer('{"ok": false, "reason": "' + "x" * 50_000 + '"}') == (False, "x" * 10_000)


def test_bad_prompt_handlers_are_one_line_problems():
    config = load(
        {
            "PreToolUse": [
                {"hooks": [{"type": "prompt"}]},
                {"hooks": [{"type": "agent", "prompt": "x", "timeout": "soon"}]},
            ]
        }
    )
    assert config.problems == [
        'hooks.PreToolUse[0]: a prompt handler needs a "prompt" string',
        'hooks.PreToolUse[1]: "timeout" must be a positive number of seconds',
    ]


def test_sous_hooks_test_runs_a_prompt_hook_and_a_new_event(tmp_path):
    project = tmp_path / "p"
    (project / ".claude").mkdir(parents=True)
    model = judge(tmp_path, {"text": '{"ok": false, "reason": "stay in the project"}'})
    hooks = {"CwdChanged": [{"hooks": [{"type": "prompt", "prompt": "Check the move", "model": model}]}]}
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}))
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"old_cwd": str(project), "new_cwd": "/"}))
    result = subprocess.run(
        [PY, "-m", "sous", "hooks", "test", "CwdChanged", str(payload)], cwd=project, capture_output=True,
        text=True, timeout=60, env={**os.environ, "PYTHONPATH": SRC, "HOME": str(home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert runs[0]["handler"] == "prompt: Check the move" and runs[0]["exit_code"] == 2
    assert runs[-1]["block"] == "stay in the project"
