"""`sous -p` end to end: the real command in a subprocess, driven by a scripted model file.

These tests read the output the way a wrapper written for Claude Code would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sous
from sous.store import transcript
from sous.testing import THREE_STEP_TASK as THREE_STEPS

# The subprocesses import the same sous as the tests, installed or not.
SRC = str(Path(sous.__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))

# A real `claude -p --output-format stream-json --verbose` run of the same 3-step task.
SAMPLE = Path(__file__).with_name("claude-code-stream-json-sample.jsonl")


def sous(
    *args: str, cwd: Path, stdin: str | None = None, env: dict | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", *args],
        cwd=cwd,
        input=stdin,
        text=True,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def script(tmp_path: Path, turns: list, name: str = "turns.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(turns))
    return f"scripted:{path}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    return work


def test_text_output_runs_the_task_and_prints_the_answer(project, tmp_path):
    run = sous(
        "-p",
        "write hello.py and run it",
        "--model",
        script(tmp_path, THREE_STEPS),
        "--dangerously-skip-permissions",
        cwd=project,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "Created hello.py and it prints hello.\n"
    assert (project / "hello.py").read_text() == "print('hello')\n"


def test_json_output_has_the_result_fields(project, tmp_path):
    run = sous(
        "-p",
        "go",
        "--model",
        script(tmp_path, THREE_STEPS),
        "--output-format",
        "json",
        "--dangerously-skip-permissions",
        cwd=project,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["type"] == "result" and result["subtype"] == "success" and result["is_error"] is False
    assert result["result"] == "Created hello.py and it prints hello."
    assert result["num_turns"] == 3
    assert result["usage"]["input_tokens"] == 3900 and result["usage"]["output_tokens"] == 60
    assert result["permission_denials"] == []
    for key in (
        "session_id",
        "duration_ms",
        "duration_api_ms",
        "total_cost_usd",
        "modelUsage",
        "stop_reason",
        "terminal_reason",
        "uuid",
    ):
        assert key in result


def _shape(obj: dict) -> tuple:
    """The parts of a stream-json line a wrapper relies on: type, subtype, content block types."""
    message = obj.get("message") or {}
    blocks = tuple(b.get("type") for b in message.get("content", [])) if isinstance(message, dict) else ()
    return obj["type"], obj.get("subtype"), blocks


def test_stream_json_matches_the_claude_code_sample_line_by_line(project, tmp_path):
    run = sous(
        "-p",
        "go",
        "--model",
        script(tmp_path, THREE_STEPS),
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        cwd=project,
    )
    assert run.returncode == 0, run.stderr
    ours = [json.loads(line) for line in run.stdout.splitlines()]
    theirs = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    assert [_shape(o) for o in ours] == [_shape(o) for o in theirs]
    for mine, sample in zip(ours, theirs, strict=True):
        # Every envelope key the sample has that a wrapper would read, sous has too.
        wanted = {"type", "session_id", "uuid"} | ({"message", "parent_tool_use_id"} & set(sample))
        if sample["type"] == "user":
            wanted |= {"tool_use_result"}
        if sample["type"] == "system":
            wanted |= {"cwd", "tools", "model", "permissionMode", "mcp_servers"}
        if sample["type"] == "result":
            wanted |= set(json.loads(json.dumps(sample))) & {
                "subtype",
                "is_error",
                "result",
                "num_turns",
                "duration_ms",
                "duration_api_ms",
                "total_cost_usd",
                "usage",
                "modelUsage",
                "permission_denials",
                "stop_reason",
                "terminal_reason",
            }
        assert wanted <= set(mine), (sample["type"], wanted - set(mine))
        if "message" in sample and sample["type"] == "assistant":
            assert set(sample["message"]) <= set(mine["message"])
    write_result, bash_result = (o for o in ours if o["type"] == "user")
    assert write_result["tool_use_result"]["type"] == "create"
    assert bash_result["tool_use_result"]["stdout"].strip() == "hello"
    assert bash_result["message"]["content"][0]["content"].strip() == "hello"
    assert len({o["session_id"] for o in ours}) == 1


def test_prompt_from_stdin(project, tmp_path):
    turns = [{"text": "Got it."}]
    run = sous(
        "-p", "--model", script(tmp_path, turns), "--output-format", "json", cwd=project, stdin="summarise this text\n"
    )
    assert run.returncode == 0, run.stderr
    session = transcript.load(transcript.find(json.loads(run.stdout)["session_id"]))
    assert "summarise this text" in session.messages[0].text


def test_max_turns_ends_with_an_error_result_and_exit_code(project, tmp_path):
    looping = [{"tool_calls": [{"name": "Glob", "input": {"pattern": "*.py"}}]}] * 3
    run = sous(
        "-p", "loop", "--model", script(tmp_path, looping), "--max-turns", "2", "--output-format", "json", cwd=project
    )
    assert run.returncode == 1
    result = json.loads(run.stdout)
    assert result["subtype"] == "error_max_turns" and result["is_error"] is True
    assert result["num_turns"] == 2


def test_provider_failure_is_an_error_result(project, tmp_path):
    failing = [{"error": {"status": 401, "message": "invalid x-api-key"}}]
    run = sous("-p", "hi", "--model", script(tmp_path, failing), cwd=project)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "invalid x-api-key" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_no_provider_configured_says_how_in_one_line(project):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "SOUS_MODEL"))}
    env["SOUS_LOCAL_MODEL"] = "off"  # no built-in offline model either
    run = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "hi"], cwd=project, capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "ANTHROPIC_API_KEY" in lines[0] and "OPENAI_API_KEY" in lines[0]


def test_default_mode_denies_edits_in_print_mode_and_reports_them(project, tmp_path):
    turns = [
        {"tool_calls": [{"name": "Write", "input": {"file_path": "x.txt", "content": "x"}}]},
        {"text": "I could not write the file."},
    ]
    run = sous("-p", "write x.txt", "--model", script(tmp_path, turns), "--output-format", "json", cwd=project)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert not (project / "x.txt").exists()
    assert [d["tool_name"] for d in result["permission_denials"]] == ["Write"]
    assert result["permission_denials"][0]["tool_input"] == {"file_path": "x.txt", "content": "x"}
    records = [json.loads(line) for line in transcript.find(result["session_id"]).read_text().splitlines()]
    (logged,) = [r for r in records if r.get("type") == "permission"]
    assert logged["tool"] == "Write" and logged["decision"] == "deny" and logged["source"] == "mode:default"


def test_allowed_tools_flag_allows_a_bash_prefix(project, tmp_path):
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "mkdir made"}}]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "touch denied.txt"}}]},
        {"text": "done"},
    ]
    run = sous(
        "-p",
        "go",
        "--model",
        script(tmp_path, turns),
        "--allowedTools",
        "Bash(mkdir *)",
        "--output-format",
        "json",
        cwd=project,
    )
    assert run.returncode == 0, run.stderr
    assert (project / "made").is_dir()
    assert not (project / "denied.txt").exists()
    assert [d["tool_input"]["command"] for d in json.loads(run.stdout)["permission_denials"]] == ["touch denied.txt"]


def test_disallowed_tool_is_removed_from_the_tool_list(project, tmp_path):
    run = sous(
        "-p",
        "hi",
        "--model",
        script(tmp_path, [{"text": "ok"}]),
        "--disallowedTools",
        "Bash",
        "--output-format",
        "stream-json",
        "--verbose",
        cwd=project,
    )
    init = json.loads(run.stdout.splitlines()[0])
    assert "Bash" not in init["tools"] and "Read" in init["tools"]


def test_continue_and_resume_carry_the_conversation_on(project, tmp_path):
    first = sous(
        "-p",
        "remember the word pineapple",
        "--model",
        script(tmp_path, [{"text": "Noted."}], "a.json"),
        "--output-format",
        "json",
        cwd=project,
    )
    session_id = json.loads(first.stdout)["session_id"]
    again = sous(
        "-p",
        "what was the word?",
        "-c",
        "--model",
        script(tmp_path, [{"text": "pineapple"}], "b.json"),
        "--output-format",
        "json",
        cwd=project,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["session_id"] == session_id
    third = sous(
        "-p",
        "and once more?",
        "-r",
        session_id[:8],
        "--model",
        script(tmp_path, [{"text": "still pineapple"}], "c.json"),
        cwd=project,
    )
    assert third.returncode == 0, third.stderr
    texts = [m.text for m in transcript.load(transcript.find(session_id)).messages]
    assert texts == [
        "remember the word pineapple",
        "Noted.",
        "what was the word?",
        "pineapple",
        "and once more?",
        "still pineapple",
    ]


def test_resume_of_an_unknown_session_is_a_one_line_error(project, tmp_path):
    run = sous("-p", "hi", "-r", "nope", "--model", script(tmp_path, [{"text": "x"}]), cwd=project)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0 and "nope" in run.stderr


def test_kill_dash_9_mid_tool_loses_nothing_and_resumes(project, tmp_path):
    turns = [
        {
            "text": "Starting the long job.",
            "tool_calls": [{"name": "Bash", "input": {"command": "echo $$ > started.txt; sleep 60"}}],
        }
    ]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "run the long job",
            "--model",
            script(tmp_path, turns),
            "--output-format",
            "stream-json",
            "--verbose",
            "--dangerously-skip-permissions",
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        seen = []
        for line in proc.stdout:
            seen.append(json.loads(line))
            if seen[-1]["type"] == "assistant" and seen[-1]["message"]["content"][0]["type"] == "tool_use":
                break
        started = project / "started.txt"
        deadline = time.monotonic() + 20
        while not (started.exists() and started.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError, ValueError, OSError):
            os.killpg(int((project / "started.txt").read_text()), signal.SIGKILL)  # the orphaned shell
        proc.stdout.close()
        proc.stderr.close()
    session_id = seen[0]["session_id"]
    loaded = transcript.load(transcript.find(session_id))
    assert [type(m).__name__ for m in loaded.messages] == ["UserMessage", "AssistantMessage"]
    assert loaded.messages[1].tool_calls[0].arguments["command"].endswith("sleep 60")

    resumed = sous(
        "-p",
        "did it finish?",
        "-r",
        session_id,
        "--model",
        script(tmp_path, [{"text": "No, the session ended during the job."}], "after.json"),
        "--output-format",
        "json",
        cwd=project,
    )
    assert resumed.returncode == 0, resumed.stderr
    messages = transcript.load(transcript.find(session_id)).messages
    kinds = [type(m).__name__ for m in messages]
    assert kinds == ["UserMessage", "AssistantMessage", "ToolResultMessage", "UserMessage", "AssistantMessage"]
    assert messages[2].is_error and messages[2].tool_call_id == loaded.messages[1].tool_calls[0].id


def test_ctrl_c_mid_tool_kills_the_command_and_records_the_interruption(project, tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "echo $$ > shell.pid; sleep 60"}}]}]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "wait",
            "--model",
            script(tmp_path, turns),
            "--output-format",
            "stream-json",
            "--verbose",
            "--dangerously-skip-permissions",
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_file = project / "shell.pid"
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    shell_pid = int(pid_file.read_text())
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 130
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["type"] == "result" and lines[-1]["is_error"] is True
    tool_result = next(o for o in lines if o["type"] == "user")
    assert "interrupted" in tool_result["message"]["content"][0]["content"].lower()
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # the shell and its sleep were killed with their process group
            os.kill(shell_pid, 0)
            time.sleep(0.1)
    messages = transcript.load(transcript.find(lines[0]["session_id"])).messages
    assert [type(m).__name__ for m in messages] == [
        "UserMessage",
        "AssistantMessage",
        "ToolResultMessage",
        "UserMessage",
    ]


@pytest.mark.parametrize("protocol", ["anthropic", "openai"])
def test_three_step_task_over_the_wire(project, protocol):
    from sous.testing.server import ScriptedServer

    with ScriptedServer(THREE_STEPS) as server:
        env = (
            {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test"}
            if protocol == "anthropic"
            else {"OPENAI_BASE_URL": server.openai_url}
        )
        run = sous(
            "-p",
            "write hello.py, run it and tell me",
            "--output-format",
            "json",
            "--dangerously-skip-permissions",
            cwd=project,
            env=env,
        )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["result"] == "Created hello.py and it prints hello." and result["num_turns"] == 3
    assert result["total_cost_usd"] > 0
    third = server.requests[2]["body"]["messages"]
    assert "hello" in json.dumps(third[-1])  # the Bash output went back to the model
