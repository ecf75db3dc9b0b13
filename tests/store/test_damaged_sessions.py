"""Damaged session files: keep what can be read, say what was skipped, never glue or lose records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.core import user
from sous.store import transcript

SRC = str(Path(sous.__file__).resolve().parents[1])


def session_file(tmp_path: Path, prompts=("one", "two")) -> Path:
    path = tmp_path / "s.jsonl"
    writer = transcript.TranscriptWriter.create(path, session_id="s", cwd=str(tmp_path), model="scripted:x")
    for prompt in prompts:
        writer.message(user(prompt))
    writer.close()
    return path


def texts(loaded: transcript.LoadedSession) -> list[str]:
    return [m.text for m in loaded.messages]


def test_a_torn_last_line_is_ended_before_the_next_record_is_appended(tmp_path):
    path = session_file(tmp_path)
    with open(path, "a") as f:
        f.write('{"v": 1, "type": "message", "id": "x", "message": {"role": "us')  # kill -9 mid-write
    writer = transcript.TranscriptWriter(path)
    writer.message(user("three"))
    writer.close()
    loaded = transcript.load(path)
    assert texts(loaded) == ["one", "two", "three"]
    assert loaded.skipped == 1 and "skipped 1 unreadable line" in loaded.damage and str(path) in loaded.damage


@pytest.mark.parametrize(
    "garbage",
    [
        b"not json at all",
        b"\xff\xfe\x00garbage",
        b"5",
        b"[]",
        b"null",
        b'{"v": "one", "type": "message"}',
        b'{"v": 1, "type": "message", "message": 5}',
        b'{"v": 1, "type": "message", "message": {"role": "alien"}}',
        b'{"v": 1}',
        b"[" * 50_000,
    ],
)
def test_a_garbage_line_is_skipped_and_counted_and_the_rest_kept(tmp_path, garbage):
    path = session_file(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1] + garbage + b"\n" + lines[2])
    loaded = transcript.load(path)
    assert texts(loaded) == ["one", "two"]
    assert loaded.skipped + loaded.replaced >= 1 and "\n" not in loaded.damage


def test_bad_bytes_inside_a_message_keep_the_message(tmp_path):
    path = session_file(tmp_path, prompts=("one",))
    with open(path, "ab") as f:
        f.write(
            b'{"v": 1, "type": "message", "id": "m2", "message": {"role": "user", '
            b'"content": [{"type": "text", "text": "caf\xe9 two"}]}}\n'
        )
    loaded = transcript.load(path)
    assert texts(loaded) == ["one", "caf\ufffd two"]
    assert loaded.replaced == 1 and "replaced bad bytes in 1 line" in loaded.damage


@pytest.mark.parametrize("header", [b'{"v": 1, "type": "sess', b"\x00\x00\x00", b""])
def test_a_torn_or_garbled_header_is_recovered_with_the_file_name_as_id(tmp_path, header):
    path = session_file(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(header + b"\n" + b"".join(lines[1:]))
    loaded = transcript.load(path)
    assert loaded.session_id == "s" and texts(loaded) == ["one", "two"]


def test_a_newer_schema_is_refused_rather_than_appended_to(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"v": 99, "type": "session", "session_id": "s"}) + "\n")
    with pytest.raises(transcript.UnreadableSession, match="newer sous"):
        transcript.load(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"\n\n", b"hello world\nthis is a text file\n", os.urandom(4096), b'{"some": "json"}\n{"other": 1}\n'],
)
def test_a_file_with_no_session_in_it_is_one_clear_error(tmp_path, content):
    path = tmp_path / "s.jsonl"
    path.write_bytes(content)
    with pytest.raises(transcript.UnreadableSession, match="not a sous session file"):
        transcript.load(path)


def test_continue_passes_over_an_empty_file(tmp_path, sous_home):
    older = transcript.session_path(str(tmp_path), "older")
    older.parent.mkdir(parents=True)
    older.write_text(json.dumps({"v": 1, "type": "session", "session_id": "older"}) + "\n")
    newer = transcript.session_path(str(tmp_path), "newer")
    newer.write_bytes(b"")
    os.utime(older, (1, 1))
    assert transcript.latest(str(tmp_path)) == older


# The real command.


def sous_p(project: Path, *args: str) -> subprocess.CompletedProcess:
    script = project.parent / "turns.json"
    script.write_text(json.dumps([{"text": "ok"}]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "sous", "-p", *args, "--model", f"scripted:{script}"],
        cwd=project,
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def test_continue_after_a_torn_write_loses_no_prompt(project):
    assert sous_p(project, "first").returncode == 0
    path = transcript.latest(str(project))
    with open(path, "a") as f:
        f.write('{"v": 1, "type": "message", "id": "torn", "mess')
    second = sous_p(project, "-c", "second")
    assert second.returncode == 0, second.stderr
    assert f"{path}: skipped 1 unreadable line" in second.stderr
    third = sous_p(project, "-c", "third")
    assert third.returncode == 0, third.stderr
    prompts = [m.text for m in transcript.load(path).messages if m.role == "user"]
    assert [p for p in prompts if p in ("first", "second", "third")] == ["first", "second", "third"]
    assert "skipped 1 unreadable line" in third.stderr  # the torn line stays, reported, never glued to


@pytest.mark.parametrize("content", [b"\xff\xfe garbage \x00\n", json.dumps({"v": 7, "type": "session"}).encode()])
def test_continue_on_an_unusable_file_is_exit_2_and_one_line(project, sous_home, content):
    path = transcript.session_path(str(project), "broken")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    run = sous_p(project, "-c", "go on")
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in run.stderr


def test_resume_by_id_of_a_file_with_a_garbage_line_continues_and_reports(project, sous_home):
    assert sous_p(project, "first").returncode == 0
    path = transcript.latest(str(project))
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"\xff\xff not a record\n" + b"".join(lines[1:]))
    run = sous_p(project, "-r", path.stem, "second")
    assert run.returncode == 0, run.stderr
    assert "skipped 1 unreadable line" in run.stderr and "Traceback" not in run.stderr
    prompts = [m.text for m in transcript.load(path).messages if m.role == "user"]
    assert "first" in prompts and "second" in prompts


def test_a_fifo_or_dangling_link_in_place_of_a_session_is_refused_without_blocking(tmp_path, sous_home):
    fifo = tmp_path / "s.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(transcript.UnreadableSession, match="not a regular file"):
        transcript.load(fifo)
    folder = transcript.session_path(str(tmp_path), "x").parent
    folder.mkdir(parents=True)
    (folder / "gone.jsonl").symlink_to(tmp_path / "nowhere")
    os.mkfifo(folder / "pipe.jsonl")
    assert transcript.list_sessions(str(tmp_path)) == []  # neither is offered to -c or /resume
    assert transcript.latest(str(tmp_path)) is None
