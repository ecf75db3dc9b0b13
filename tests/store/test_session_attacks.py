"""Session files shaped by someone else: lines with the wrong types or roles, ids that are paths,
links in the sessions folder, two writers at once, a full disk. Each is refused or repaired."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from sous.core import user
from sous.runtime.history import repair
from sous.store import transcript
from sous.store.ids import is_session_id


def session_file(path: Path, *lines: dict) -> Path:
    writer = transcript.TranscriptWriter.create(path, session_id=path.stem, cwd=str(path.parent), model="scripted:x")
    writer.message(user("first"))
    for line in lines:
        writer.write(line)
    writer.message(user("last"))
    writer.close()
    return path


def message_line(message: dict) -> dict:
    return {"type": "message", "id": "m", "parent_id": None, "message": message}


text = [{"type": "text", "text": "hi"}]
call = {"type": "tool_call", "id": "t1", "name": "Bash", "arguments": {"command": "ls"}}


@pytest.mark.parametrize(
    "message",
    [
        {"role": "user", "content": [{"type": "text", "text": 7}]},  # a number where text is expected
        {"role": "user", "content": text, "id": 12},
        {"role": "user", "content": [call]},  # a tool call is the assistant's, never the user's
        {"role": "tool", "tool_call_id": "t1", "content": [call]},
        {"role": "tool", "tool_call_id": 5, "content": text},
        {"role": "tool", "tool_call_id": "t1", "content": "hi"},  # content not a list
        {"role": "tool", "tool_call_id": "t1", "content": text, "is_error": "yes"},
        {"role": "assistant", "content": [{**call, "arguments": ["ls"]}]},
        {"role": "assistant", "content": [{**call, "id": None}]},
        {"role": "assistant", "content": ["just a string"]},
        {"role": "assistant", "content": [{"type": "hologram"}]},
        {"role": "assistant", "content": text, "usage": {"input_tokens": "many"}},
        {"role": "assistant", "content": text, "usage": [1, 2]},
        {"role": "assistant", "content": text, "stop_reason": "because"},
        {"role": "assistant", "content": text, "provider_data": "x"},
        {"role": ["user"], "content": text},
    ],
)
def test_a_message_line_with_wrong_types_or_a_block_its_role_cannot_hold_is_skipped(tmp_path, message):
    path = session_file(tmp_path / "s.jsonl", message_line(message))
    loaded = transcript.load(path)
    assert [m.text for m in loaded.messages] == ["first", "last"]
    assert loaded.skipped == 1 and "skipped 1 unreadable line" in loaded.damage


def test_unknown_usage_keys_are_ignored_and_the_message_kept(tmp_path):
    extra = {"role": "assistant", "content": text, "usage": {"input_tokens": 3, "server_tool_use": 1}}
    loaded = transcript.load(session_file(tmp_path / "s.jsonl", message_line(extra)))
    assert [m.text for m in loaded.messages] == ["first", "hi", "last"] and loaded.skipped == 0


def loaded_with(tmp_path: Path, *messages: dict) -> list:
    lines = [message_line({**m, "id": f"m{i}"}) for i, m in enumerate(messages)]
    path = session_file(tmp_path / f"s{len(list(tmp_path.iterdir()))}.jsonl", *lines)
    return repair(transcript.load(path).messages)


def shape(messages: list) -> list[str]:
    return [m.role + (f":{m.tool_call_id}" if m.role == "tool" else "") for m in messages]


def test_a_tool_result_without_its_call_is_left_out_of_the_history(tmp_path):
    orphan = {"role": "tool", "tool_call_id": "lost", "tool_name": "Bash", "content": text}
    assert shape(loaded_with(tmp_path, orphan)) == ["user", "user"]


def test_a_call_answered_twice_keeps_one_answer_and_a_late_answer_is_left_out(tmp_path):
    answer = {"role": "tool", "tool_call_id": "t1", "tool_name": "Bash", "content": text}
    history = loaded_with(tmp_path, {"role": "assistant", "content": [call]}, answer, answer)
    assert shape(history) == ["user", "assistant", "tool:t1", "user"]
    late = loaded_with(tmp_path, {"role": "assistant", "content": [call]}, {"role": "user", "content": text}, answer)
    # the call got its "did not finish" answer where it stood; the answer after a prompt is dropped
    assert shape(late) == ["user", "assistant", "tool:t1", "user", "user"]
    assert late[2].is_error


def test_a_line_written_twice_is_one_message_in_the_history(tmp_path):
    asked = message_line({"role": "assistant", "content": [call], "id": "a1"})
    answer = message_line({"role": "tool", "tool_call_id": "t1", "tool_name": "Bash", "content": text, "id": "r1"})
    path = session_file(tmp_path / "s.jsonl", asked, answer, asked, answer)  # two writers, one session
    assert shape(repair(transcript.load(path).messages)) == ["user", "assistant", "tool:t1", "user"]


@pytest.mark.parametrize(
    "bad", ["../../x", "/etc/passwd", "a/b", "*", "[ab]", "?", "..", ".hidden", "a\nb", "a\0b", "", "x" * 300]
)
def test_an_id_that_is_a_path_or_a_pattern_finds_nothing(bad, tmp_path, sous_home):
    session_file(transcript.session_path(str(tmp_path), "abc"))
    (sous_home / "x.jsonl").write_text(transcript.session_path(str(tmp_path), "abc").read_text())
    assert not is_session_id(bad)
    assert transcript.find(bad) is None


def test_a_session_is_found_by_its_id_or_a_unique_prefix(tmp_path, sous_home):
    path = session_file(transcript.session_path(str(tmp_path), "abc-123"))
    assert transcript.find("abc-123") == path and transcript.find("abc") == path
    session_file(transcript.session_path(str(tmp_path), "abc-456"))
    assert transcript.find("abc") is None  # two match: none is guessed


def test_a_link_in_the_sessions_folder_is_neither_read_nor_written_through(tmp_path, sous_home):
    outside = session_file(tmp_path / "outside.jsonl")
    before = outside.read_bytes()
    link = transcript.session_path(str(tmp_path), "linked")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    with pytest.raises(transcript.UnreadableSession, match="symbolic link"):
        transcript.load(link)
    with pytest.raises(OSError):
        transcript.TranscriptWriter(link)
    assert transcript.latest(str(tmp_path)) is None  # --continue passes over it
    assert outside.read_bytes() == before


def test_a_link_to_dev_zero_is_refused_at_once(tmp_path):
    link = tmp_path / "zero.jsonl"
    link.symlink_to("/dev/zero")
    with pytest.raises(transcript.UnreadableSession):
        transcript.load(link)


def _append_many(path: str, marker: str) -> None:
    writer = transcript.TranscriptWriter(Path(path))
    for i in range(60):
        writer.message(user(f"{marker}{i} " + marker * 40_000))  # lines far longer than any buffer
    writer.close()


def test_two_processes_appending_to_one_session_never_mix_their_lines(tmp_path):
    path = session_file(tmp_path / "s.jsonl")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), m)) for m in "ab"]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    loaded = transcript.load(path)
    assert loaded.skipped == 0
    assert len(loaded.messages) == 2 + 120
    for line in path.read_bytes().splitlines():
        json.loads(line)


def test_a_write_that_fails_stops_the_writer_says_why_once_and_keeps_what_was_written(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here to stand for a full disk")
    path = session_file(tmp_path / "s.jsonl")
    writer = transcript.TranscriptWriter(path)
    fd = os.open("/dev/full", os.O_WRONLY)
    os.dup2(fd, writer._fd)  # the file's descriptor now answers every write with ENOSPC
    os.close(fd)
    writer.message(user("lost"))
    assert "No space left on device" in writer.problem and "\n" not in writer.problem
    writer.message(user("also lost"))  # no second failure, no exception
    writer.close()
    assert [m.text for m in transcript.load(path).messages] == ["first", "last"]


def test_a_compaction_cut_off_before_its_summary_keeps_the_history_before_it(tmp_path):
    boundary = {"type": "compact", "subtype": "compact_boundary", "trigger": "auto"}
    cut = tmp_path / "cut.jsonl"
    writer = transcript.TranscriptWriter.create(cut, session_id="cut", cwd=str(tmp_path), model="m")
    for prompt in ("one", "two"):
        writer.message(user(prompt))
    writer.write(boundary)  # the process ended here, before the summary was written
    writer.close()
    assert [m.text for m in transcript.load(cut).messages] == ["one", "two"]
    writer = transcript.TranscriptWriter(cut)
    writer.message(user("summary of one and two"))
    writer.close()
    assert [m.text for m in transcript.load(cut).messages] == ["summary of one and two"]
