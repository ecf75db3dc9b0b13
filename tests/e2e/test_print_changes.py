"""`sous -p`'s record of what a run actually did (`sous_changes`), read as a wrapper would, beside
Claude Code's own result fields, which it must leave as they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])
SAMPLE = Path(__file__).with_name("claude-code-stream-json-sample.jsonl")
FAILING = "python3 -c 'raise SystemExit(1)'"
TURNS = [
    {"tool_calls": [{"name": "Read", "input": {"file_path": "b.py"}}]},
    {
        "tool_calls": [
            {"name": "Write", "input": {"file_path": "a.py", "content": "x = 1\ny = 2\n"}},
            {"name": "Edit", "input": {"file_path": "b.py", "old_string": "two\n", "new_string": "2\nzwei\n"}},
        ]
    },
    {"tool_calls": [{"name": "Bash", "input": {"command": FAILING}}]},
    {"text": "I fixed it and the tests pass."},
]
EXPECTED = {
    "files": [{"path": "a.py", "added": 2, "removed": 0}, {"path": "b.py", "added": 2, "removed": 1}],
    "commands": [{"command": FAILING, "exit_code": 1, "status": "exited"}],
    "command_edits_checked": True,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "b.py").write_text("one\ntwo\nthree\n")
    return root


def print_mode(project: Path, turns: list, fmt: str) -> subprocess.CompletedProcess:
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    return subprocess.run(
        [sys.executable, "-m", "sous", "-p", "fix b.py", "--model", f"scripted:{script}", "--output-format", fmt]
        + (["--verbose"] if fmt == "stream-json" else [])
        + ["--dangerously-skip-permissions"],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent)},
    )


def test_json_result_carries_the_files_and_commands_in_a_field_of_its_own(project):
    run = print_mode(project, TURNS, "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["sous_changes"] == EXPECTED
    assert result["result"] == "I fixed it and the tests pass."  # the answer itself is left as it was


def test_stream_json_result_event_carries_the_same_record(project):
    run = print_mode(project, TURNS, "stream-json")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert lines[-1]["type"] == "result"
    assert lines[-1]["sous_changes"] == EXPECTED
    assert not any("sous_changes" in line for line in lines[:-1])


def test_the_field_name_is_not_one_of_claude_codes_and_their_fields_keep_their_shape(project):
    theirs = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    their_result = next(o for o in theirs if o["type"] == "result")
    assert "sous_changes" not in their_result
    run = print_mode(project, TURNS, "json")
    ours = json.loads(run.stdout)
    for key in ("subtype", "is_error", "result", "num_turns", "usage", "permission_denials", "stop_reason"):
        assert type(ours[key]) is type(their_result[key]), key


def test_a_claim_with_no_tool_call_has_an_empty_record(project):
    run = print_mode(project, [{"text": "I fixed it."}], "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["sous_changes"] == {"files": [], "commands": [], "command_edits_checked": True}


def test_an_edit_made_by_a_command_is_in_the_json_result(project):
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "sed -i 's/two/2/' b.py"}}]}, {"text": "Done."}]
    run = print_mode(project, turns, "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["sous_changes"]["files"] == [{"path": "b.py", "added": 1, "removed": 1}]


def test_a_refused_command_is_not_listed_as_run(project):
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "sed -i 's/two/2/' b.py"}}]}, {"text": "Done."}]
    script = project.parent / "refused.json"
    script.write_text(json.dumps(turns))
    run = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "go", "--model", f"scripted:{script}", "--output-format", "json"],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent)},
    )
    result = json.loads(run.stdout)
    assert result["permission_denials"][0]["tool_name"] == "Bash"
    assert result["sous_changes"] == {"files": [], "commands": [], "command_edits_checked": True}
    assert (project / "b.py").read_text() == "one\ntwo\nthree\n"
