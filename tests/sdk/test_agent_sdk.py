"""End to end with the unmodified PyPI `claude-agent-sdk` as the program and sous as its CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeSDKClient,
    HookMatcher,
    PermissionResultAllow,
    PermissionResultDeny,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ToolResultBlock,
    UserMessage,
    query,
)


def _texts(messages) -> list[str]:
    return [b.text for m in messages if isinstance(m, AssistantMessage) for b in m.content if isinstance(b, TextBlock)]


def _tool_results(messages) -> list[ToolResultBlock]:
    return [
        b
        for m in messages
        if isinstance(m, UserMessage) and isinstance(m.content, list)
        for b in m.content
        if isinstance(b, ToolResultBlock)
    ]


async def _collect(prompt, options) -> list:
    return [m async for m in query(prompt=prompt, options=options)]


def _bash_then_done(command: str) -> list[dict]:
    return [{"tool_calls": [{"name": "Bash", "input": {"command": command}, "id": "call_1"}]}, {"text": "done"}]


async def _prompts(*texts: str):
    for text in texts:
        yield {
            "type": "user",
            "message": {"role": "user", "content": text},
            "parent_tool_use_id": None,
            "session_id": "default",
        }


def test_query_one_shot(options, script, caplog):
    messages = asyncio.run(_collect("say hello", options(script([{"text": "hello from sous"}]))))
    init = [m for m in messages if isinstance(m, SystemMessage) and m.subtype == "init"]
    assert len(init) == 1 and init[0].data["claude_code_version"]
    assert _texts(messages) == ["hello from sous"]
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success" and result.result == "hello from sous"
    assert "too old" not in caplog.text  # the SDK's version check is satisfied


def test_client_keeps_one_session_across_prompts(options, script):
    async def main():
        seen = []
        async with ClaudeSDKClient(options(script([{"text": "first"}, {"text": "second"}]))) as client:
            for prompt in ("one", "two"):
                await client.query(prompt)
                seen.append([m async for m in client.receive_response()])
        return seen

    first, second = asyncio.run(main())
    assert _texts(first) == ["first"] and _texts(second) == ["second"]
    assert first[-1].session_id == second[-1].session_id
    assert first[-1].num_turns == 1 and second[-1].subtype == "success"


def test_can_use_tool_allow_with_updated_input_runs_the_new_command(options, script, project):
    asked = []

    async def decide(tool, tool_input, context):
        asked.append((tool, dict(tool_input)))
        return PermissionResultAllow(updated_input={"command": "echo changed > out.txt"})

    opts = options(script(_bash_then_done("echo original > out.txt")), can_use_tool=decide)
    messages = asyncio.run(_collect(_prompts("write it"), opts))
    assert asked == [("Bash", {"command": "echo original > out.txt"})]
    assert (project / "out.txt").read_text() == "changed\n"
    assert not _tool_results(messages)[0].is_error
    assert messages[-1].subtype == "success"


def test_can_use_tool_allow_with_invalid_updated_input_is_refused_by_validation(options, script, project):
    async def decide(tool, tool_input, context):
        return PermissionResultAllow(updated_input={"command": 42})

    opts = options(script(_bash_then_done("echo original > out.txt")), can_use_tool=decide)
    messages = asyncio.run(_collect(_prompts("write it"), opts))
    assert not (project / "out.txt").exists()
    assert _tool_results(messages)[0].is_error


def test_can_use_tool_deny_message_reaches_the_model(options, script, project):
    async def decide(tool, tool_input, context):
        return PermissionResultDeny(message="not in this repository, use the staging copy")

    opts = options(script(_bash_then_done("echo x > out.txt")), can_use_tool=decide)
    messages = asyncio.run(_collect(_prompts("write it"), opts))
    result = _tool_results(messages)[0]
    assert result.is_error and "use the staging copy" in str(result.content)
    assert not (project / "out.txt").exists()
    assert messages[-1].permission_denials and messages[-1].permission_denials[0]["tool_name"] == "Bash"


def test_python_pre_tool_use_hook_denies_the_call(options, script, project):
    calls = []

    async def guard(hook_input, tool_use_id, context):
        calls.append((hook_input["hook_event_name"], hook_input["tool_name"], hook_input["tool_input"]["command"]))
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": "the guard refuses writes",
            }
        }

    opts = options(
        script(_bash_then_done("echo x > out.txt")),
        permission_mode="bypassPermissions",
        hooks={"PreToolUse": [HookMatcher(matcher="Bash", hooks=[guard])]},
    )
    messages = asyncio.run(_collect(_prompts("write it"), opts))
    assert calls == [("PreToolUse", "Bash", "echo x > out.txt")]
    assert not (project / "out.txt").exists()
    result = _tool_results(messages)[0]
    assert result.is_error and "the guard refuses writes" in str(result.content)
    assert [d["tool_name"] for d in messages[-1].permission_denials] == ["Bash"]  # as Claude Code lists it


def test_hook_matcher_that_does_not_fit_is_not_called(options, script, project):
    calls = []

    async def guard(hook_input, tool_use_id, context):
        calls.append(hook_input["tool_name"])
        return {}

    opts = options(
        script(_bash_then_done("echo x > out.txt")),
        permission_mode="bypassPermissions",
        hooks={"PreToolUse": [HookMatcher(matcher="Write", hooks=[guard])]},
    )
    asyncio.run(_collect(_prompts("write it"), opts))
    assert calls == [] and (project / "out.txt").read_text() == "x\n"


def test_user_prompt_submit_hook_adds_context(options, script):
    async def add(hook_input, tool_use_id, context):
        return {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "TICKET-42"}}

    async def main():
        async with ClaudeSDKClient(
            options(script([{"text": "ok"}]), hooks={"UserPromptSubmit": [HookMatcher(hooks=[add])]})
        ) as client:
            await client.query("hi")
            return [m async for m in client.receive_response()]

    messages = asyncio.run(main())
    assert messages[-1].subtype == "success"
    (path,) = Path(os.environ["SOUS_HOME"]).rglob(f"{messages[-1].session_id}.jsonl")
    assert "TICKET-42" in path.read_text()  # the model was sent the hook's context with the prompt


def test_interrupt_stops_the_running_turn(options, script):
    async def main():
        turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "sleep 30"}, "id": "c1"}]}, {"text": "late"}]
        async with ClaudeSDKClient(options(script(turns), permission_mode="bypassPermissions")) as client:
            await client.query("wait")
            seen = []
            async for message in client.receive_messages():
                seen.append(message)
                if isinstance(message, AssistantMessage):
                    await asyncio.sleep(0.5)
                    await client.interrupt()
                if isinstance(message, ResultMessage):
                    return seen

    seen = asyncio.run(main())
    assert seen[-1].is_error and seen[-1].result == "Interrupted"
    assert seen[-1].errors == ["Interrupted"]  # every error result has `errors`; the npm SDK reads it unchecked
    assert "late" not in _texts(seen)


def test_set_permission_mode_changes_what_asks(options, script, project):
    async def main():
        turns = _bash_then_done("echo one > a.txt") + _bash_then_done("echo two > b.txt")
        async with ClaudeSDKClient(options(script(turns))) as client:
            await client.query("first")
            first = [m async for m in client.receive_response()]
            await client.set_permission_mode("bypassPermissions")
            await client.query("second")
            second = [m async for m in client.receive_response()]
            return first, second

    first, second = asyncio.run(main())
    assert _tool_results(first)[0].is_error and not (project / "a.txt").exists()  # nobody answers: refused
    assert not _tool_results(second)[0].is_error and (project / "b.txt").read_text() == "two\n"


def test_set_model_switches_the_model(options, script):
    second = script([{"text": "from the second model"}])

    async def main():
        async with ClaudeSDKClient(options(script([{"text": "from the first model"}]))) as client:
            await client.query("a")
            one = [m async for m in client.receive_response()]
            await client.set_model(second)
            await client.query("b")
            two = [m async for m in client.receive_response()]
            return one, two

    one, two = asyncio.run(main())
    assert _texts(one) == ["from the first model"] and _texts(two) == ["from the second model"]
    (init,) = [m for m in two if isinstance(m, SystemMessage) and m.subtype == "init"]  # each prompt has its own
    assert init.data["model"] == second.partition(":")[2]  # the model switched to


def test_set_model_to_an_unknown_model_is_an_error_the_session_survives(options, script):
    async def main():
        async with ClaudeSDKClient(options(script([{"text": "still here"}]))) as client:
            with pytest.raises(Exception, match="set_model"):
                await client.set_model("nonsense-provider:x")
            await client.query("a")
            return [m async for m in client.receive_response()]

    assert _texts(asyncio.run(main())) == ["still here"]


def test_include_partial_messages_streams_deltas(options, script):
    opts = options(script([{"text": "streamed words arrive in pieces"}]), include_partial_messages=True)
    messages = asyncio.run(_collect("go", opts))
    deltas = [
        m.event["delta"]["text"]
        for m in messages
        if isinstance(m, StreamEvent) and m.event.get("type") == "content_block_delta"
    ]
    assert deltas and "".join(deltas) == "streamed words arrive in pieces"


def test_resume_continues_the_same_conversation(options, script, project):
    first = asyncio.run(_collect("remember 7", options(script([{"text": "noted"}]))))
    session_id = first[-1].session_id
    resumed = asyncio.run(_collect("what number?", options(script([{"text": "7"}]), resume=session_id)))
    assert resumed[-1].session_id == session_id and resumed[-1].subtype == "success"
    forked = asyncio.run(
        _collect("again", options(script([{"text": "7 again"}]), resume=session_id, fork_session=True))
    )
    assert forked[-1].session_id != session_id and _texts(forked) == ["7 again"]


def test_agents_from_initialize_run_as_sub_agents(options, script):
    from claude_agent_sdk import AgentDefinition

    turns = [
        {
            "tool_calls": [
                {
                    "name": "Agent",
                    "id": "a1",
                    "input": {"subagent_type": "reviewer", "description": "review", "prompt": "Review the diff."},
                }
            ]
        },
        {"text": "REVIEWED: looks fine"},
        {"text": "done"},
    ]
    opts = options(
        script(turns),
        permission_mode="bypassPermissions",
        agents={"reviewer": AgentDefinition(description="Reviews diffs", prompt="You review diffs.")},
    )
    messages = asyncio.run(_collect(_prompts("hi"), opts))
    result = _tool_results(messages)[0]
    assert not result.is_error and "REVIEWED: looks fine" in str(result.content)
    assert messages[-1].subtype == "success"


def test_unsupported_flags_fail_with_one_clear_line(cli, project):
    for flags, says in (
        (["--add-dir", "/nonexistent-sous-dir"], "--add-dir /nonexistent-sous-dir: no such directory"),
        (["--setting-sources=project,bogus"], "--setting-sources=project,bogus: unknown source 'bogus'"),
    ):
        run = subprocess.run(
            [cli, "--output-format", "stream-json", "--verbose", *flags, "--input-format", "stream-json"],
            check=False,
            input="",
            capture_output=True,
            text=True,
            cwd=project,
            timeout=60,
        )
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.startswith("sous: ") and says in run.stderr and run.stderr.count("\n") == 1


def test_add_dirs_through_the_sdk_are_working_folders(options, script, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.txt").write_text("SHARED-NOTES\n")
    turns = [{"tool_calls": [{"name": "Read", "input": {"file_path": str(shared / "notes.txt")}}]}, {"text": "x"}]
    messages = asyncio.run(_collect("hi", options(script(turns), add_dirs=[str(shared)])))
    init = next(m for m in messages if isinstance(m, SystemMessage) and m.subtype == "init")
    assert init.data["additional_directories"] == [str(shared.resolve())]
    result = _tool_results(messages)[0]
    assert not result.is_error and "SHARED-NOTES" in str(result.content)


def test_post_tool_use_hook_context_reaches_the_model(options, script, project):
    seen = []

    async def note(hook_input, tool_use_id, context):
        seen.append((hook_input["hook_event_name"], hook_input["tool_name"]))
        return {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "LINT-CLEAN-7"}}

    opts = options(
        script(_bash_then_done("echo x > out.txt")),
        permission_mode="bypassPermissions",
        hooks={"PostToolUse": [HookMatcher(matcher="Bash", hooks=[note])]},
    )
    messages = asyncio.run(_collect(_prompts("write it"), opts))
    assert seen == [("PostToolUse", "Bash")] and messages[-1].subtype == "success"
    (path,) = Path(os.environ["SOUS_HOME"]).rglob(f"{messages[-1].session_id}.jsonl")
    assert "LINT-CLEAN-7" in path.read_text()


def test_stop_hook_that_blocks_makes_the_model_go_on(options, script):
    stops = []

    async def not_yet(hook_input, tool_use_id, context):
        stops.append(hook_input["hook_event_name"])
        if len(stops) == 1:
            return {"decision": "block", "reason": "run the tests first"}
        return {}

    opts = options(
        script([{"text": "finished?"}, {"text": "tests pass, finished"}]),
        hooks={"Stop": [HookMatcher(hooks=[not_yet])]},
    )
    messages = asyncio.run(_collect(_prompts("do it"), opts))
    assert stops == ["Stop", "Stop"]
    assert _texts(messages) == ["finished?", "tests pass, finished"] and messages[-1].result == "tests pass, finished"


def test_a_hook_callback_that_never_answers_blocks_the_call_after_its_timeout(options, script, project):
    async def hang(hook_input, tool_use_id, context):
        await asyncio.sleep(3600)
        return {}

    opts = options(
        script(_bash_then_done("echo x > out.txt")),
        permission_mode="bypassPermissions",
        hooks={"PreToolUse": [HookMatcher(matcher="Bash", hooks=[hang], timeout=1)]},
    )
    messages = asyncio.run(asyncio.wait_for(_collect(_prompts("write it"), opts), 60))
    result = _tool_results(messages)[0]
    assert result.is_error and not (project / "out.txt").exists()  # fail closed
    assert messages[-1].subtype == "success"


def test_continue_picks_up_the_last_session(options, script):
    first = asyncio.run(_collect("remember 7", options(script([{"text": "noted"}]))))
    again = asyncio.run(_collect("and now?", options(script([{"text": "still 7"}]), continue_conversation=True)))
    assert again[-1].session_id == first[-1].session_id and _texts(again) == ["still 7"]


def test_max_budget_usd_stops_the_run_that_spends_it_and_refuses_the_next(options, script, project):
    turns = [
        {"text": "cheap", "usage": {"cost_usd": 0.6}},
        {
            "tool_calls": [{"name": "Bash", "input": {"command": "sleep 5; echo x > late.txt"}, "id": "c"}],
            "usage": {"cost_usd": 0.6},
        },
        {"text": "never"},
    ]

    async def main():
        async with ClaudeSDKClient(
            options(script(turns), max_budget_usd=1.0, permission_mode="bypassPermissions")
        ) as client:
            out = []
            for prompt in ("one", "two", "three"):
                await client.query(prompt)
                out.append([m async for m in client.receive_response()][-1])
            return out

    one, two, three = asyncio.run(main())
    assert one.subtype == "success" and two.is_error and two.subtype == "error_max_budget_usd"
    assert "budget of $1 is spent" in two.result  # the run that spent it says so, as Claude Code's does
    assert three.subtype == "error_max_budget_usd" and three.is_error and not (project / "late.txt").exists()


def test_sdk_mcp_server_tools_run_in_the_program(options, script):
    from claude_agent_sdk import create_sdk_mcp_server, tool

    calls = []

    @tool("add", "Add two numbers", {"a": int, "b": int})
    async def add(args):
        calls.append(args)
        return {"content": [{"type": "text", "text": f"sum={args['a'] + args['b']}"}]}

    @tool("explode", "Always fails", {})
    async def explode(args):
        raise RuntimeError("kaboom")

    server = create_sdk_mcp_server(name="calc", version="1.0.0", tools=[add, explode])
    turns = [
        {
            "tool_calls": [
                {"name": "mcp__calc__add", "input": {"a": 2, "b": 40}, "id": "m1"},
                {"name": "mcp__calc__explode", "input": {}, "id": "m2"},
            ]
        },
        {"text": "done"},
    ]
    opts = options(script(turns), mcp_servers={"calc": server}, allowed_tools=["mcp__calc__add", "mcp__calc__explode"])
    messages = asyncio.run(_collect(_prompts("add"), opts))
    init = next(m for m in messages if isinstance(m, SystemMessage) and m.subtype == "init")
    assert "mcp__calc__add" in init.data["tools"]
    ok, failed = _tool_results(messages)
    assert calls == [{"a": 2, "b": 40}] and not ok.is_error and "sum=42" in str(ok.content)
    assert failed.is_error and "kaboom" in str(failed.content)
    assert messages[-1].subtype == "success"


def test_sdk_mcp_tools_still_ask_permission(options, script):
    from claude_agent_sdk import create_sdk_mcp_server, tool

    @tool("wipe", "Deletes things", {})
    async def wipe(args):
        raise AssertionError("must not run without permission")

    server = create_sdk_mcp_server(name="danger", tools=[wipe])
    turns = [{"tool_calls": [{"name": "mcp__danger__wipe", "input": {}, "id": "w"}]}, {"text": "ok"}]
    messages = asyncio.run(_collect(_prompts("wipe"), options(script(turns), mcp_servers={"danger": server})))
    result = _tool_results(messages)[0]
    assert result.is_error and "must not run" not in str(result.content)


def test_can_use_tool_updated_input_is_checked_against_deny_rules_again(options, script, project):
    (project / "keep.txt").write_text("precious\n")

    async def decide(tool, tool_input, context):
        return PermissionResultAllow(updated_input={"command": "rm keep.txt"})

    opts = options(script(_bash_then_done("touch new.txt")), can_use_tool=decide, disallowed_tools=["Bash(rm *)"])
    messages = asyncio.run(_collect(_prompts("go"), opts))
    result = _tool_results(messages)[0]
    assert (project / "keep.txt").exists() and result.is_error and "updated input is denied" in str(result.content)


def test_setting_sources_choose_which_settings_files_apply(options, script, project):
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text('{"permissions": {"deny": ["Bash"]}}')

    def run(name: str, sources: list[str]) -> list:
        opts = options(
            script(_bash_then_done(f"echo x > {name}")), permission_mode="bypassPermissions", setting_sources=sources
        )
        return asyncio.run(_collect(_prompts("write"), opts))

    denied = run("a.txt", ["project"])
    assert _tool_results(denied)[0].is_error and not (project / "a.txt").exists()
    allowed = run("b.txt", ["user"])
    assert not _tool_results(allowed)[0].is_error and (project / "b.txt").read_text() == "x\n"


def test_each_result_lists_only_its_own_runs_permission_denials(options, script, project):
    async def main():
        turns = _bash_then_done("echo one > a.txt") + [{"text": "nothing to run"}]
        async with ClaudeSDKClient(options(script(turns))) as client:
            results = []
            for prompt in ("first", "second"):
                await client.query(prompt)
                results.append([m async for m in client.receive_response()][-1])
            return results

    first, second = asyncio.run(main())
    assert [d["tool_name"] for d in first.permission_denials] == ["Bash"]
    assert second.subtype == "success" and second.permission_denials == []
