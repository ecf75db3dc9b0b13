"""The run record: what a run actually changed and ran, whatever the model says it did. Driven
through real sessions (scripted model, real tools, real checkpoints); malformed results first."""

from __future__ import annotations

import os

import pytest

from sous.core import RunEnd, Text, ToolCall, ToolEnd, ToolResultMessage
from sous.core.loop import INTERRUPTED_TOOL
from sous.models.scripted import ScriptedModel
from sous.runtime import Options, RunRecord, open_session
from sous.runtime.run_record import RunRecorder, command_run, edit_counts
from sous.ui.run_summary import summary_lines

FAILING = "python3 -c 'raise SystemExit(1)'"


def tool_end(name: str, arguments: dict, *, data=None, is_error: bool = False, text: str = "ok") -> ToolEnd:
    call = ToolCall(id="c1", name=name, arguments=arguments)
    result = ToolResultMessage(
        tool_call_id="c1", tool_name=name, content=(Text(text=text),), is_error=is_error, data=data
    )
    return ToolEnd(call=call, result=result, duration_ms=1)


@pytest.mark.parametrize(
    "data",
    [
        None,
        ["not", "a", "dict"],
        {"filePath": 7, "structuredPatch": []},
        {"structuredPatch": [{"lines": ["+x"]}]},  # no path
    ],
)
def test_a_file_tool_result_without_a_usable_shape_counts_nothing(data):
    assert edit_counts(tool_end("Edit", {}, data=data).result) is None


def test_malformed_hunks_are_skipped_and_the_good_lines_still_count():
    data = {"filePath": "/p/a.py", "structuredPatch": ["junk", {"lines": [3, None, "+new", "-old", " same"]}, {}]}
    assert edit_counts(tool_end("Edit", {}, data=data).result) == ("/p/a.py", 1, 1)


def test_a_failed_edit_counts_nothing_even_with_data():
    data = {"filePath": "/p/a.py", "structuredPatch": [{"lines": ["+x"]}]}
    assert edit_counts(tool_end("Edit", {}, data=data, is_error=True).result) is None


def test_a_refused_command_never_ran_and_an_interrupted_one_did():
    assert command_run(tool_end("Bash", {"command": "rm -rf /"}, is_error=True, text="denied by a rule")) is None
    assert command_run(tool_end("Bash", {"command": ["ls"]}, data={"returnCode": 0})) is None
    stopped = command_run(tool_end("Bash", {"command": "sleep 60"}, is_error=True, text=INTERRUPTED_TOOL))
    assert stopped is not None and (stopped.exit_code, stopped.status) == (None, "interrupted")
    odd = command_run(tool_end("Bash", {"command": "x"}, data={"returnCode": "1"}))
    assert odd is not None and odd.exit_code is None and odd.status == "exited"
    later = command_run(tool_end("Bash", {"command": "serve"}, data={"returnCode": None, "backgroundTaskId": "b1"}))
    assert later is not None and later.status == "background"


def test_a_path_outside_the_project_stays_absolute(tmp_path):
    recorder = RunRecorder(project_dir=str(tmp_path / "project"))
    outside = str(tmp_path / "elsewhere.txt")
    recorder(tool_end("Write", {}, data={"type": "create", "filePath": outside, "content": "a\nb\n"}))
    recorder(
        tool_end("Write", {}, data={"type": "create", "filePath": str(tmp_path / "project/in.txt"), "content": "a"})
    )
    record = recorder.finish(None)
    assert [(f.path, f.added, f.removed) for f in record.files] == [(outside, 2, 0), ("in.txt", 1, 0)]
    assert record.command_edits_checked  # no command ran: the tools' diffs are the whole story


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "b.py").write_text("one\ntwo\nthree\n")
    return root


def session_for(project, turns, persist: bool = False, **environ):
    env = {**os.environ, "HOME": str(project.parent), **environ}
    opts = Options(
        cwd=str(project), model=ScriptedModel(turns), environ=env, permission_mode="bypassPermissions", persist=persist
    )
    return open_session(opts)


TWO_FILES_AND_A_FAILING_COMMAND = [
    {
        "tool_calls": [
            {"name": "Write", "input": {"file_path": "a.py", "content": "x = 1\ny = 2\n"}},
            {"name": "Edit", "input": {"file_path": "b.py", "old_string": "two\n", "new_string": "2\nzwei\n"}},
        ]
    },
    {"tool_calls": [{"name": "Bash", "input": {"command": FAILING}}]},
    {"text": "I fixed it and the tests pass."},
]


async def test_two_edits_and_a_failing_command_are_recorded_exactly(project):
    turns = [{"tool_calls": [{"name": "Read", "input": {"file_path": "b.py"}}]}, *TWO_FILES_AND_A_FAILING_COMMAND]
    session = session_for(project, turns)
    seen_at_run_end = []
    session.subscribe(lambda e: seen_at_run_end.append(session.last_run) if isinstance(e, RunEnd) else None)
    end = await session.send("fix b.py and run the tests")
    session.close()
    assert end.reason == "end_turn"
    record = session.last_run
    assert seen_at_run_end == [record]  # complete when the run's end is heard
    assert record.as_dict() == {
        "files": [{"path": "a.py", "added": 2, "removed": 0}, {"path": "b.py", "added": 2, "removed": 1}],
        "commands": [{"command": FAILING, "exit_code": 1, "status": "exited"}],
        "command_edits_checked": True,
    }
    assert record.tool_calls == 4
    assert summary_lines(record, end.last_message.text) == [
        "changed: a.py +2 -0, b.py +2 -1",
        f"ran: {FAILING} (exit 1)",
    ]


async def test_a_write_of_the_same_content_changes_no_file(project):
    read = {"name": "Read", "input": {"file_path": "b.py"}}
    same = {"tool_calls": [read, {"name": "Write", "input": {"file_path": "b.py", "content": "one\ntwo\nthree\n"}}]}
    empty = {"tool_calls": [{"name": "Write", "input": {"file_path": "new.txt", "content": ""}}]}
    session = session_for(project, [same, {"text": "I added a line to b.py."}, empty, {"text": "I created new.txt."}])
    end = await session.send("add a line to b.py")
    assert session.last_run.files == () and session.last_run.tool_calls == 2
    assert summary_lines(session.last_run, end.last_message.text) == ["no files were changed"]
    await session.send("create an empty new.txt")
    session.close()
    assert [(f.path, f.added, f.removed) for f in session.last_run.files] == [("new.txt", 0, 0)]  # made, though empty


async def test_a_claim_with_no_tool_call_is_answered_by_no_files_were_changed(project):
    session = session_for(project, [{"text": "I fixed it."}, {"text": "It is 4."}])
    end = await session.send("fix it")
    assert session.last_run == RunRecord()
    assert summary_lines(session.last_run, end.last_message.text) == ["no files were changed"]
    end = await session.send("what is 2 + 2?")
    session.close()
    assert summary_lines(session.last_run, end.last_message.text) == []  # a plain answer needs no record


async def test_a_run_shows_its_own_record_not_the_one_before(project):
    turns = [
        {"tool_calls": [{"name": "Write", "input": {"file_path": "a.py", "content": "x\n"}}]},
        {"text": "Wrote a.py."},
        {"text": "I updated nothing else."},
    ]
    session = session_for(project, turns)
    await session.send("write a.py")
    assert [f.path for f in session.last_run.files] == ["a.py"]
    await session.send("anything else?")
    session.close()
    assert session.last_run.files == () and session.last_run.tool_calls == 0


async def test_an_edit_made_by_a_command_is_found_by_the_checkpoints(project):
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "sed -i 's/two/2/' b.py"}}]},
        {"text": "Replaced two with 2."},
    ]
    session = session_for(project, turns)
    end = await session.send("use digits")
    session.close()
    assert (project / "b.py").read_text() == "one\n2\nthree\n"
    assert session.last_run.as_dict() == {
        "files": [{"path": "b.py", "added": 1, "removed": 1}],
        "commands": [{"command": "sed -i 's/two/2/' b.py", "exit_code": 0, "status": "exited"}],
        "command_edits_checked": True,
    }
    assert summary_lines(session.last_run, end.last_message.text)[0] == "changed: b.py +1 -1"


async def test_without_checkpoints_a_commands_edits_are_said_to_be_untracked(project):
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "sed -i 's/two/2/' b.py"}}]},
        {"text": "Replaced two with 2."},
    ]
    session = session_for(project, turns, SOUS_CHECKPOINTS="0")
    end = await session.send("use digits")
    session.close()
    record = session.last_run
    assert record.files == () and record.command_edits_checked is False
    first = summary_lines(record, end.last_message.text)[0]
    assert first.startswith("no files were changed by sous's file tools") and "not tracked" in first


async def test_a_sub_agents_edits_count_as_the_runs(project):
    turns = [
        {
            "tool_calls": [
                {
                    "name": "Agent",
                    "input": {"description": "notes", "prompt": "write notes.txt", "subagent_type": "general-purpose"},
                }
            ]
        },
        {"tool_calls": [{"name": "Write", "input": {"file_path": "notes.txt", "content": "a\nb\nc\n"}}]},  # child
        {"text": "Wrote notes.txt."},  # child
        {"text": "The helper wrote notes.txt."},
    ]
    session = session_for(project, turns)
    await session.send("delegate")
    session.close()
    assert (project / "notes.txt").read_text() == "a\nb\nc\n"
    assert [(f.path, f.added, f.removed) for f in session.last_run.files] == [("notes.txt", 3, 0)]
    assert session.last_run.tool_calls == 2  # the Agent call and the child's Write


async def test_a_notebook_cell_replaced_counts_its_old_and_new_lines(project):
    import json

    notebook = {
        "cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "source": ["a = 1\n", "b = 2"], "outputs": []}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (project / "n.ipynb").write_text(json.dumps(notebook))
    turns = [
        {"tool_calls": [{"name": "ToolSearch", "input": {"query": "select:NotebookEdit"}}]},
        {"tool_calls": [{"name": "Read", "input": {"file_path": "n.ipynb"}}]},
        {
            "tool_calls": [
                {
                    "name": "NotebookEdit",
                    "input": {"notebook_path": "n.ipynb", "cell_id": "c1", "new_source": "a = 10\nb = 20\nc = 30"},
                }
            ]
        },
        {"text": "Updated the cell."},
    ]
    session = session_for(project, turns)
    await session.send("change the cell")
    session.close()
    assert [(f.path, f.added, f.removed) for f in session.last_run.files] == [("n.ipynb", 3, 2)]


async def test_the_transcript_keeps_the_record_of_a_run_that_used_tools(project):
    from sous.store import transcript

    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "sed -i 's/two/2/' b.py"}}]},
        {"text": "Done."},
        {"text": "Nothing to do."},
    ]
    session = session_for(project, turns, persist=True)
    await session.send("use digits")
    await session.send("anything else?")
    path = session.transcript_path
    session.close()
    records = transcript.load(path).records
    changes = [r for r in records if r.get("type") == "changes"]
    assert len(changes) == 1  # the second run used no tool: nothing to keep
    assert changes[0]["files"] == [{"path": "b.py", "added": 1, "removed": 1}]
    kinds = [r.get("type") for r in records]
    assert kinds.index("changes") < kinds.index("result")
