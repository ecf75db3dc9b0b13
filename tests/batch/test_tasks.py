from __future__ import annotations

import json
from pathlib import Path

import pytest

from sous.batch.tasks import Defaults, Task, TaskFileError, is_url, load_tasks

from .conftest import sous_batch

GOOD = {"id": "t1", "repo": "proj", "prompt": "fix it"}


def _problems(tmp_path: Path, *lines: str) -> list[str]:
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TaskFileError) as caught:
        load_tasks(path)
    return [p.removeprefix(f"{path}:") for p in caught.value.problems]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"id": "t1", "repo": "proj"', "1: not valid JSON (Expecting ',' delimiter at column 28)"),
        ('["t1"]', "1: a task must be a JSON object, not a list"),
        ('"t1"', "1: a task must be a JSON object, not a string"),
        ('{"repo": "proj", "prompt": "x"}', "1: field 'id': required"),
        ('{"id": "t1", "prompt": "x"}', "1: field 'repo': required"),
        ('{"id": "t1", "repo": "proj"}', "1: field 'prompt': required"),
        (
            '{"id": "../up", "repo": "proj", "prompt": "x"}',
            "1: field 'id': expected letters, digits, '.', '_' or '-' "
            "(at most 128, not starting with '.', '_' or '-'), got \"../up\"",
        ),
        ('{"id": "", "repo": "proj", "prompt": "x"}', "1: field 'id': expected a non-empty string, got \"\""),
        ('{"id": 7, "repo": "proj", "prompt": "x"}', "1: field 'id': expected a non-empty string, got 7"),
        ('{"id": "t", "repo": "proj", "prompt": "  "}', "1: field 'prompt': expected a non-empty string, got \"  \""),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "ref": "--upload-pack=evil"}',
            "1: field 'ref': expected a commit, branch or tag name, got \"--upload-pack=evil\"",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "allowed_tools": "Bash"}',
            "1: field 'allowed_tools': expected a list of permission rules (strings), got \"Bash\"",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "allowed_tools": ["Read", 3]}',
            "1: field 'allowed_tools': expected a list of permission rules (strings), got [\"Read\", 3]",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "permission_mode": "yolo"}',
            "1: field 'permission_mode': expected one of default, acceptEdits, plan, dontAsk, bypassPermissions, "
            'got "yolo"',
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "setup": ["make", ""]}',
            '1: field \'setup\': expected a command or a list of commands (non-empty strings), got ["make", ""]',
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "timeout_s": "60"}',
            "1: field 'timeout_s': expected a positive number, got \"60\"",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "timeout_s": -1}',
            "1: field 'timeout_s': expected a positive number, got -1",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "timeout_s": NaN}',
            "1: field 'timeout_s': expected a positive number, got NaN",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "max_turns": 2.5}',
            "1: field 'max_turns': expected a positive whole number, got 2.5",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "max_turns": true}',
            "1: field 'max_turns': expected a positive whole number, got true",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "max_budget_usd": 0}',
            "1: field 'max_budget_usd': expected a positive number, got 0",
        ),
        (
            '{"id": "t", "repo": "proj", "prompt": "x", "verify": 1}',
            "1: field 'verify': expected a non-empty string, got 1",
        ),
    ],
)
def test_a_bad_line_is_one_clear_problem_naming_its_line_and_field(tmp_path, line, problem):
    assert _problems(tmp_path, line) == [problem]


def test_every_bad_line_is_reported_not_only_the_first(tmp_path):
    problems = _problems(
        tmp_path,
        json.dumps(GOOD),
        "",
        '{"id": "t1", "repo": "r", "prompt": "p", "colour": "red"}',
        "not json",
        json.dumps(GOOD),
    )
    assert problems == [
        "3: field 'colour': unknown field (known: id, repo, ref, prompt, model, allowed_tools, permission_mode, "
        "setup, verify, timeout_s, max_turns, max_budget_usd)",
        "4: not valid JSON (Expecting value at column 1)",
        "5: field 'id': 't1' is already the id of line 1",
    ]


def test_an_empty_or_unreadable_file_is_one_problem(tmp_path):
    assert _problems(tmp_path, "", "  ") == [" the task file holds no tasks"]
    with pytest.raises(TaskFileError, match="cannot read the task file"):
        load_tasks(tmp_path / "missing.jsonl")
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe{}")
    with pytest.raises(TaskFileError, match="cannot read the task file"):
        load_tasks(tmp_path / "binary.jsonl")


def test_fields_are_read_and_defaults_fill_what_a_task_leaves_out(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "tasks.jsonl").write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {**GOOD, "setup": "make deps", "allowed_tools": ["Edit"], "max_turns": 3},
                {
                    "id": "t2",
                    "repo": "https://example.com/r.git",
                    "prompt": "p",
                    "ref": "v1",
                    "model": "openai:gpt-5",
                    "setup": ["a", "b"],
                    "timeout_s": 5,
                    "permission_mode": "plan",
                    "max_budget_usd": 0.5,
                },
            ]
        )
    )
    one, two = load_tasks(
        sub / "tasks.jsonl", Defaults(model="scripted:x", permission_mode="acceptEdits", timeout_s=99, max_turns=7)
    )
    assert one == Task(
        id="t1",
        repo=str(sub / "proj"),
        prompt="fix it",
        model="scripted:x",
        allowed_tools=("Edit",),
        permission_mode="acceptEdits",
        setup=("make deps",),
        timeout_s=99,
        max_turns=3,
        line=1,
    )
    assert (two.repo, two.ref, two.model, two.setup, two.timeout_s, two.max_turns, two.max_budget_usd) == (
        "https://example.com/r.git",
        "v1",
        "openai:gpt-5",
        ("a", "b"),
        5,
        7,
        0.5,
    )
    assert (one.provider, two.provider) == ("scripted", "openai")
    assert Task.from_json(two.to_json()) == two


@pytest.mark.parametrize(
    ("repo", "url"),
    [
        ("https://github.com/a/b", True),
        ("file:///srv/r.git", True),
        ("git@github.com:a/b.git", True),
        ("../r", False),
        ("/srv/r", False),
        ("dir:with:colons", False),
    ],
)
def test_urls_are_told_from_paths(repo, url):
    assert is_url(repo) is url


def test_the_command_reports_each_problem_on_one_line_and_runs_nothing(tmp_path):
    (tmp_path / "tasks.jsonl").write_text('{"id": "a", "repo": "r", "prompt": "p", "timeout_s": 0}\n[1]\n')
    run = sous_batch("tasks.jsonl", "--out", "out", cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        "sous batch: tasks.jsonl:1: field 'timeout_s': expected a positive number, got 0",
        "sous batch: tasks.jsonl:2: a task must be a JSON object, not a list",
    ]
    assert not (tmp_path / "out").exists()


def test_check_validates_without_running(tmp_path):
    (tmp_path / "tasks.jsonl").write_text(json.dumps(GOOD) + "\n")
    run = sous_batch("tasks.jsonl", "--out", "out", "--check", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, "1 task(s), all valid\n")
    bad = sous_batch("tasks.jsonl", "--out", "out", "--concurrency", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "expected a positive whole number, got '0'" in bad.stderr
