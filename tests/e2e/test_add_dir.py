"""`--add-dir` and `permissions.additionalDirectories` through the real `sous -p`.

A project's own settings file cannot open folders to the model until the person approves it
(`sous trust`), whatever it names: `..`, `~`, `/`.
"""

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
def tree(tmp_path: Path) -> dict[str, Path]:
    project, shared, home = tmp_path / "project", tmp_path / "shared", tmp_path / "home"
    for folder in (project / ".claude", shared, home):
        folder.mkdir(parents=True)
    (shared / "notes.txt").write_text("SHARED-NOTES\n")
    (home / "diary.txt").write_text("HOME-DIARY\n")
    return {"root": tmp_path, "project": project, "shared": shared, "home": home}


def sous_run(tree, *args: str, turns: list | None = None) -> subprocess.CompletedProcess:
    extra: list[str] = []
    if turns is not None:
        script = tree["root"] / "turns.json"
        script.write_text(json.dumps(turns))
        extra = ["--model", f"scripted:{script}"]
    env = {**os.environ, "PYTHONPATH": SRC, "HOME": str(tree["home"]), "SOUS_HOME": str(tree["root"] / "sous")}
    return subprocess.run(
        [sys.executable, "-m", "sous", *args, *extra],
        cwd=tree["project"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_turns(path: str) -> list[dict]:
    return [{"tool_calls": [{"name": "Read", "input": {"file_path": path}}]}, {"text": "done"}]


def events(run: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def tool_result(run: subprocess.CompletedProcess) -> dict:
    for event in events(run):
        if event["type"] == "user":
            return event["message"]["content"][0]
    raise AssertionError(run.stdout + run.stderr)


def stream(tree, path: str, *flags: str) -> subprocess.CompletedProcess:
    return sous_run(tree, "-p", "read", "--output-format", "stream-json", "--verbose", *flags, turns=read_turns(path))


def test_a_relative_add_dir_is_read_and_named_in_the_init_event(tree):
    run = stream(tree, "../shared/notes.txt", "--add-dir", "../shared")
    assert run.returncode == 0, run.stderr
    init = events(run)[0]
    assert init["subtype"] == "init" and init["additional_directories"] == [str(tree["shared"].resolve())]
    result = tool_result(run)
    assert not result.get("is_error") and "SHARED-NOTES" in json.dumps(result)


@pytest.mark.parametrize("given, says", [("../nope", "no such directory"), ("../shared/notes.txt", "not a directory")])
def test_a_bad_add_dir_is_one_line_and_exit_2(tree, given, says):
    run = sous_run(tree, "-p", "hi", "--add-dir", "../shared", "--add-dir", given, turns=[{"text": "x"}])
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == f"sous: --add-dir {given}: {says}\n"


@pytest.mark.parametrize("listed, path", [("../shared", "../shared/notes.txt"), ("~", "~/diary.txt"), ("/", "/")])
def test_a_projects_own_settings_open_no_folder_until_approved(tree, listed, path):
    settings = {"permissions": {"additionalDirectories": [listed]}}
    (tree["project"] / ".claude" / "settings.json").write_text(json.dumps(settings))
    target = path if path != "/" else str(tree["home"] / "diary.txt")
    before = stream(tree, target)
    assert tool_result(before).get("is_error"), before.stdout
    assert "added working folder " + listed in before.stderr and "sous trust" in before.stderr
    assert events(before)[0]["additional_directories"] == []
    listing = sous_run(tree, "trust", "--yes")
    assert listing.returncode == 0 and "added working folder" in listing.stdout
    after = stream(tree, target)
    assert not tool_result(after).get("is_error"), after.stdout + after.stderr


def test_a_changed_target_is_asked_about_again(tree):
    (tree["root"] / "link").symlink_to(tree["shared"])
    settings = {"permissions": {"additionalDirectories": ["../link"]}}
    (tree["project"] / ".claude" / "settings.json").write_text(json.dumps(settings))
    assert sous_run(tree, "trust", "--yes").returncode == 0
    assert not tool_result(stream(tree, "../link/notes.txt")).get("is_error")
    (tree["root"] / "link").unlink()
    (tree["root"] / "link").symlink_to(tree["home"])
    again = stream(tree, "../link/diary.txt")
    assert tool_result(again).get("is_error") and "sous trust" in again.stderr


def test_the_users_own_settings_need_no_approval(tree):
    (tree["home"] / ".claude").mkdir()
    settings = {"permissions": {"additionalDirectories": [str(tree["shared"])]}}
    (tree["home"] / ".claude" / "settings.json").write_text(json.dumps(settings))
    run = stream(tree, "../shared/notes.txt")
    assert not tool_result(run).get("is_error"), run.stdout + run.stderr


def test_a_listed_folder_that_is_missing_is_left_out_with_a_warning(tree):
    settings = json.dumps({"permissions": {"additionalDirectories": ["../gone"]}})
    run = stream(tree, "../shared/notes.txt", "--settings", settings)
    assert run.returncode == 0
    assert "permissions.additionalDirectories: ../gone: no such directory; left out" in run.stderr
    assert tool_result(run).get("is_error")
