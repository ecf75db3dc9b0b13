"""TodoWrite: the session's task list, replaced whole on every call."""

from __future__ import annotations

from pathlib import Path

import pytest

from sous.core import ToolContext
from sous.tools.schema import validate
from sous.tools.todo import TOOL as TODO
from sous.tools.todo import current_todos

FIRST = [
    {"content": "Write code", "status": "in_progress", "activeForm": "Writing code"},
    {"content": "Run tests", "status": "pending", "activeForm": "Running tests"},
]


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))


async def test_todo_write_stores_the_list_with_claude_codes_wording(ctx):
    result = await TODO.run({"todos": FIRST}, ctx)
    assert not result.is_error
    assert result.content == (
        "Todos have been modified successfully. Ensure that you continue to use the todo "
        "list to track your progress. Please proceed with the current tasks if applicable"
    )
    assert result.data == {"oldTodos": [], "newTodos": FIRST}
    assert ctx.state["todos"] == FIRST and current_todos(ctx.state) == FIRST


async def test_todo_write_replaces_the_list_and_reports_the_old_one(ctx):
    await TODO.run({"todos": FIRST}, ctx)
    second = [{**FIRST[0], "status": "completed"}, {**FIRST[1], "status": "in_progress"}]
    result = await TODO.run({"todos": second}, ctx)
    assert result.data == {"oldTodos": FIRST, "newTodos": second}
    assert current_todos(ctx.state) == second
    cleared = await TODO.run({"todos": []}, ctx)
    assert cleared.data["oldTodos"] == second and current_todos(ctx.state) == []


async def test_the_stored_list_is_a_copy_of_the_arguments(ctx):
    todos = [dict(t) for t in FIRST]
    await TODO.run({"todos": todos}, ctx)
    todos[0]["status"] = "completed"
    snapshot = current_todos(ctx.state)
    snapshot.append({"content": "x", "status": "pending", "activeForm": "x"})
    assert current_todos(ctx.state) == FIRST


async def test_more_than_one_in_progress_succeeds_with_a_warning(ctx):
    two = [{"content": c, "status": "in_progress", "activeForm": c} for c in ("a", "b")]
    result = await TODO.run({"todos": two}, ctx)
    assert not result.is_error and current_todos(ctx.state) == two
    assert "more than one todo is in_progress" in result.content
    assert "in_progress" not in (await TODO.run({"todos": FIRST}, ctx)).content


async def test_empty_task_texts_are_refused_and_the_list_kept(ctx):
    await TODO.run({"todos": FIRST}, ctx)
    empty = await TODO.run({"todos": [{"content": " ", "status": "pending", "activeForm": "x"}]}, ctx)
    assert empty.is_error and "todos[0].content is empty" in empty.content
    no_form = await TODO.run({"todos": [{"content": "x", "status": "pending", "activeForm": ""}]}, ctx)
    assert no_form.is_error and "todos[0].activeForm" in no_form.content
    assert current_todos(ctx.state) == FIRST


def test_the_schema_rejects_a_bad_status_and_a_missing_active_form():
    bad_status = {"todos": [{"content": "a", "status": "done", "activeForm": "a"}]}
    assert "todos[0].status" in validate(bad_status, TODO.input_schema)
    no_form = {"todos": [{"content": "a", "status": "pending"}]}
    assert "todos[0].activeForm" in validate(no_form, TODO.input_schema)
    with_id = {"todos": [{"id": "1", "content": "a", "status": "pending", "activeForm": "a"}]}
    assert validate(with_id, TODO.input_schema) is None


def test_current_todos_of_a_fresh_session_is_empty():
    assert current_todos({}) == []


def test_todo_write_is_not_read_only():
    assert TODO.name == "TodoWrite" and TODO.read_only is False
