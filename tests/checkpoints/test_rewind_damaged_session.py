"""`sous rewind --conversation` when the session file was damaged, replaced or made a link: one
line and exit 1 before any file changes, or a rewind that keeps every readable line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.store import transcript

SRC = str(Path(sous.__file__).resolve().parents[1])


def sous_cli(*args: str, project: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "SOUS_HOME": str(home), "HOME": str(project.parent)},
    )


@pytest.fixture
def one_turn(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A project whose one turn wrote `note.txt`; returns (project, home, session file)."""
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    script = tmp_path / "turns.json"
    write = {"name": "Write", "input": {"file_path": "note.txt", "content": "written\n"}}
    script.write_text(json.dumps([{"tool_calls": [write]}, {"text": "done"}]))
    run = sous_cli(
        "-p",
        "write a note",
        "--model",
        f"scripted:{script}",
        "--dangerously-skip-permissions",
        project=project,
        home=home,
    )
    assert run.returncode == 0, run.stderr
    assert (project / "note.txt").exists()
    return project, home, next((home / "sessions").glob("*/*.jsonl"))


def checkpoint_id(project: Path, home: Path) -> str:
    return str(json.loads(sous_cli("rewind", "--json", project=project, home=home).stdout)[0]["id"])


@pytest.mark.parametrize("damage", ["garbage", "link", "fifo"])
def test_an_unusable_session_file_is_one_line_and_no_file_changes(one_turn, tmp_path, damage):
    project, home, path = one_turn
    number = checkpoint_id(project, home)
    path.unlink()
    if damage == "garbage":
        path.write_bytes(b"\xff\xfe not a session\n")
    elif damage == "link":
        (tmp_path / "elsewhere.jsonl").write_text("")
        path.symlink_to(tmp_path / "elsewhere.jsonl")
    else:
        os.mkfifo(path)
    run = sous_cli("rewind", number, "--both", project=project, home=home)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.startswith("sous rewind: ") and run.stderr.count("\n") == 1
    assert (project / "note.txt").read_text() == "written\n"  # refused before any file was touched
    if damage == "link":
        assert (tmp_path / "elsewhere.jsonl").read_text() == ""


def test_a_torn_line_and_garbage_do_not_stop_a_conversation_rewind(one_turn):
    project, home, path = one_turn
    with open(path, "ab") as f:
        f.write(b"\xff garbage\n" + b'{"v": 1, "type": "message", "mess')  # a kill -9 mid-write
    run = sous_cli("rewind", checkpoint_id(project, home), "--both", project=project, home=home)
    assert run.returncode == 0, run.stderr
    assert "conversation rewound" in run.stdout and not (project / "note.txt").exists()
    loaded = transcript.load(path)
    assert loaded.messages == [] and loaded.skipped == 2  # the rewind record went on its own line
