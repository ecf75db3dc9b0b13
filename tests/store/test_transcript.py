from __future__ import annotations

import json

import pytest

from sous.core import AssistantMessage, Text, Thinking, ToolCall, ToolResultMessage, Usage, user
from sous.runtime.history import repair
from sous.store import transcript
from sous.store.codec import from_dict, to_dict


def sample_messages():
    return [
        user("hi"),
        AssistantMessage(
            content=(
                Thinking(thinking="hmm", signature="sig"),
                Text(text="ok"),
                ToolCall(id="t1", name="Bash", arguments={"command": "ls"}),
            ),
            model="m",
            usage=Usage(input_tokens=3, output_tokens=4, cache_read_tokens=2, cost_usd=0.5),
            stop_reason="tool_use",
            id="a1",
            provider_data={"id": "msg_1"},
        ),
        ToolResultMessage(
            tool_call_id="t1", tool_name="Bash", content=(Text(text="file"),), data={"stdout": "file"}, id="r1"
        ),
    ]


def test_messages_round_trip_through_json():
    for message in sample_messages():
        assert from_dict(json.loads(json.dumps(to_dict(message)))) == message


def test_writer_appends_versioned_lines_and_loader_reads_them_back(tmp_path):
    path = tmp_path / "s.jsonl"
    writer = transcript.TranscriptWriter.create(path, session_id="s", cwd="/p", model="scripted:x")
    for m in sample_messages():
        writer.message(m)
    writer.write({"type": "result", "reason": "end_turn"})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(line["v"] == transcript.SCHEMA_VERSION for line in lines)
    assert lines[2]["parent_id"] == lines[1]["id"]
    loaded = transcript.load(path)
    assert loaded.session_id == "s" and loaded.messages == sample_messages()
    assert loaded.records[0]["type"] == "result"


def test_every_line_is_on_disk_before_close(tmp_path):
    path = tmp_path / "s.jsonl"
    writer = transcript.TranscriptWriter.create(path, session_id="s", cwd="/p", model="m")
    writer.message(user("first"))
    assert len(transcript.load(path).messages) == 1  # read while the writer is still open


def test_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "s.jsonl"
    writer = transcript.TranscriptWriter.create(path, session_id="s", cwd="/p", model="m")
    writer.message(user("kept"))
    writer.close()
    with open(path, "a") as f:
        f.write('{"v": 1, "type": "message", "mess')
    assert [m.text for m in transcript.load(path).messages] == ["kept"]


def test_not_a_session_file(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(ValueError):
        transcript.load(path)


def test_latest_and_find(tmp_path, sous_home):
    import os
    import time

    cwd = str(tmp_path)
    for sid in ("aaa-1", "bbb-2"):
        transcript.TranscriptWriter.create(
            transcript.session_path(cwd, sid), session_id=sid, cwd=cwd, model="m"
        ).close()
        time.sleep(0.01)
    os.utime(transcript.session_path(cwd, "aaa-1"))
    assert transcript.latest(cwd).stem == "aaa-1"
    assert transcript.find("bbb").stem == "bbb-2"
    assert transcript.find("zzz") is None
    assert str(sous_home) in str(transcript.find("aaa-1"))


def test_repair_answers_calls_cut_off_by_a_crash():
    messages = sample_messages()[:2]
    repaired = repair(messages)
    assert isinstance(repaired[-1], ToolResultMessage) and repaired[-1].is_error
    assert repair(sample_messages()) == sample_messages()
