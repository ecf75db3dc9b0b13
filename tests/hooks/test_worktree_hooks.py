"""WorktreeCreate and WorktreeRemove around an isolated sub-agent, through the real `sous -p`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "child.json").write_text(
        json.dumps(
            [
                {"tool_calls": [{"name": "Write", "input": {"file_path": "feature.txt", "content": "new\n"}}]},
                {"text": "Added feature.txt."},
            ]
        )
    )
    return root


def isolated_agent(project: Path) -> dict:
    child = project.parent / "child.json"
    return {
        "name": "Agent",
        "input": {
            "description": "add feature",
            "prompt": "add it",
            "isolation": "worktree",
            "model": f"scripted:{child}",
        },
    }


def run(project: Path, hooks: dict) -> tuple[subprocess.CompletedProcess, str]:
    script = project.parent / "turns.json"
    script.write_text(json.dumps([{"tool_calls": [isolated_agent(project)]}, {"text": "ok"}]))
    done = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "go", "--model", f"scripted:{script}", "--output-format", "stream-json",
         "--verbose", "--dangerously-skip-permissions", "--settings", json.dumps({"hooks": hooks})],
        cwd=project, text=True, capture_output=True, timeout=120,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent)},
    )  # fmt: skip
    out = [json.loads(line) for line in done.stdout.splitlines()]
    report = next(o for o in out if o["type"] == "user")["message"]["content"][0]["content"]
    return done, report


def command(text: str) -> dict:
    return {"hooks": [{"type": "command", "command": text}]}


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        ("echo 'no space left' >&2; exit 1", "WorktreeCreate hook failed: " + "echo 'no space left' >&2; exit 1"),
        ("exit 2", "exit code 2"),
        ("true", "gave no worktree path"),
        ("echo /nonexistent/place", "it gave /nonexistent/place, which is not a folder"),
    ],
)
def test_a_create_hook_that_fails_or_names_no_folder_stops_the_agent(project, hook, expected):
    done, report = run(project, {"WorktreeCreate": [command(hook)]})
    assert done.returncode == 0, done.stderr
    assert expected in report
    assert not (project / "feature.txt").exists()
    assert not list(project.parent.glob("**/feature.txt"))


def test_the_create_hook_makes_the_folder_and_the_remove_hook_gets_it(project, tmp_path):
    log = tmp_path / "hooks.log"
    made = tmp_path / "checkouts"
    create = f"cat >> {log}; echo >> {log}; mkdir -p {made}/x; echo 'making it'; echo {made}/x"
    remove = f"cat >> {log}; echo >> {log}; rm -r {made}/x"
    done, report = run(project, {"WorktreeCreate": [command(create)], "WorktreeRemove": [command(remove)]})
    assert done.returncode == 0, done.stderr
    payloads = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [p["hook_event_name"] for p in payloads] == ["WorktreeCreate", "WorktreeRemove"]
    assert payloads[0]["name"].startswith("agent-") and payloads[0]["cwd"] == str(project)
    assert payloads[1]["worktree_path"] == str(made / "x")
    assert report.startswith("Added feature.txt.") and f"worked in {made / 'x'}" in report and "removed" in report
    assert not (project / "feature.txt").exists() and not (made / "x").exists()


def test_without_a_remove_hook_the_folder_is_left_and_named(project, tmp_path):
    made = tmp_path / "elsewhere"
    made.mkdir()
    done, report = run(project, {"WorktreeCreate": [command(f"echo {made}")]})
    assert done.returncode == 0, done.stderr
    assert (made / "feature.txt").read_text() == "new\n"
    assert f"worked in {made}, made by a WorktreeCreate hook; it is left in place" in report


def test_a_remove_hook_alone_leaves_git_worktrees_to_git(project, tmp_path):
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    (project / "README.md").write_text("demo\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    log = tmp_path / "remove.log"
    done, report = run(project, {"WorktreeRemove": [command(f"cat >> {log}")]})
    assert done.returncode == 0, done.stderr
    assert "committed on branch sous/agent-" in report and not log.exists()
