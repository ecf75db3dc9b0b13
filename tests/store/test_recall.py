"""Searching a project's past sessions: what is found, and what is never read."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sous.core import AssistantMessage, Text, ToolContext, UserMessage, new_id
from sous.paths import sessions_dir
from sous.store import recall
from sous.store.transcript import TranscriptWriter


def _session(folder: Path, session_id: str, *texts: str) -> Path:
    writer = TranscriptWriter.create(folder / f"{session_id}.jsonl", session_id=session_id, cwd="/p", model="m")
    for i, text in enumerate(texts):
        kind = UserMessage if i % 2 == 0 else AssistantMessage
        writer.message(kind(content=(Text(text=text),), id=new_id()))
    writer.close()
    return writer.path


def test_every_word_must_match_and_excerpts_name_the_session_and_date(tmp_path):
    _session(tmp_path, "aaa", "set up the staging server", "The staging server listens on port 8471.")
    _session(tmp_path, "bbb", "what is the weather", "Sunny.")
    found = recall.search(tmp_path, "staging PORT")
    assert found.complete and [h.session_id for h in found.hits] == ["aaa"]
    hit = found.hits[0]
    assert hit.role == "assistant" and "8471" in hit.excerpt and hit.date.endswith("UTC")
    assert hit.first_prompt == "set up the staging server"


def test_without_a_full_match_the_best_partial_ones_come_back_marked(tmp_path):
    _session(tmp_path, "aaa", "deploy to staging", "ok")
    found = recall.search(tmp_path, "staging zebra")
    assert not found.complete and found.hits[0].session_id == "aaa"
    assert recall.search(tmp_path, "   ").hits == []


def test_quoted_words_are_a_phrase_and_a_session_id_prefix_narrows(tmp_path):
    _session(tmp_path, "aaa111", "the blue whale", "ok")
    _session(tmp_path, "bbb222", "a whale that is blue", "ok")
    assert [h.session_id for h in recall.search(tmp_path, '"blue whale"').hits] == ["aaa111"]
    assert {h.session_id for h in recall.search(tmp_path, "whale blue").hits} == {"aaa111", "bbb222"}
    assert [h.session_id for h in recall.search(tmp_path, "whale", session_id="bbb").hits] == ["bbb222"]


def test_text_a_compaction_dropped_is_still_found(tmp_path):
    path = _session(tmp_path, "aaa", "the secret ingredient is cardamom", "Got it.")
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"v": 1, "type": "compact", "trigger": "manual"}\n')
    writer = TranscriptWriter(path)
    writer.message(UserMessage(content=(Text(text=recall.SUMMARY_MARK + " the user likes spices"),), id=new_id()))
    writer.close()
    session = recall.read(path)
    assert session.first_prompt == "the secret ingredient is cardamom" and "likes spices" in session.summary
    assert recall.search(tmp_path, "cardamom").hits[0].session_id == "aaa"


def test_damaged_lines_links_fifos_and_the_current_session_are_left_out(tmp_path):
    folder, other = tmp_path / "mine", tmp_path / "theirs"
    folder.mkdir()
    other.mkdir()
    path = _session(folder, "good", "the launch code is tango", "ok")
    with open(path, "ab") as f:
        f.write(
            b'{"v": 1, "type": "message", "message": {"role": "user", "content": [{"type": "te\n\xff\xfe garbage\n[]\n'
        )
    secret = _session(other, "theirs", "their launch code is tango too", "ok")
    os.symlink(secret, folder / "linked.jsonl")
    os.mkfifo(folder / "pipe.jsonl")  # opening it for reading would wait for a writer forever
    _session(folder, "current", "find the launch code tango", "searching")
    found = recall.search(folder, "launch code tango", exclude=["current"])
    assert [h.session_id for h in found.hits] == ["good"]
    assert found.sessions_searched == 1


def test_the_tool_searches_only_its_own_projects_folder(tmp_path, sous_home):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    env = {"SOUS_HOME": str(sous_home)}
    _session(sessions_dir(mine, env), "m1", "the release branch is called orchard", "ok")
    _session(sessions_dir(theirs, env), "t1", "the release branch is called meadow", "ok")
    from sous.tools.session_search import TOOL

    ctx = ToolContext(cwd=str(mine), project_dir=str(mine), environ=env, state={"session_id": lambda: "now"})
    result = asyncio.run(TOOL.run({"query": "release branch", "session_id": "t1"}, ctx))
    assert "meadow" not in result.content and result.data["matches"] == []
    result = asyncio.run(TOOL.run({"query": "release branch"}, ctx))
    assert "orchard" in result.content and "meadow" not in result.content and "m1" in result.content
    assert TOOL.read_only
