"""Hooks end to end: the real `sous -p`, real hook scripts, Claude Code's contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.hooks.config import load, matcher_fits
from sous.store import transcript

SRC = str(Path(sous.__file__).resolve().parents[1])
PY = sys.executable

# A hook script: logs its stdin JSON and environment, then acts as told by argv.
HOOK = r"""
import json, os, sys
payload = json.load(sys.stdin)
with open(os.environ["HOOK_LOG"], "a") as log:
    log.write(json.dumps({"payload": payload, "project_dir": os.environ.get("CLAUDE_PROJECT_DIR"),
                          "sous_dir": os.environ.get("SOUS_PROJECT_DIR")}) + "\n")
action = sys.argv[1]
if action == "block":
    print("no rm here, use trash instead", file=sys.stderr); sys.exit(2)
if action == "crash":
    sys.exit(1)
if action == "sleep":
    import time; time.sleep(30)
if action == "print":
    print(sys.argv[2])
if action == "json":
    print(sys.argv[2])
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    (tmp_path / "hook.py").write_text(HOOK)
    return work


def hook(tmp_path: Path, *args: str, **extra) -> dict:
    quoted = " ".join(["'" + a.replace("'", "'\\''") + "'" for a in args])
    return {"type": "command", "command": f"{PY} {tmp_path / 'hook.py'} {quoted}", **extra}


def run(
    project: Path, turns: list, hooks: dict, *flags: str, settings: dict | None = None, prompt: str = "go"
) -> tuple[subprocess.CompletedProcess, list[dict]]:
    log = project.parent / "hook.log"
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    env = {**os.environ, "PYTHONPATH": SRC, "HOOK_LOG": str(log)}
    result = subprocess.run(
        [
            PY,
            "-m",
            "sous",
            "-p",
            prompt,
            "--model",
            f"scripted:{script}",
            "--output-format",
            "stream-json",
            "--verbose",
            "--settings",
            json.dumps({"hooks": hooks, **(settings or {})}),
            *flags,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    return result, entries


def lines(result: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def tool_results(result: subprocess.CompletedProcess) -> list[str]:
    return [o["message"]["content"][0]["content"] for o in lines(result) if o["type"] == "user"]


BASH_RM = [{"tool_calls": [{"name": "Bash", "input": {"command": "rm -f keep.txt"}}]}, {"text": "done"}]


def test_exit_2_blocks_the_call_and_the_model_reads_stderr(project, tmp_path):
    (project / "keep.txt").write_text("x")
    result, entries = run(
        project,
        BASH_RM,
        {"PreToolUse": [{"matcher": "Bash", "hooks": [hook(tmp_path, "block")]}]},
        "--dangerously-skip-permissions",
    )
    assert result.returncode == 0, result.stderr
    assert (project / "keep.txt").exists()
    assert "no rm here, use trash instead" in tool_results(result)[0]
    payload = entries[0]["payload"]
    assert payload["hook_event_name"] == "PreToolUse" and payload["tool_name"] == "Bash"
    assert payload["tool_input"] == {"command": "rm -f keep.txt"} and payload["tool_use_id"]
    assert payload["permission_mode"] == "bypassPermissions" and payload["cwd"] == str(project)
    assert payload["session_id"] == lines(result)[0]["session_id"] and payload["transcript_path"].endswith(".jsonl")
    assert entries[0]["project_dir"] == entries[0]["sous_dir"] == str(project)


def test_json_deny_allow_and_updated_input(project, tmp_path):
    deny = json.dumps(
        {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": "not on Fridays",
            }
        }
    )
    result, _ = run(
        project, BASH_RM, {"PreToolUse": [{"hooks": [hook(tmp_path, "json", deny)]}]}, "--dangerously-skip-permissions"
    )
    assert "not on Fridays" in tool_results(result)[0]

    write = [{"tool_calls": [{"name": "Write", "input": {"file_path": "a.txt", "content": "hi"}}]}, {"text": "ok"}]
    allow = json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}})
    result, _ = run(project, write, {"PreToolUse": [{"matcher": "Write", "hooks": [hook(tmp_path, "json", allow)]}]})
    assert (project / "a.txt").read_text() == "hi"  # default mode would have asked, and -p denies asks
    assert lines(result)[-1]["permission_denials"] == []

    rewrite = json.dumps(
        {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {"command": "echo rewritten > out.txt"}}}
    )
    result, _ = run(
        project,
        BASH_RM,
        {"PreToolUse": [{"hooks": [hook(tmp_path, "json", rewrite)]}]},
        "--dangerously-skip-permissions",
    )
    assert (project / "out.txt").read_text() == "rewritten\n"


def test_a_broken_guard_fails_closed_unless_told_otherwise(project, tmp_path):
    (project / "keep.txt").write_text("x")
    hooks = {"PreToolUse": [{"hooks": [hook(tmp_path, "crash")]}]}
    result, _ = run(project, BASH_RM, hooks, "--dangerously-skip-permissions")
    assert (project / "keep.txt").exists()
    assert "hook failed (exit code 1)" in tool_results(result)[0]
    result, _ = run(
        project, BASH_RM, hooks, "--dangerously-skip-permissions", settings={"preToolUseHookFailure": "continue"}
    )
    assert not (project / "keep.txt").exists()
    assert "PreToolUse hook error: exit code 1" in result.stderr


def test_a_hook_that_times_out_is_killed_and_blocks(project, tmp_path):
    (project / "keep.txt").write_text("x")
    result, _ = run(
        project,
        BASH_RM,
        {"PreToolUse": [{"hooks": [hook(tmp_path, "sleep", timeout=1)]}]},
        "--dangerously-skip-permissions",
    )
    assert "timed out after 1s" in tool_results(result)[0] and (project / "keep.txt").exists()


def test_matchers_and_if_select_the_handlers(project, tmp_path):
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "echo hi"}}]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "rm -f nothing"}}]},
        {"text": "ok"},
    ]
    hooks = {
        "PreToolUse": [
            {"matcher": "Edit|Write", "hooks": [hook(tmp_path, "print", "edit-or-write")]},
            {"matcher": "^Ba.h$", "hooks": [hook(tmp_path, "print", "bash-regex")]},
            {"matcher": "Bash", "hooks": [hook(tmp_path, "print", "rm-only", **{"if": "Bash(rm *)"})]},
        ]
    }
    _, entries = run(project, turns, hooks, "--dangerously-skip-permissions")
    commands = [e["payload"]["tool_input"]["command"] for e in entries]
    assert commands.count("echo hi") == 1 and commands.count("rm -f nothing") == 2
    assert matcher_fits("Edit.*", "NotebookEdit") and not matcher_fits("mcp__memory", "mcp__memory__get")


def test_post_tool_use_sees_the_response_and_its_feedback_reaches_the_model(project, tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "echo hello"}}]}, {"text": "ok"}]
    block = json.dumps({"decision": "block", "reason": "lint failed: trailing spaces"})
    result, entries = run(
        project,
        turns,
        {"PostToolUse": [{"matcher": "Bash", "hooks": [hook(tmp_path, "json", block)]}]},
        "--dangerously-skip-permissions",
    )
    assert entries[0]["payload"]["tool_response"]["stdout"] == "hello"
    assert "PostToolUse hook feedback:\nlint failed: trailing spaces" in tool_results(result)[0]


def test_post_tool_use_failure_fires_for_failed_calls(project, tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "exit 3"}}]}, {"text": "ok"}]
    _, entries = run(
        project,
        turns,
        {"PostToolUseFailure": [{"hooks": [hook(tmp_path, "print", "x")]}]},
        "--dangerously-skip-permissions",
    )
    assert entries[0]["payload"]["error"].startswith("Exit code 3") and entries[0]["payload"]["is_interrupt"] is False


def test_a_stop_hook_that_blocks_makes_the_agent_go_on(project, tmp_path):
    marker = project.parent / "stopped-once"
    script = (
        f"import json,sys,os; p=json.load(sys.stdin); open(os.environ['HOOK_LOG'],'a').write(json.dumps("
        f"{{'payload': p}})+'\\n'); m={str(marker)!r}\n"
        "if not os.path.exists(m):\n open(m,'w').close(); print('run the tests first', file=sys.stderr); sys.exit(2)"
    )
    (tmp_path / "stop.py").write_text(script)
    turns = [{"text": "All done."}, {"text": "Tests pass; now done."}]
    result, entries = run(
        project, turns, {"Stop": [{"hooks": [{"type": "command", "command": f"{PY} {tmp_path / 'stop.py'}"}]}]}
    )
    final = lines(result)[-1]
    assert final["result"] == "Tests pass; now done." and final["num_turns"] == 2
    assert [e["payload"]["stop_hook_active"] for e in entries] == [False, True]
    assert entries[0]["payload"]["last_assistant_message"] == "All done."
    messages = transcript.load(transcript.find(final["session_id"])).messages
    assert messages[2].text == "Stop hook feedback:\nrun the tests first"


def test_user_prompt_submit_can_block_or_add_context(project, tmp_path):
    result, entries = run(project, [{"text": "never"}], {"UserPromptSubmit": [{"hooks": [hook(tmp_path, "block")]}]})
    assert result.returncode == 1 and entries[0]["payload"]["prompt"] == "go"
    assert "prompt blocked by a UserPromptSubmit hook: no rm here" in lines(result)[-1]["result"]

    hooks = {
        "UserPromptSubmit": [{"hooks": [hook(tmp_path, "print", "The deploy freeze is on.")]}],
        "SessionStart": [{"hooks": [hook(tmp_path, "print", "Branch: main")]}],
    }
    result, entries = run(project, [{"text": "ok"}], hooks)
    assert [e["payload"]["hook_event_name"] for e in entries] == ["SessionStart", "UserPromptSubmit"]
    assert entries[0]["payload"]["source"] == "startup"
    first = transcript.load(transcript.find(lines(result)[-1]["session_id"])).messages[0]
    assert first.text.startswith("go") and "Branch: main" in first.text and "The deploy freeze is on." in first.text


def test_hook_runs_are_recorded_and_bad_entries_are_one_line_warnings(project, tmp_path):
    hooks = {
        "PreToolUse": [{"hooks": [hook(tmp_path, "print", "x")]}],
        "NoSuchEvent": [],
        "PostToolUse": [{"hooks": [{"type": "mcp_tool", "server": "s", "tool": "t"}]}],
    }
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "true"}}]}, {"text": "ok"}]
    result, _ = run(project, turns, hooks, "--dangerously-skip-permissions")
    assert result.returncode == 0
    assert "hooks.NoSuchEvent: unknown or unsupported event, ignored" in result.stderr
    assert "hooks.PostToolUse[0]: handler type 'mcp_tool' is not supported" in result.stderr
    path = transcript.find(lines(result)[-1]["session_id"])
    records = [json.loads(line) for line in path.read_text().splitlines()]
    runs = [r for r in records if r.get("type") == "hook"]
    assert runs[0]["event"] == "PreToolUse" and runs[0]["exit_code"] == 0 and runs[0]["duration_ms"] >= 0


def test_identical_handlers_from_several_layers_run_once():
    same = {"type": "command", "command": "true"}
    config = load({"PreToolUse": [{"matcher": "Bash", "hooks": [same]}, {"matcher": "*", "hooks": [same]}]})
    assert len(config.handlers("PreToolUse", "Bash")) == 1
    assert not load({"PreToolUse": []}) and not load({"PreToolUse": [{"hooks": [same]}]}, disabled=True)


def test_a_formatter_after_edit_runs_on_the_edited_file(project, tmp_path):
    # A bash PostToolUse hook in the usual style: read the path from stdin with jq, format the file.
    (tmp_path / "fmt.sh").write_text('#!/bin/bash\nf=$(jq -r .tool_input.file_path)\nsed -i "s/[ \\t]*$//" "$f"\n')
    (tmp_path / "fmt.sh").chmod(0o755)
    (project / "a.py").write_text("x = 1\n")
    turns = [
        {"tool_calls": [{"name": "Read", "input": {"file_path": "a.py"}}]},
        {
            "tool_calls": [
                {"name": "Edit", "input": {"file_path": "a.py", "old_string": "x = 1", "new_string": "x = 2   "}}
            ]
        },
        {"text": "ok"},
    ]
    hooks = {
        "PostToolUse": [{"matcher": "Edit|Write", "hooks": [{"type": "command", "command": str(tmp_path / "fmt.sh")}]}]
    }
    result, _ = run(project, turns, hooks, "--permission-mode", "acceptEdits")
    assert result.returncode == 0, result.stderr
    assert (project / "a.py").read_text() == "x = 2\n"


def test_garbage_output_is_ignored_and_said(project, tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "echo ran > ran.txt"}}]}, {"text": "ok"}]
    hooks = {"PreToolUse": [{"hooks": [hook(tmp_path, "print", "{not json at all")]}]}
    result, _ = run(project, turns, hooks, "--dangerously-skip-permissions")
    assert (project / "ran.txt").exists()  # exit 0 with unusable stdout decides nothing
    hooks = {"PreToolUse": [{"hooks": [{"type": "command", "command": "echo '{broken'; exit 1"}]}]}
    result, _ = run(
        project, turns, hooks, "--dangerously-skip-permissions", settings={"preToolUseHookFailure": "continue"}
    )
    assert "PreToolUse hook error: exit code 1" in result.stderr


def test_permission_request_hooks_answer_before_anyone_is_asked(project, tmp_path):
    write = [{"tool_calls": [{"name": "Write", "input": {"file_path": "b.txt", "content": "b"}}]}, {"text": "ok"}]
    allow = json.dumps(
        {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}
    )
    result, entries = run(
        project, write, {"PermissionRequest": [{"matcher": "Write", "hooks": [hook(tmp_path, "json", allow)]}]}
    )
    assert (project / "b.txt").read_text() == "b" and entries[0]["payload"]["hook_event_name"] == "PermissionRequest"
    deny = json.dumps(
        {
            "hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": {"behavior": "deny", "message": "ask the team lead"},
            }
        }
    )
    (project / "b.txt").unlink()
    result, _ = run(project, write, {"PermissionRequest": [{"hooks": [hook(tmp_path, "json", deny)]}]})
    assert not (project / "b.txt").exists() and "ask the team lead" in tool_results(result)[0]


def test_http_hooks_post_the_payload_and_their_json_decides(project):
    import http.server
    import threading

    seen: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            body = json.dumps(
                {
                    "hookSpecificOutput": {
                        "hookEventName": "PreToolUse",
                        "permissionDecision": "deny",
                        "permissionDecisionReason": "policy server says no",
                    }
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        result, _ = run(
            project,
            BASH_RM,
            {"PreToolUse": [{"hooks": [{"type": "http", "url": url}]}]},
            "--dangerously-skip-permissions",
        )
    finally:
        server.shutdown()
    assert seen[0]["tool_name"] == "Bash" and "policy server says no" in tool_results(result)[0]
