"""Bash, TaskOutput and TaskStop against real bash processes."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from sous.core import ToolContext
from sous.tools.bash import TASK_OUTPUT, TASK_STOP, TOOL, list_jobs, stop_all


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"
    except OSError:
        return False


async def wait_dead(pid: int, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_output_and_success(ctx):
    result = await TOOL.run({"command": "echo hello; echo oops >&2"}, ctx)
    assert not result.is_error
    assert result.content == "hello\noops"
    assert result.data["stdout"] == "hello" and result.data["stderr"] == "oops" and result.data["returnCode"] == 0


async def test_failure_starts_with_the_exit_code(ctx):
    result = await TOOL.run({"command": "echo partial; exit 3"}, ctx)
    assert result.is_error
    assert result.content.splitlines() == ["Exit code 3", "partial"]


async def test_grep_finding_nothing_is_not_an_error(ctx, tmp_path):
    (tmp_path / "a.txt").write_text("alpha\n")
    assert not (await TOOL.run({"command": "grep beta a.txt"}, ctx)).is_error
    assert not (await TOOL.run({"command": "cat a.txt | grep -c beta"}, ctx)).is_error
    assert (await TOOL.run({"command": "grep beta missing.txt"}, ctx)).is_error  # exit 2, stderr
    assert (await TOOL.run({"command": "false"}, ctx)).is_error


async def test_no_output_is_said(ctx):
    assert (await TOOL.run({"command": "true"}, ctx)).content == "(no output)"


async def test_cwd_carries_over_inside_the_project(ctx, tmp_path):
    (tmp_path / "sub dir").mkdir()
    await TOOL.run({"command": "cd 'sub dir'"}, ctx)
    assert ctx.cwd == str((tmp_path / "sub dir").resolve())
    result = await TOOL.run({"command": "pwd"}, ctx)
    assert result.content == str((tmp_path / "sub dir").resolve())


async def test_cwd_outside_the_project_is_reset_with_a_note(ctx, tmp_path):
    result = await TOOL.run({"command": "cd /"}, ctx)
    assert ctx.cwd == str(tmp_path)
    assert f"Shell cwd was reset to {tmp_path}" in result.content


async def test_exports_do_not_persist(ctx):
    await TOOL.run({"command": "export SOUS_TEST_VAR=1"}, ctx)
    assert (await TOOL.run({"command": 'echo "[$SOUS_TEST_VAR]"'}, ctx)).content == "[]"


async def test_huge_output_keeps_head_and_tail_with_a_note(ctx):
    result = await TOOL.run({"command": "seq 1 200000"}, ctx)
    text = result.content
    assert len(text) < 31_000
    assert text.startswith("1\n2\n3\n") and text.endswith("199999\n200000")
    assert "truncated" in text


async def test_output_limit_follows_the_environment(tmp_path):
    ctx = ToolContext(
        cwd=str(tmp_path), project_dir=str(tmp_path), environ={**os.environ, "BASH_MAX_OUTPUT_LENGTH": "1000"}
    )
    result = await TOOL.run({"command": "seq 1 5000"}, ctx)
    assert len(result.content) < 1200 and "truncated" in result.content


async def test_gigantic_output_uses_bounded_memory(ctx):
    result = await TOOL.run({"command": "yes 0123456789 | head -c 50000000"}, ctx)
    assert len(result.content) < 31_000 and "bytes of output truncated" in result.content


async def test_timeout_kills_the_whole_process_group(ctx, tmp_path):
    started = time.monotonic()
    result = await TOOL.run({"command": "sleep 1000 & echo $! > child.pid; sleep 1000", "timeout": 500}, ctx)
    assert time.monotonic() - started < 5
    assert result.is_error and "timed out" in result.content and result.data["interrupted"]
    assert await wait_dead(int((tmp_path / "child.pid").read_text()))


async def test_cancelling_the_call_kills_the_process_group(ctx, tmp_path):
    task = asyncio.ensure_future(TOOL.run({"command": "echo $$ > shell.pid; sleep 1000"}, ctx))
    pid_file = tmp_path / "shell.pid"
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_dead(int(pid_file.read_text()))


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4, 5])
async def test_an_interrupt_as_the_command_starts_ends_it_at_once_and_leaves_no_process(ctx, tmp_path, steps):
    # Cancelled while bash is being started, asyncio alone kills only the shell and then waits for
    # the pipes, which a child of the shell (`sleep`) holds open: the interrupt hung for its lifetime.
    task = asyncio.ensure_future(TOOL.run({"command": "sleep 1000 & echo $! > child.pid; wait"}, ctx))
    for _ in range(steps):
        await asyncio.sleep(0)
    started = time.monotonic()
    task.cancel()
    child = tmp_path / "child.pid"
    try:
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        assert time.monotonic() - started < 3
        if child.exists() and child.read_text().strip():
            assert await wait_dead(int(child.read_text()))
    finally:  # never leave a `sleep 1000` behind, even when the check fails
        if child.exists() and child.read_text().strip() and alive(int(child.read_text())):
            os.kill(int(child.read_text()), 9)


async def test_progress_reports_output_as_it_comes(tmp_path):
    seen: list[tuple[float, str]] = []
    ctx = ToolContext(
        cwd=str(tmp_path), project_dir=str(tmp_path), progress=lambda text: seen.append((time.monotonic(), text))
    )
    await TOOL.run({"command": "echo one; sleep 0.3; echo two"}, ctx)
    assert "".join(t for _, t in seen) == "one\ntwo\n"
    assert len(seen) == 2 and seen[1][0] - seen[0][0] > 0.2


async def test_background_task_output_and_status(ctx):
    started = await TOOL.run({"command": "for i in 1 2 3; do echo $i; sleep 0.1; done", "run_in_background": True}, ctx)
    task_id = started.data["backgroundTaskId"]
    assert task_id in started.content and [j.id for j in list_jobs(ctx.state)] == [task_id]
    result = await TASK_OUTPUT.run({"task_id": task_id}, ctx)
    assert "completed" in result.content and result.data["output"] == "1\n2\n3"
    again = await TASK_OUTPUT.run({"task_id": task_id}, ctx)
    assert "(no new output)" in again.content


async def test_task_output_without_blocking_reports_running(ctx):
    started = await TOOL.run({"command": "sleep 5", "run_in_background": True}, ctx)
    result = await TASK_OUTPUT.run({"task_id": started.data["backgroundTaskId"], "block": False}, ctx)
    assert "running" in result.content
    stop_all(ctx.state)


async def test_task_stop_kills_a_background_task(ctx, tmp_path):
    started = await TOOL.run({"command": "echo $$ > bg.pid; sleep 1000", "run_in_background": True}, ctx)
    task_id = started.data["backgroundTaskId"]
    for _ in range(100):
        if (tmp_path / "bg.pid").exists() and (tmp_path / "bg.pid").read_text().strip():
            break
        await asyncio.sleep(0.05)
    stopped = await TASK_STOP.run({"task_id": task_id}, ctx)
    assert "Successfully killed" in stopped.content
    assert await wait_dead(int((tmp_path / "bg.pid").read_text()))
    assert list_jobs(ctx.state)[0].status == "killed"


async def test_unknown_task_lists_the_known_ones(ctx):
    await TOOL.run({"command": "true", "run_in_background": True}, ctx)
    result = await TASK_STOP.run({"task_id": "bash_99"}, ctx)
    assert result.is_error and "bash_1" in result.content


async def test_stop_all_kills_remaining_tasks(ctx, tmp_path):
    await TOOL.run({"command": "echo $$ > bg.pid; sleep 1000", "run_in_background": True}, ctx)
    for _ in range(100):
        if (tmp_path / "bg.pid").exists() and (tmp_path / "bg.pid").read_text().strip():
            break
        await asyncio.sleep(0.05)
    stop_all(ctx.state)
    assert await wait_dead(int((tmp_path / "bg.pid").read_text()))


async def test_cat_of_a_file_counts_as_reading_it(ctx, tmp_path):
    from sous.tools.edit import TOOL as EDIT

    (tmp_path / "a.txt").write_text("one\n")
    (tmp_path / "b.txt").write_text("two\n")
    await TOOL.run({"command": "cat a.txt"}, ctx)
    await TOOL.run({"command": "cat b.txt | head -1"}, ctx)  # piped: not a plain view
    assert not (await EDIT.run({"file_path": "a.txt", "old_string": "one", "new_string": "1"}, ctx)).is_error
    assert (await EDIT.run({"file_path": "b.txt", "old_string": "two", "new_string": "2"}, ctx)).is_error


def test_commands_do_not_run_in_sous_own_virtual_environment(tmp_path):
    from sous.tools.bash import without_own_venv

    venv, project = tmp_path / "sous-venv", tmp_path / "project"
    (venv / "bin").mkdir(parents=True)
    project.mkdir()
    env = {"PATH": f"{venv}/bin:/usr/local/bin:/usr/bin", "VIRTUAL_ENV": str(venv), "VIRTUAL_ENV_PROMPT": "(v)"}
    cleaned = without_own_venv(dict(env), str(project), prefix=str(venv), base_prefix="/usr")
    assert cleaned["PATH"] == "/usr/local/bin:/usr/bin" and "VIRTUAL_ENV" not in cleaned


def test_the_project_own_venv_and_a_plain_interpreter_are_left_alone(tmp_path):
    from sous.tools.bash import without_own_venv

    project = tmp_path / "project"
    (project / ".venv" / "bin").mkdir(parents=True)
    env = {"PATH": f"{project}/.venv/bin:/usr/bin", "VIRTUAL_ENV": f"{project}/.venv"}
    assert without_own_venv(dict(env), str(project), prefix=f"{project}/.venv", base_prefix="/usr") == env
    assert without_own_venv(dict(env), str(project), prefix="/usr", base_prefix="/usr") == env
    other = {"PATH": "/opt/other-venv/bin:/usr/bin", "VIRTUAL_ENV": "/opt/other-venv"}
    assert without_own_venv(dict(other), str(project), prefix=str(tmp_path / "sous-venv"), base_prefix="/usr") == other
