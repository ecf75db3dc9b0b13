"""The events beyond the tool and prompt ones: StopFailure, CwdChanged, InstructionsLoaded,
PermissionDenied, UserPromptExpansion, each with Claude Code's input fields, through the real `sous -p`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hook_log import PY, SRC, logging, project_with_hook, run_sous

from sous.hooks import error_kind
from sous.store import transcript


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_with_hook(tmp_path)


run = run_sous


def test_stop_failure_fires_with_the_error_kind_as_matcher(project, tmp_path):
    hooks = {"StopFailure": [{"matcher": "rate_limit", "hooks": [logging(tmp_path)]}]}
    result, payloads = run(project, [{"error": {"status": 429, "message": "slow down"}}], {"hooks": hooks})
    assert result.returncode == 1
    assert len(payloads) == 1
    assert payloads[0]["hook_event_name"] == "StopFailure" and payloads[0]["error"] == "rate_limit"
    assert "slow down" in payloads[0]["error_details"]


def test_stop_failure_does_not_fire_on_a_good_turn_or_another_error_kind(project, tmp_path):
    hooks = {"StopFailure": [{"matcher": "rate_limit", "hooks": [logging(tmp_path)]}]}
    _, payloads = run(project, [{"text": "fine"}], {"hooks": hooks})
    assert payloads == []
    _, payloads = run(project, [{"error": {"status": 401, "message": "bad key"}}], {"hooks": hooks})
    assert payloads == []


def test_error_kinds():
    assert [error_kind(s) for s in (401, 402, 404, 400, 429, 529, 500, None, "x")] == [
        "authentication_failed", "billing_error", "model_not_found", "invalid_request", "rate_limit",
        "overloaded", "server_error", "unknown", "unknown",
    ]  # fmt: skip


def test_cwd_changed_fires_when_a_command_moves_the_session(project, tmp_path):
    (project / "sub").mkdir()
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "cd sub"}}]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "pwd"}}]},
        {"text": "done"},
    ]
    hooks = {"CwdChanged": [{"hooks": [logging(tmp_path)]}]}
    result, payloads = run(project, turns, {"hooks": hooks}, "--dangerously-skip-permissions")
    assert result.returncode == 0, result.stderr
    assert [(p["old_cwd"], p["new_cwd"]) for p in payloads] == [(str(project), str(project / "sub"))]


def test_instructions_loaded_fires_for_each_memory_file(project, tmp_path):
    (project / "CLAUDE.md").write_text("be brief\n")
    (project / "CLAUDE.local.md").write_text("mine\n")
    hooks = {"InstructionsLoaded": [{"hooks": [logging(tmp_path)]}]}
    result, payloads = run(project, [{"text": "ok"}], {"hooks": hooks})
    assert result.returncode == 0, result.stderr
    got = {(Path(p["file_path"]).name, p["memory_type"], p["load_reason"]) for p in payloads}
    assert got == {("CLAUDE.md", "Project", "session_start"), ("CLAUDE.local.md", "Local", "session_start")}


def test_permission_denied_fires_when_the_auto_judge_refuses_and_retry_reaches_the_model(project, tmp_path):
    judge = tmp_path / "judge.json"
    judge.write_text(json.dumps([{"text": json.dumps({"decision": "deny", "reason": "it deletes files"})}]))
    retry = json.dumps({"hookSpecificOutput": {"hookEventName": "PermissionDenied", "retry": True}})
    settings = {
        "permissions": {"defaultMode": "auto"},
        "autoMode": {"judgeModel": f"scripted:{judge}"},
        "hooks": {"PermissionDenied": [{"matcher": "Bash", "hooks": [logging(tmp_path, retry)]}]},
    }
    (project / "f.txt").write_text("x")
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "rm f.txt"}}]}, {"text": "ok"}]
    result, payloads = run(project, turns, settings)
    assert result.returncode == 0, result.stderr
    assert (project / "f.txt").exists()
    assert len(payloads) == 1
    assert payloads[0]["tool_name"] == "Bash" and payloads[0]["tool_input"] == {"command": "rm f.txt"}
    assert payloads[0]["reason"] and payloads[0]["tool_use_id"]
    results = [
        o["message"]["content"][0]["content"]
        for o in map(json.loads, result.stdout.splitlines())
        if o["type"] == "user"
    ]
    assert "may retry this call" in results[0]


def test_hooks_list_names_events_sous_never_fires(project, tmp_path):
    (project / ".claude").mkdir()
    settings = {"hooks": {"FileChanged": [{"hooks": [{"type": "command", "command": "true"}]}]}}
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(settings))
    result = subprocess.run(
        [PY, "-m", "sous", "hooks", "list"], cwd=project, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(home)},
    )  # fmt: skip
    assert "FileChanged\t*\tcommand\ttrue" in result.stdout
    assert "never fires FileChanged" in result.stderr
    assert "unknown" not in result.stderr


def test_huge_or_malformed_hook_output_is_cut_or_ignored_not_passed_on(project, tmp_path):
    big = json.dumps(
        {"hookSpecificOutput": {"hookEventName": "PostToolUseFailure", "additionalContext": "y" * 200_000}}
    )
    (tmp_path / "big.json").write_text(big)
    hooks = {
        "PostToolUseFailure": [
            {"hooks": [{"type": "command", "command": f"cat {tmp_path / 'big.json'}"}]},
            {"hooks": [{"type": "command", "command": "echo '{\"hookSpecificOutput\": [1, 2'"}]},
        ],
        "PreToolUse": [
            {"hooks": [{"type": "command", "command": "head -c 300000 /dev/zero | tr '\\0' z >&2; exit 2"}]}
        ],
    }
    turns = [{"tool_calls": [{"name": "Read", "input": {"file_path": "nothing"}}]}, {"text": "ok"}]
    result, _ = run(project, turns, {"hooks": hooks})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    text = [o["message"]["content"][0]["content"] for o in lines if o["type"] == "user"][0]
    assert 10_000 <= text.count("z") <= 10_100 and 10_000 <= text.count("y") <= 10_100
    assert text.count("more characters of hook output cut") == 2


def test_user_prompt_expansion_fires_before_a_command_is_expanded(project, tmp_path):
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / ".claude" / "commands" / "greet.md").write_text("Say hello to $ARGUMENTS.\n")
    hooks = {
        "UserPromptExpansion": [
            {"matcher": "greet", "hooks": [logging(tmp_path, "Greet in French.")]},
            {"matcher": "other", "hooks": [logging(tmp_path)]},
        ]
    }
    result, payloads = run(project, [{"text": "Bonjour, Ann."}], {"hooks": hooks}, prompt="/greet Ann")
    assert result.returncode == 0, result.stderr
    assert len(payloads) == 1  # the matcher is the command's name
    fired = payloads[0]
    assert fired["hook_event_name"] == "UserPromptExpansion" and fired["expansion_type"] == "slash_command"
    assert (fired["command_name"], fired["command_args"], fired["prompt"]) == ("greet", "Ann", "/greet Ann")
    assert fired["command_source"] == "projectSettings"
    init = json.loads(result.stdout.splitlines()[0])
    first = transcript.load(transcript.find(init["session_id"])).messages[0]
    assert "Say hello to Ann." in first.text and "Greet in French." in first.text  # stdout is context

    (project.parent / "hook.log").unlink()
    _, payloads = run(project, [{"text": "hi"}], {"hooks": hooks}, prompt="go")
    assert payloads == []  # a plain prompt expands nothing


def test_user_prompt_expansion_can_block_the_command(project, tmp_path):
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / ".claude" / "commands" / "deploy.md").write_text("Deploy to production.\n")
    blocker = tmp_path / "no_deploy.py"
    blocker.write_text("import sys\nsys.stderr.write('deploys are frozen')\nsys.exit(2)\n")
    hooks = {
        "UserPromptExpansion": [{"matcher": "deploy", "hooks": [{"type": "command", "command": f"{PY} {blocker}"}]}]
    }
    result, _ = run(project, [{"text": "deploying"}], {"hooks": hooks}, prompt="/deploy")
    final = json.loads(result.stdout.splitlines()[-1])
    assert result.returncode == 1 and final["num_turns"] == 0
    assert "UserPromptExpansion operation blocked by hook: deploys are frozen" in final["result"]
