"""`sous acp` reading, writing and running through the editor's own file system and terminals,
with the PyPI `agent-client-protocol` package as the editor."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

import sous

acp = pytest.importorskip("acp")
from acp import RequestError  # noqa: E402 - after the skip check
from acp.schema import (  # noqa: E402
    AllowedOutcome,
    ClientCapabilities,
    CreateTerminalResponse,
    FileSystemCapabilities,
    ReadTextFileResponse,
    RequestPermissionResponse,
    TerminalExitStatus,
    TerminalOutputResponse,
    WaitForTerminalExitResponse,
)

SRC = Path(sous.__file__).resolve().parents[1]
EVERYTHING = ClientCapabilities(fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=True)


class Workspace:
    """An editor with unsaved buffers and real terminals, recording every request it gets.
    `broken` names methods that answer with an error, `silent` those that never answer."""

    def __init__(self, choice: str = "once", buffers: dict[str, str] | None = None):
        self.choice = choice
        self.buffers = dict(buffers or {})
        self.updates: list = []
        self.calls: list[tuple[str, dict]] = []
        self.asked: list[str] = []
        self.terminals: dict[str, tuple[asyncio.subprocess.Process, bytearray, asyncio.Task]] = {}
        self.broken: set[str] = set()
        self.silent: set[str] = set()

    async def _enter(self, method: str, **params) -> None:
        self.calls.append((method, params))
        if method in self.broken:
            raise RequestError.internal_error({"details": f"{method} is broken in this editor"})
        if method in self.silent:
            await asyncio.Event().wait()

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    async def session_update(self, session_id, update, **kwargs):
        self.updates.append(update)

    async def request_permission(self, session_id, tool_call, options, **kwargs):
        self.asked.append(tool_call.title)
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=self.choice))

    async def read_text_file(self, session_id, path, line=None, limit=None, **kwargs):
        await self._enter("fs/read_text_file", path=path)
        text = self.buffers[path] if path in self.buffers else Path(path).read_text()
        return ReadTextFileResponse(content=text)

    async def write_text_file(self, session_id, path, content, **kwargs):
        await self._enter("fs/write_text_file", path=path, content=content)
        self.buffers[path] = content
        Path(path).write_text(content)  # saved at once, as Zed does
        return None

    async def create_terminal(self, session_id, command, args=None, env=None, cwd=None, output_byte_limit=None, **kw):
        await self._enter("terminal/create", command=command, args=args, cwd=cwd)
        environment = {**os.environ, **{v.name: v.value for v in env or []}}
        proc = await asyncio.create_subprocess_exec(
            command,
            *(args or []),
            cwd=cwd,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        output = bytearray()

        async def pump():
            while chunk := await proc.stdout.read(4096):
                output.extend(chunk)

        terminal_id = f"term-{len(self.terminals) + 1}"
        self.terminals[terminal_id] = (proc, output, asyncio.ensure_future(pump()))
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def terminal_output(self, session_id, terminal_id, **kwargs):
        await self._enter("terminal/output", terminal_id=terminal_id)
        proc, output, _ = self.terminals[terminal_id]
        status = None if proc.returncode is None else TerminalExitStatus(exit_code=max(proc.returncode, 0))
        return TerminalOutputResponse(output=output.decode(), truncated=False, exit_status=status)

    async def wait_for_terminal_exit(self, session_id, terminal_id, **kwargs):
        await self._enter("terminal/wait_for_exit", terminal_id=terminal_id)
        proc, _, pump = self.terminals[terminal_id]
        code = await proc.wait()
        await pump
        return WaitForTerminalExitResponse(
            exit_code=code if code >= 0 else None, signal="SIGKILL" if code < 0 else None
        )

    async def kill_terminal(self, session_id, terminal_id, **kwargs):
        await self._enter("terminal/kill", terminal_id=terminal_id)
        proc, _, _ = self.terminals[terminal_id]
        if proc.returncode is None:
            os.killpg(proc.pid, 9)
            await proc.wait()
        return None

    async def release_terminal(self, session_id, terminal_id, **kwargs):
        await self._enter("terminal/release", terminal_id=terminal_id)
        return None

    def finished(self) -> dict[str, object]:
        """The last update of each tool call that completed or failed, by call id."""
        return {
            u.tool_call_id: u
            for u in self.updates
            if u.session_update == "tool_call_update" and u.status in ("completed", "failed")
        }

    def text(self) -> str:
        return "".join(u.content.text for u in self.updates if u.session_update == "agent_message_chunk")


def _call(name: str, call_id: str, **arguments) -> dict:
    """One model turn asking for one tool call."""
    return {"tool_calls": [{"name": name, "id": call_id, "input": arguments}]}


def _agent(tmp_path: Path, turns: list) -> list[str]:
    path = tmp_path / f"turns{len(list(tmp_path.glob('turns*.json')))}.json"
    path.write_text(json.dumps(turns))
    return [sys.executable, "-m", "sous", "acp", "--model", f"scripted:{path}"]


def _drive(editor: Workspace, tmp_path: Path, turns: list, capabilities=EVERYTHING, env=None, limit=60):
    async def main():
        from acp import spawn_agent_process, text_block

        environment = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
        async with spawn_agent_process(editor, *_agent(tmp_path, turns), env=environment, cwd=str(tmp_path)) as (
            conn,
            _,
        ):
            await conn.initialize(protocol_version=1, client_capabilities=capabilities)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            reply = await conn.prompt(session_id=new.session_id, prompt=[text_block("go")])
            return new.session_id, reply

    return asyncio.run(asyncio.wait_for(main(), limit))


def _transcript(session_id: str) -> str:
    home = Path(os.environ["SOUS_HOME"])
    return next(home.rglob(f"{session_id}.jsonl")).read_text()


def _result_text(update) -> str:
    return "".join(c.content.text for c in update.content or [] if c.type == "content")


def test_read_and_edit_go_through_the_editor_and_its_unsaved_buffer_wins(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("first\nsaved line\n")
    buffer = "first\nunsaved line\n"  # typed in the editor, not saved
    turns = [
        {"tool_calls": [{"name": "Read", "id": "r1", "input": {"file_path": str(notes)}}]},
        {
            "tool_calls": [
                {
                    "name": "Edit",
                    "id": "e1",
                    "input": {"file_path": str(notes), "old_string": "unsaved line", "new_string": "edited line"},
                }
            ]
        },
        {"text": "done"},
    ]
    editor = Workspace(buffers={str(notes): buffer})
    _, reply = _drive(editor, tmp_path, turns)
    assert reply.stop_reason == "end_turn" and editor.text() == "done"
    assert ("fs/read_text_file", {"path": str(notes)}) in editor.calls
    assert "unsaved line" in _result_text(editor.finished()["r1"])
    writes = [p for m, p in editor.calls if m == "fs/write_text_file"]
    assert writes == [{"path": str(notes), "content": "first\nedited line\n"}]
    assert editor.finished()["e1"].status == "completed"
    assert notes.read_text() == "first\nedited line\n"


def test_bash_runs_in_the_editors_terminal_and_the_tool_call_shows_it(tmp_path):
    turns = [
        {"tool_calls": [{"name": "Bash", "id": "b1", "input": {"command": "echo hi from the terminal; cd sub"}}]},
        {"tool_calls": [{"name": "Bash", "id": "b2", "input": {"command": "exit 3"}}]},
        {"text": "ran"},
    ]
    (tmp_path / "sub").mkdir()
    editor = Workspace()
    session_id, reply = _drive(editor, tmp_path, turns)
    assert reply.stop_reason == "end_turn"
    created = [p for m, p in editor.calls if m == "terminal/create"]
    assert len(created) == 2 and created[0]["cwd"] == str(tmp_path) and created[1]["cwd"] == str(tmp_path / "sub")
    assert created[0]["args"][-2:] == ["-c", "echo hi from the terminal; cd sub"]
    assert editor.methods().count("terminal/release") == 2 and "terminal/kill" not in editor.methods()
    shown = [
        (u.tool_call_id, c.terminal_id)
        for u in editor.updates
        if u.session_update == "tool_call_update"
        for c in u.content or []
        if c.type == "terminal"
    ]
    assert ("b1", "term-1") in shown and ("b2", "term-2") in shown
    assert editor.finished()["b1"].status == "completed" and editor.finished()["b2"].status == "failed"
    transcript = _transcript(session_id)
    assert "hi from the terminal" in transcript and "Exit code 3" in transcript


def test_a_client_that_offers_nothing_gets_local_files_and_commands(tmp_path):
    turns = [
        {
            "tool_calls": [
                {"name": "Write", "id": "w1", "input": {"file_path": str(tmp_path / "a.txt"), "content": "x"}}
            ]
        },
        {"tool_calls": [{"name": "Bash", "id": "b1", "input": {"command": "cat a.txt; echo ' local'"}}]},
        {"text": "ok"},
    ]
    editor = Workspace()
    _, reply = _drive(editor, tmp_path, turns, capabilities=None)
    assert reply.stop_reason == "end_turn" and editor.calls == []
    assert (tmp_path / "a.txt").read_text() == "x"
    assert "x local" in _result_text(editor.finished()["b1"])


def test_a_denied_write_never_reaches_the_editor(tmp_path):
    turns = [
        {
            "tool_calls": [
                {"name": "Write", "id": "w1", "input": {"file_path": str(tmp_path / "no.txt"), "content": "x"}}
            ]
        },
        {"text": "ok"},
    ]
    editor = Workspace(choice="reject")
    _, reply = _drive(editor, tmp_path, turns)
    assert reply.stop_reason == "end_turn" and editor.asked
    assert "fs/write_text_file" not in editor.methods() and not (tmp_path / "no.txt").exists()
    assert editor.finished()["w1"].status == "failed"


def test_an_editor_that_fails_or_never_answers_gives_the_model_one_line_in_bounded_time(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old\n")
    turns = [
        {"tool_calls": [{"name": "Read", "id": "r1", "input": {"file_path": str(target)}}]},
        {
            "tool_calls": [
                {"name": "Write", "id": "w1", "input": {"file_path": str(tmp_path / "new.txt"), "content": "y"}}
            ]
        },
        {"tool_calls": [{"name": "Bash", "id": "b1", "input": {"command": "true"}}]},
        {"text": "survived"},
    ]
    editor = Workspace()
    editor.broken = {"fs/read_text_file"}
    editor.silent = {"fs/write_text_file", "terminal/create"}
    started = time.monotonic()
    _, reply = _drive(editor, tmp_path, turns, env={"SOUS_ACP_TIMEOUT_MS": "800"})
    assert time.monotonic() - started < 30
    assert reply.stop_reason == "end_turn" and editor.text() == "survived"
    done = editor.finished()
    assert all(done[c].status == "failed" for c in ("r1", "w1", "b1"))
    read_error = _result_text(done["r1"])
    assert read_error.startswith(f"Cannot read {target} through the editor: the editor refused fs/read_text_file")
    assert "\n" not in read_error
    assert _result_text(done["w1"]) == (
        f"Cannot write {tmp_path / 'new.txt'} through the editor: "
        "the editor did not answer fs/write_text_file within 0.8 s"
    )
    assert _result_text(done["b1"]) == (
        "The editor's terminal failed: the command's start was not confirmed: "
        "the editor did not answer terminal/create within 0.8 s"
    )
    assert not (tmp_path / "new.txt").exists()


def test_a_command_whose_output_never_comes_is_not_reported_as_not_run(tmp_path):
    turns = [_call("Bash", "b1", command="echo ran > ran.txt"), {"text": "ok"}]
    editor = Workspace()
    editor.silent = {"terminal/output"}
    _, reply = _drive(editor, tmp_path, turns, env={"SOUS_ACP_TIMEOUT_MS": "800"})
    assert reply.stop_reason == "end_turn" and (tmp_path / "ran.txt").read_text() == "ran\n"
    assert _result_text(editor.finished()["b1"]) == (
        "The editor's terminal failed: the command started, but the editor did not answer terminal/output within 0.8 s"
    )
    assert "terminal/release" in editor.methods()


def test_a_terminal_the_editor_refuses_is_reported_as_not_started(tmp_path):
    turns = [_call("Bash", "b1", command="touch never.txt"), {"text": "ok"}]
    editor = Workspace()
    editor.broken = {"terminal/create"}
    _, reply = _drive(editor, tmp_path, turns)
    assert reply.stop_reason == "end_turn" and not (tmp_path / "never.txt").exists()
    said = _result_text(editor.finished()["b1"])
    assert said.startswith(
        "The editor's terminal failed: the command did not start: the editor refused terminal/create"
    )
    assert "\n" not in said and "terminal/release" not in editor.methods()


def test_a_command_past_its_timeout_is_killed_and_released(tmp_path):
    turns = [
        {"tool_calls": [{"name": "Bash", "id": "b1", "input": {"command": "echo started; sleep 30", "timeout": 1000}}]},
        {"text": "ok"},
    ]
    editor = Workspace()
    started = time.monotonic()
    session_id, reply = _drive(editor, tmp_path, turns)
    assert time.monotonic() - started < 25 and reply.stop_reason == "end_turn"
    methods = editor.methods()
    assert methods.index("terminal/kill") < methods.index("terminal/output") < methods.index("terminal/release")
    transcript = _transcript(session_id)
    assert "started" in transcript and "Command timed out after 1s" in transcript


def test_cancel_kills_the_editors_terminal(tmp_path):
    turns = [{"tool_calls": [{"name": "Bash", "id": "s1", "input": {"command": "sleep 30"}}]}, {"text": "late"}]
    editor = Workspace()

    async def main():
        from acp import spawn_agent_process, text_block

        environment = {**os.environ, "PYTHONPATH": str(SRC)}
        async with spawn_agent_process(editor, *_agent(tmp_path, turns), env=environment, cwd=str(tmp_path)) as (
            conn,
            _,
        ):
            await conn.initialize(protocol_version=1, client_capabilities=EVERYTHING)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            running = asyncio.ensure_future(conn.prompt(session_id=new.session_id, prompt=[text_block("wait")]))
            while "terminal/wait_for_exit" not in editor.methods():
                await asyncio.sleep(0.05)
            await conn.cancel(session_id=new.session_id)
            reply = await running
            for _ in range(100):  # the clean-up requests may land just after the reply
                if "terminal/release" in editor.methods():
                    break
                await asyncio.sleep(0.05)
            return reply

    reply = asyncio.run(asyncio.wait_for(main(), 60))
    assert reply.stop_reason == "cancelled"
    assert "terminal/kill" in editor.methods() and "terminal/release" in editor.methods()
    proc, _, _ = editor.terminals["term-1"]
    assert proc.returncode is not None


def test_with_the_sandbox_on_bash_stays_local_while_files_still_go_through_the_editor(tmp_path):
    from sous.tools import _sandbox

    if not _sandbox.usable():
        pytest.skip("bubblewrap cannot run here")
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"sandbox": {"enabled": True}}))
    outside = {"command": "echo unboxed", "dangerouslyDisableSandbox": True}
    turns = [
        {"tool_calls": [{"name": "Bash", "id": "b1", "input": {"command": "echo boxed"}}]},
        {"tool_calls": [{"name": "Bash", "id": "b2", "input": outside}]},
        {
            "tool_calls": [
                {"name": "Write", "id": "w1", "input": {"file_path": str(tmp_path / "w.txt"), "content": "z"}}
            ]
        },
        {"text": "ok"},
    ]
    editor = Workspace()
    _, reply = _drive(editor, tmp_path, turns)
    assert reply.stop_reason == "end_turn"
    assert not [m for m in editor.methods() if m.startswith("terminal/")]
    assert "boxed" in _result_text(editor.finished()["b1"]) and "unboxed" in _result_text(editor.finished()["b2"])
    assert [m for m in editor.methods() if m.startswith("fs/")] == ["fs/write_text_file"]


def test_slash_commands_are_advertised_and_a_prompt_starting_with_one_runs_it(tmp_path):
    commands = tmp_path / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "greet.md").write_text(
        "---\ndescription: Greet someone\nargument-hint: [name]\n---\nSay hello to $ARGUMENTS in one line.\n"
    )
    skill = tmp_path / ".claude" / "skills" / "tidy"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: tidy\ndescription: Tidy the imports\n---\nSort the imports.\n")
    editor = Workspace()
    typed = ["/cost", "/greet Ada", "/clear", "/cots", "/tmp/x.png what is this"]

    async def main():
        from acp import spawn_agent_process, text_block

        environment = {**os.environ, "PYTHONPATH": str(SRC)}
        turns = [{"text": "Hello, Ada."}, {"text": "a path, not a command"}]
        async with spawn_agent_process(editor, *_agent(tmp_path, turns), env=environment, cwd=str(tmp_path)) as (
            conn,
            _,
        ):
            await conn.initialize(protocol_version=1)
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            replies = []
            for text in typed:
                start = len(editor.updates)
                reply = await conn.prompt(session_id=new.session_id, prompt=[text_block(text)])
                said = "".join(
                    u.content.text for u in editor.updates[start:] if u.session_update == "agent_message_chunk"
                )
                replies.append((reply.stop_reason, said))
            return new.session_id, replies

    session_id, replies = asyncio.run(asyncio.wait_for(main(), 60))
    listed = next(u for u in editor.updates if u.session_update == "available_commands_update")
    offered = {c.name: c for c in listed.available_commands}
    assert {"compact", "cost", "model", "status", "greet", "tidy"} <= set(offered)
    assert not {"clear", "exit", "resume", "memory"} & set(offered)
    assert offered["greet"].description == "Greet someone" and offered["greet"].input.root.hint == "[name]"
    assert offered["compact"].input.root.hint == "[focus]" and offered["cost"].input is None
    assert offered["tidy"].description == "Tidy the imports"
    assert all(stop == "end_turn" for stop, _ in replies)
    assert "total cost:" in replies[0][1]
    assert replies[1][1] == "Hello, Ada."
    assert replies[2][1].startswith("/clear is not available in an editor")
    assert replies[3][1] == "unknown command /cots — did you mean /cost?"
    assert replies[4][1] == "a path, not a command"
    assert "Say hello to Ada in one line." in _transcript(session_id)


def test_a_buffer_changed_since_the_read_is_not_overwritten_and_a_refused_outside_read_never_reaches_the_editor(
    tmp_path,
):
    project = tmp_path / "project"
    project.mkdir()
    notes = project / "notes.txt"
    notes.write_text("alpha\n")
    secret = tmp_path / "outside.txt"
    secret.write_text("not the project's\n")
    turns = [
        _call("Read", "r1", file_path=str(notes)),
        _call("Edit", "e1", file_path=str(notes), old_string="alpha", new_string="beta"),
        _call("Read", "r2", file_path=str(secret)),
        {"text": "ok"},
    ]
    editor = Workspace(choice="reject", buffers={str(notes): "alpha\n"})
    original = editor.read_text_file

    async def user_types_after_the_read(session_id, path, **kwargs):
        reply = await original(session_id, path, **kwargs)
        editor.buffers[path] = "alpha\ntyped meanwhile\n"
        return reply

    editor.read_text_file = user_types_after_the_read

    async def main():
        from acp import spawn_agent_process, text_block

        environment = {**os.environ, "PYTHONPATH": str(SRC)}
        async with spawn_agent_process(editor, *_agent(tmp_path, turns), env=environment, cwd=str(project)) as (
            conn,
            _,
        ):
            await conn.initialize(protocol_version=1, client_capabilities=EVERYTHING)
            new = await conn.new_session(cwd=str(project), mcp_servers=[])
            await conn.set_session_mode(session_id=new.session_id, mode_id="acceptEdits")
            return await conn.prompt(session_id=new.session_id, prompt=[text_block("go")])

    reply = asyncio.run(asyncio.wait_for(main(), 60))
    assert reply.stop_reason == "end_turn"
    done = editor.finished()
    assert done["e1"].status == "failed" and "modified since read" in _result_text(done["e1"])
    assert "fs/write_text_file" not in editor.methods() and notes.read_text() == "alpha\n"
    assert editor.asked == [f"Read {secret}"] and done["r2"].status == "failed"
    assert [p["path"] for m, p in editor.calls if m == "fs/read_text_file"] == [str(notes), str(notes)]


def test_hooks_apply_to_calls_that_go_through_the_editor(tmp_path):
    deny = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "writes are frozen today",
        }
    }
    hook = tmp_path / "deny.sh"
    hook.write_text(f"#!/bin/sh\ncat > /dev/null\necho '{json.dumps(deny)}'\n")
    hook.chmod(0o755)
    settings = {
        "hooks": {"PreToolUse": [{"matcher": "Write|Bash", "hooks": [{"type": "command", "command": str(hook)}]}]}
    }
    (Path(os.environ["SOUS_HOME"]) / "settings.json").write_text(json.dumps(settings))
    (tmp_path / "sub").mkdir()
    turns = [
        _call("Write", "w1", file_path=str(tmp_path / "sub" / "deep" / "f.txt"), content="x"),
        _call("Bash", "b1", command="touch hooked.txt"),
        {"text": "ok"},
    ]
    editor = Workspace()
    _, reply = _drive(editor, tmp_path, turns)
    assert reply.stop_reason == "end_turn" and editor.calls == [] and editor.asked == []
    assert "writes are frozen today" in _result_text(editor.finished()["w1"])
    assert not (tmp_path / "hooked.txt").exists()


def test_write_through_the_editor_makes_the_missing_folders(tmp_path):
    target = tmp_path / "new" / "folder" / "f.txt"
    turns = [_call("Write", "w1", file_path=str(target), content="made\n"), {"text": "ok"}]
    editor = Workspace()
    _, reply = _drive(editor, tmp_path, turns)
    assert reply.stop_reason == "end_turn" and editor.finished()["w1"].status == "completed"
    assert editor.calls == [("fs/write_text_file", {"path": str(target), "content": "made\n"})]
    assert target.read_text() == "made\n"


def test_typing_in_the_buffer_after_sous_wrote_it_is_not_overwritten_by_the_next_edit(tmp_path):
    """An editor that keeps sous's write in an unsaved buffer: what the person types there next must
    stop a later Edit, though the disk has not changed."""
    notes = tmp_path / "notes.txt"
    notes.write_text("alpha\n")
    turns = [
        _call("Read", "r1", file_path=str(notes)),
        _call("Write", "w1", file_path=str(notes), content="beta\n"),
        _call("Edit", "e1", file_path=str(notes), old_string="beta", new_string="gamma"),
        {"text": "done"},
    ]
    editor = Workspace(choice="session", buffers={str(notes): "alpha\n"})

    async def unsaved_write(session_id, path, content, **kwargs):
        await editor._enter("fs/write_text_file", path=path, content=content)
        editor.buffers[path] = content + "typed by the person\n"  # and nothing saved to disk
        return None

    editor.write_text_file = unsaved_write
    _, reply = _drive(editor, tmp_path, turns)
    assert reply.stop_reason == "end_turn"
    done = editor.finished()
    assert done["w1"].status == "completed"
    assert done["e1"].status == "failed" and "modified since read" in _result_text(done["e1"])
    assert editor.buffers[str(notes)] == "beta\ntyped by the person\n" and notes.read_text() == "alpha\n"
