"""`--replay-user-messages` and the `rewind_files` control request, through the real SDK and line by line."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
from claude_agent_sdk import ClaudeSDKClient, UserMessage
from stream_json import lines as _lines
from stream_json import start as _start

REPLAY = {"replay-user-messages": None}


def _write(text: str, call_id: str) -> list[dict]:
    command = f"echo {text} > notes.txt"
    return [{"tool_calls": [{"name": "Bash", "input": {"command": command}, "id": call_id}]}, {"text": "written"}]


def _replayed(messages) -> list[UserMessage]:
    return [m for m in messages if isinstance(m, UserMessage) and m.uuid and isinstance(m.content, str)]


def test_replayed_prompts_come_back_with_a_uuid(options, script):
    async def main():
        async with ClaudeSDKClient(options(script([{"text": "a"}, {"text": "b"}]), extra_args=REPLAY)) as client:
            seen = []
            for prompt in ("first", "second"):
                await client.query(prompt)
                seen += [m async for m in client.receive_response()]
            return seen

    replayed = _replayed(asyncio.run(main()))
    assert [m.content for m in replayed] == ["first", "second"]
    assert len({m.uuid for m in replayed}) == 2


def test_rewind_files_restores_the_files_of_that_prompt(options, script, project):
    (project / "notes.txt").write_text("original\n")
    turns = _write("one", "c1") + _write("two", "c2")
    opts = options(
        script(turns), permission_mode="bypassPermissions", enable_file_checkpointing=True, extra_args=REPLAY
    )

    async def main():
        async with ClaudeSDKClient(opts) as client:
            uuids = []
            for prompt in ("make it one", "make it two"):
                await client.query(prompt)
                uuids += [m.uuid for m in _replayed([m async for m in client.receive_response()])]
            assert (project / "notes.txt").read_text() == "two\n"
            await client.rewind_files(uuids[1])
            after_second = (project / "notes.txt").read_text()
            await client.rewind_files(uuids[0])
            return after_second, (project / "notes.txt").read_text()

    assert asyncio.run(main()) == ("one\n", "original\n")


def test_rewind_files_to_an_unknown_message_is_an_error_and_changes_nothing(options, script, project):
    opts = options(
        script(_write("one", "c1")),
        permission_mode="bypassPermissions",
        enable_file_checkpointing=True,
        extra_args=REPLAY,
    )

    async def main():
        async with ClaudeSDKClient(opts) as client:
            await client.query("write")
            [m async for m in client.receive_response()]
            with pytest.raises(Exception, match="No file checkpoint found for this message"):
                await client.rewind_files("00000000-0000-4000-8000-000000000000")

    asyncio.run(main())
    assert (project / "notes.txt").read_text() == "one\n"


def test_rewind_files_without_file_checkpointing_is_refused(options, script, project):
    opts = options(script(_write("one", "c1")), permission_mode="bypassPermissions", extra_args=REPLAY)

    async def main():
        async with ClaudeSDKClient(opts) as client:
            await client.query("write")
            uuid = _replayed([m async for m in client.receive_response()])[0].uuid
            with pytest.raises(Exception, match="File rewinding is not enabled"):
                await client.rewind_files(uuid)

    asyncio.run(main())
    assert (project / "notes.txt").read_text() == "one\n"


def test_malformed_rewind_requests_get_error_responses(cli, project, script):
    proc = _start(
        cli,
        project,
        script([{"text": "fine"}]),
        "--replay-user-messages",
        env={"CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING": "true"},
    )
    prompt = {"type": "user", "message": {"role": "user", "content": "hi"}, "uuid": "program-chosen-uuid"}
    requests = [{"subtype": "rewind_files"}, {"subtype": "rewind_files", "user_message_id": 42}]
    lines = [json.dumps(prompt)] + [
        json.dumps({"type": "control_request", "request_id": f"r{i}", "request": r}) for i, r in enumerate(requests)
    ]
    out, _ = proc.communicate("\n".join(lines) + "\n", timeout=60)
    assert proc.returncode == 0
    got = _lines(out)
    errors = {
        line["response"]["request_id"]: line["response"]["error"] for line in got if line["type"] == "control_response"
    }
    assert 'needs a "user_message_id" string' in errors["r0"] and 'needs a "user_message_id"' in errors["r1"]
    replay = next(line for line in got if line["type"] == "user" and line.get("isReplay"))
    assert replay["uuid"] == "program-chosen-uuid" and replay["message"]["content"] == "hi"
    assert [line["result"] for line in got if line["type"] == "result"] == ["fine"]


def test_replay_without_stream_json_input_is_refused(cli, project):
    run = subprocess.run(
        [cli, "-p", "hi", "--replay-user-messages"],
        check=False,
        input="",
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
    )
    assert run.returncode == 2 and "--replay-user-messages needs --input-format stream-json" in run.stderr


def test_a_control_request_without_a_request_object_still_gets_its_error_response(cli, project, script):
    proc = _start(cli, project, script([{"text": "fine"}]))
    lines = [
        json.dumps({"type": "control_request", "request_id": "r1", "request": "rewind_files"}),
        json.dumps({"type": "control_request", "request_id": "r2", "request": {"no_subtype": True}}),
        json.dumps({"type": "user", "message": {"role": "user", "content": "hi"}}),
    ]
    out, err = proc.communicate("\n".join(lines) + "\n", timeout=60)
    assert proc.returncode == 0
    errors = {
        line["response"]["request_id"]: line["response"]["error"]
        for line in _lines(out)
        if line["type"] == "control_response" and line["response"]["subtype"] == "error"
    }
    assert 'needs a "request" object' in errors["r1"] and "unsupported control request subtype None" in errors["r2"]
    assert 'needs a "request_id"' in err


def test_a_dry_run_names_the_files_and_changes_none(cli, project, script):
    (project / "notes.txt").write_text("original\n")
    proc = _start(
        cli,
        project,
        script(_write("one", "c1")),
        "--replay-user-messages",
        "--permission-mode",
        "bypassPermissions",
        env={"CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING": "1"},
    )
    proc.stdin.write(json.dumps({"type": "user", "message": {"role": "user", "content": "write"}}) + "\n")
    proc.stdin.flush()
    lines = []
    while not lines or lines[-1]["type"] != "result":
        lines.append(json.loads(proc.stdout.readline()))
    uuid = next(line["uuid"] for line in lines if line.get("isReplay"))
    request = {"subtype": "rewind_files", "user_message_id": uuid, "dry_run": True}
    proc.stdin.write(json.dumps({"type": "control_request", "request_id": "d1", "request": request}) + "\n")
    proc.stdin.flush()
    answer = json.loads(proc.stdout.readline())
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert answer["response"] == {
        "subtype": "success",
        "request_id": "d1",
        "response": {"canRewind": True, "filesChanged": ["notes.txt"]},
    }
    assert (project / "notes.txt").read_text() == "one\n"
