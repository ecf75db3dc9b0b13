"""The unmodified PyPI `claude-agent-sdk` drives sous and Claude Code's `claude` through the same checks.

Run: `python bench/sdk_side_by_side.py [--claude PATH] [--only NAME ...] [--show-requests]`.

Both CLIs talk to one local scripted endpoint (`sous.testing.server.ScriptedServer`, the Anthropic
wire protocol) with a temporary HOME, `IS_SANDBOX=1` and `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`.
Each feature runs on a fresh project folder and a fresh script; what it checks is what a program
can see: the SDK's messages, the files the tools wrote and what each CLI sent to the model.
Claude Code's side requests (titles, command-prefix checks: requests that offer the model no
tools) get a short answer and do not use up the script.

Claude Code: `mkdir -p /tmp/cc-sdk && cd /tmp/cc-sdk && npm install @anthropic-ai/claude-code`
(the default `--claude` path). Without it the table has a sous column only.

Prints a table feature x {sous, claude} with the reason of each FAIL; exits 1 when sous fails a
feature that Claude Code passes (or, without Claude Code, any feature).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from claude_agent_sdk import (  # noqa: E402  (after the path setup, like the other benches)
    AgentDefinition,
    AssistantMessage,
    ClaudeAgentOptions,
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
    create_sdk_mcp_server,
    tool,
)

from sous.testing.server import ScriptedServer  # noqa: E402

MODEL = "claude-sonnet-4-5"
OTHER_MODEL = "claude-haiku-4-5"
CLAUDE = "/tmp/cc-sdk/node_modules/@anthropic-ai/claude-code-linux-x64/claude"
FEATURE_TIMEOUT = 120.0
# What a CLI says when it tried to reach the network this machine may not have (not the scripted endpoint).
OFFLINE_SIGNS = ("ENOTFOUND", "EAI_AGAIN", "getaddrinfo", "Unable to connect", "fetch failed", "ECONNREFUSED")


class Failed(Exception):
    """A check did not hold; the message is the table's reason."""


def expect(condition: object, reason: str) -> None:
    if not condition:
        raise Failed(reason)


class Endpoint(ScriptedServer):
    """The scripted endpoint; requests that offer no tools are side requests and get a stock answer."""

    def __init__(self, turns: list[dict[str, Any]]):
        super().__init__(turns)
        self.main: list[dict[str, Any]] = []
        self.side: list[dict[str, Any]] = []

    def next_turn(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        if "count_tokens" in path or not body.get("tools"):
            with self._lock:
                self.side.append(body)
            return {"text": "ok"} if body.get("stream") else {"answer": _whole_message(body)}
        with self._lock:
            self.main.append(body)
        return super().next_turn(path, headers, body)

    def sent(self, index: int = -1) -> str:
        """What the model was sent on one main request, as text (the whole body, to search in)."""
        return json.dumps(self.main[index]) if self.main else ""


def _whole_message(body: dict[str, Any]) -> dict[str, Any]:
    """A non-streaming Messages answer (Claude Code checks a model it switches to with one)."""
    message = {
        "id": "msg_side",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", MODEL),
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    return {"status": 200, "content_type": "application/json", "body": json.dumps(message)}


@dataclass
class Run:
    """One feature's world: the CLI under test, a temporary HOME and project, and the endpoint."""

    cli: str
    home: Path
    project: Path
    server: Endpoint
    messages: list[Any] = field(default_factory=list)

    def options(self, **extra: Any) -> ClaudeAgentOptions:
        env = {
            "HOME": str(self.home),
            "SOUS_HOME": str(self.home / ".sous"),
            "IS_SANDBOX": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "ANTHROPIC_BASE_URL": self.server.url,
            "ANTHROPIC_API_KEY": "x",
        }
        extra.setdefault("model", MODEL)
        return ClaudeAgentOptions(cli_path=self.cli, cwd=str(self.project), env=env, **extra)

    async def ask(self, prompt: str, **extra: Any) -> list[Any]:
        """One prompt through ClaudeSDKClient (streaming mode, which callbacks need); its messages."""
        async with ClaudeSDKClient(self.options(**extra)) as client:
            await client.query(prompt)
            out = [m async for m in client.receive_response()]
        self.messages += out
        return out


def texts(messages: list[Any]) -> list[str]:
    return [b.text for m in messages if isinstance(m, AssistantMessage) for b in m.content if isinstance(b, TextBlock)]


def tool_results(messages: list[Any]) -> list[ToolResultBlock]:
    return [
        b
        for m in messages
        if isinstance(m, UserMessage) and isinstance(m.content, list)
        for b in m.content
        if isinstance(b, ToolResultBlock)
    ]


def result_of(messages: list[Any]) -> ResultMessage:
    expect(messages and isinstance(messages[-1], ResultMessage), "no result message at the end")
    return messages[-1]


def bash(command: str, then: str = "done") -> list[dict[str, Any]]:
    return [{"tool_calls": [{"name": "Bash", "input": {"command": command}, "id": "call_1"}]}, {"text": then}]


def first_result(messages: list[Any]) -> ToolResultBlock:
    results = tool_results(messages)
    expect(results, "no tool result came back")
    return results[0]


@dataclass(frozen=True)
class Feature:
    name: str
    turns: list[dict[str, Any]]
    check: Callable[[Run], Awaitable[None]]


FEATURES: list[Feature] = []


def feature(name: str, turns: list[dict[str, Any]]):
    def register(check: Callable[[Run], Awaitable[None]]) -> Callable[[Run], Awaitable[None]]:
        FEATURES.append(Feature(name, turns, check))
        return check

    return register


@feature("query", [{"text": "hello from the model"}])
async def _query(run: Run) -> None:
    from claude_agent_sdk import query

    messages = [m async for m in query(prompt="say hello", options=run.options())]
    expect(texts(messages) == ["hello from the model"], f"texts were {texts(messages)}")
    result = result_of(messages)
    expect(result.subtype == "success" and result.result == "hello from the model", f"result {result.subtype}")


@feature("ClaudeSDKClient multi-turn", [{"text": "first"}, {"text": "second"}])
async def _multi_turn(run: Run) -> None:
    async with ClaudeSDKClient(run.options()) as client:
        seen = []
        for prompt in ("remember PLUM", "what fruit?"):
            await client.query(prompt)
            seen.append([m async for m in client.receive_response()])
    expect(texts(seen[0]) == ["first"] and texts(seen[1]) == ["second"], "wrong answers")
    expect(result_of(seen[0]).session_id == result_of(seen[1]).session_id, "two sessions")
    expect("remember PLUM" in run.server.sent(), "the second request lacks the first prompt")
    inits = [sum(isinstance(m, SystemMessage) and m.subtype == "init" for m in reply) for reply in seen]
    expect(inits == [1, 1], f"system/init messages per reply: {inits}")


@feature("can_use_tool allow", bash("echo original > out.txt"))
async def _allow(run: Run) -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    async def decide(name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        asked.append((name, dict(tool_input)))
        return PermissionResultAllow()

    await run.ask("write it", can_use_tool=decide)
    expect(asked and asked[0][0] == "Bash", f"the callback saw {asked}")
    expect((run.project / "out.txt").exists(), "the command did not run")


@feature("can_use_tool deny", bash("echo x > out.txt"))
async def _deny(run: Run) -> None:
    async def decide(name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultDeny:
        return PermissionResultDeny(message="use the STAGING copy")

    messages = await run.ask("write it", can_use_tool=decide)
    expect(not (run.project / "out.txt").exists(), "the command ran")
    expect(first_result(messages).is_error, "the tool result is not an error")
    expect("use the STAGING copy" in run.server.sent(), "the deny message did not reach the model")


@feature("can_use_tool updatedInput", bash("echo original > out.txt"))
async def _updated(run: Run) -> None:
    async def decide(name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        return PermissionResultAllow(updated_input={"command": "echo changed > out.txt"})

    await run.ask("write it", can_use_tool=decide)
    out = run.project / "out.txt"
    expect(out.exists() and out.read_text() == "changed\n", "the updated command did not run")


@feature("hook PreToolUse deny", bash("echo x > out.txt"))
async def _pre_deny(run: Run) -> None:
    calls: list[str] = []

    async def guard(hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        calls.append(hook_input["tool_name"])
        out = {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "GUARD-SAYS-NO"}
        return {"hookSpecificOutput": out}

    hooks: Any = {"PreToolUse": [HookMatcher(matcher="Bash", hooks=[guard])]}
    messages = await run.ask("write it", permission_mode="bypassPermissions", hooks=hooks)
    expect(calls == ["Bash"], f"the hook was called for {calls}")
    expect(not (run.project / "out.txt").exists(), "the command ran")
    expect(
        first_result(messages).is_error and "GUARD-SAYS-NO" in run.server.sent(), "the reason did not reach the model"
    )
    denials = [d.get("tool_name") for d in result_of(messages).permission_denials or []]
    expect(denials == ["Bash"], f"the result's permission_denials named {denials}")


@feature("hook PostToolUse additionalContext", bash("echo x > out.txt"))
async def _post_context(run: Run) -> None:
    async def note(hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        return {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "LINT-CLEAN-7"}}

    hooks: Any = {"PostToolUse": [HookMatcher(matcher="Bash", hooks=[note])]}
    await run.ask("write it", permission_mode="bypassPermissions", hooks=hooks)
    expect("LINT-CLEAN-7" in run.server.sent(), "the context did not reach the model")


@feature("hook UserPromptSubmit", [{"text": "ok"}])
async def _prompt_hook(run: Run) -> None:
    seen: list[str] = []

    async def add(hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        seen.append(hook_input.get("prompt", ""))
        return {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "TICKET-42"}}

    await run.ask("fix the bug", hooks={"UserPromptSubmit": [HookMatcher(hooks=[add])]})
    expect(seen == ["fix the bug"], f"the hook saw {seen}")
    expect("TICKET-42" in run.server.sent(), "the context did not reach the model")


# Not `sleep 30`: Claude Code refuses long sleeps in the foreground.
@feature("interrupt", bash("python3 -c 'import time; time.sleep(30)'", then="LATE"))
async def _interrupt(run: Run) -> None:
    started = time.monotonic()
    async with ClaudeSDKClient(run.options(permission_mode="bypassPermissions")) as client:
        await client.query("wait")
        seen: list[Any] = []
        async for message in client.receive_messages():
            seen.append(message)
            if isinstance(message, AssistantMessage):
                await asyncio.sleep(1.0)
                await client.interrupt()
            if isinstance(message, ResultMessage):
                break
    expect(time.monotonic() - started < 25, "the turn ran to the end of the sleep")
    expect("LATE" not in texts(seen), "the model was called again after the interrupt")


@feature(
    "set_permission_mode",
    [
        {"tool_calls": [{"name": "Write", "input": {"file_path": "a.txt", "content": "one\n"}, "id": "w1"}]},
        {"text": "refused"},
        {"tool_calls": [{"name": "Write", "input": {"file_path": "b.txt", "content": "two\n"}, "id": "w2"}]},
        {"text": "written"},
    ],
)
async def _set_mode(run: Run) -> None:
    async with ClaudeSDKClient(run.options()) as client:
        await client.query("first")
        first = [m async for m in client.receive_response()]
        await client.set_permission_mode("acceptEdits")
        await client.query("second")
        second = [m async for m in client.receive_response()]
    expect(not (run.project / "a.txt").exists(), "the first write ran in the default mode (nobody to ask)")
    expect((run.project / "b.txt").exists(), "the second write did not run in acceptEdits")
    expect(len(result_of(first).permission_denials or []) == 1, "the first result does not list its denial")
    expect(not result_of(second).permission_denials, "the second result lists the first run's denial")


@feature("set_model", [{"text": "from the first model"}, {"text": "from the second model"}])
async def _set_model(run: Run) -> None:
    async with ClaudeSDKClient(run.options()) as client:
        for prompt, model in (("a", None), ("b", OTHER_MODEL)):
            if model:
                await client.set_model(model)
            await client.query(prompt)
            [m async for m in client.receive_response()]
    models = [body.get("model") for body in run.server.main]
    expect(models == [MODEL, OTHER_MODEL], f"the model was asked as {models}")


@feature("resume", [{"text": "noted"}, {"text": "7"}])
async def _resume(run: Run) -> None:
    first = await run.ask("remember SEVEN")
    again = await run.ask("what number?", resume=result_of(first).session_id)
    expect(result_of(again).subtype == "success", "the resumed run failed")
    expect("remember SEVEN" in run.server.sent(), "the resumed request lacks the earlier prompt")


@feature("continue", [{"text": "noted"}, {"text": "7"}])
async def _continue(run: Run) -> None:
    await run.ask("remember SEVEN")
    again = await run.ask("what number?", continue_conversation=True)
    expect(result_of(again).subtype == "success", "the continued run failed")
    expect("remember SEVEN" in run.server.sent(), "the continued request lacks the earlier prompt")


@feature("include_partial_messages", [{"text": "streamed words arrive in pieces"}])
async def _partial(run: Run) -> None:
    messages = await run.ask("go", include_partial_messages=True)
    deltas = [
        m.event["delta"].get("text", "")
        for m in messages
        if isinstance(m, StreamEvent) and m.event.get("type") == "content_block_delta"
    ]
    expect(len(deltas) > 1, f"{len(deltas)} text deltas")
    expect("".join(deltas) == "streamed words arrive in pieces", "the deltas do not add up to the text")


AGENT_CALL = {"subagent_type": "reviewer", "description": "review", "prompt": "Review the diff."}


@feature(
    "agents",
    [
        {"tool_calls": [{"name": "Agent", "id": "a1", "input": AGENT_CALL}]},
        {"text": "REVIEWED: looks fine"},
        {"text": "done"},
        {"text": "done"},  # Claude Code runs the agent in the background and is told when it finishes
    ],
)
async def _agents(run: Run) -> None:
    agents = {"reviewer": AgentDefinition(description="Reviews diffs", prompt="You are REVIEWER-PROMPT.")}
    messages = await run.ask("review", permission_mode="bypassPermissions", agents=agents)
    answered = any("REVIEWED: looks fine" in json.dumps(body) for body in run.server.main[2:])
    expect(answered and result_of(messages).subtype == "success", "the sub-agent's answer did not reach the model")
    prompted = any("REVIEWER-PROMPT" in json.dumps(body.get("system")) for body in run.server.main)
    expect(prompted, "no request carried the agent's prompt")


@feature("setting_sources", bash("echo a > a.txt") + bash("echo b > b.txt"))
async def _sources(run: Run) -> None:
    settings = run.project / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"permissions": {"deny": ["Bash"]}}))
    await run.ask("a", permission_mode="bypassPermissions", setting_sources=["project"])
    await run.ask("b", permission_mode="bypassPermissions", setting_sources=["user"])
    expect(not (run.project / "a.txt").exists(), "the project's deny rule was not applied with sources=project")
    expect((run.project / "b.txt").exists(), "the project's settings were applied with sources=user")


@feature("add_dirs", [{"text": "placeholder"}])
async def _add_dirs(run: Run) -> None:
    shared = run.home / "shared"
    shared.mkdir()
    (shared / "notes.txt").write_text("SHARED-NOTES\n")
    run.server.turns[:] = [
        {"tool_calls": [{"name": "Read", "input": {"file_path": str(shared / "notes.txt")}, "id": "r1"}]},
        {"text": "read it"},
    ]
    messages = await run.ask("read", add_dirs=[str(shared)])
    result = first_result(messages)
    expect(not result.is_error and "SHARED-NOTES" in str(result.content), "the extra folder was not readable")


@feature(
    "SDK MCP server",
    [{"tool_calls": [{"name": "mcp__calc__add", "input": {"a": 2, "b": 40}, "id": "m1"}]}, {"text": "done"}],
)
async def _sdk_mcp(run: Run) -> None:
    calls: list[dict[str, Any]] = []

    @tool("add", "Add two numbers", {"a": int, "b": int})
    async def add(args: dict[str, Any]) -> dict[str, Any]:
        calls.append(args)
        return {"content": [{"type": "text", "text": f"sum={args['a'] + args['b']}"}]}

    server = create_sdk_mcp_server(name="calc", version="1.0.0", tools=[add])
    messages = await run.ask("add", mcp_servers={"calc": server}, allowed_tools=["mcp__calc__add"])
    expect(calls == [{"a": 2, "b": 40}], f"the program's tool was called with {calls}")
    expect("sum=42" in str(first_result(messages).content), "its answer did not come back")


@feature(
    "max_budget_usd",
    [
        {"tool_calls": [{"name": "Bash", "input": {"command": "true"}, "id": "b1"}], "usage": {"input_tokens": 10**6}},
        {"text": "OVER-BUDGET"},
    ],
)
async def _budget(run: Run) -> None:
    messages = await run.ask("spend", max_budget_usd=0.5, permission_mode="bypassPermissions")
    result = result_of(messages)
    expect(result.subtype == "error_max_budget_usd", f"the result was {result.subtype}")
    expect("OVER-BUDGET" not in texts(messages), "the model was called again over the budget")


def cli_for_sous(folder: Path) -> str:
    script = folder / "sous-cli"
    src = Path(__file__).resolve().parent.parent / "src"
    script.write_text(f'#!/bin/sh\nPYTHONPATH="{src}" exec "{sys.executable}" -m sous "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


async def run_feature(cli: str, item: Feature, show: bool) -> str | None:
    """None when the feature passed, else the reason it failed."""
    root = Path(tempfile.mkdtemp(prefix="sdk-bench-"))
    home, project = root / "home", root / "project"
    home.mkdir()
    project.mkdir()
    # Claude Code reads project settings only in a folder the user trusted.
    trust = {"hasCompletedOnboarding": True, "projects": {str(project): {"hasTrustDialogAccepted": True}}}
    (home / ".claude.json").write_text(json.dumps(trust))
    try:
        with Endpoint(json.loads(json.dumps(item.turns))) as server:
            run = Run(cli=cli, home=home, project=project, server=server)
            try:
                await asyncio.wait_for(item.check(run), FEATURE_TIMEOUT)
            except Failed as e:
                return str(e)
            except TimeoutError:
                return f"no answer within {FEATURE_TIMEOUT:.0f} s"
            except Exception as e:  # the table reports whatever the SDK raised
                said = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:160]
                if any(sign in str(e) for sign in OFFLINE_SIGNS):
                    return f"this environment: no network for what the CLI fetched ({said})"
                return said
            finally:
                if show:
                    for body in server.main:
                        print(f"  main {body.get('model')}: {json.dumps(body.get('messages'))[-300:]}", file=sys.stderr)
                    print(f"  {len(server.side)} side requests", file=sys.stderr)
        return None
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claude", default=CLAUDE, help="Claude Code's executable (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="run only these features (names as in the table)")
    parser.add_argument("--show-requests", action="store_true", help="print what each CLI sent to the model")
    args = parser.parse_args(argv)
    names = [f.name for f in FEATURES]
    if unknown := [name for name in args.only or [] if name not in names]:
        parser.error(f"no such feature: {', '.join(unknown)} (the features: {', '.join(names)})")
    chosen = [f for f in FEATURES if not args.only or f.name in args.only]
    with tempfile.TemporaryDirectory() as folder:
        clis = {"sous": cli_for_sous(Path(folder))}
        if os.access(args.claude, os.X_OK):
            clis["claude"] = args.claude
        else:
            print(f"Claude Code is not installed at {args.claude}: the table has a sous column only.")
        outcome: dict[tuple[str, str], str | None] = {}
        for item in chosen:
            for name, cli in clis.items():
                print(f"{item.name} / {name} ...", file=sys.stderr, flush=True)
                outcome[(item.name, name)] = asyncio.run(run_feature(cli, item, args.show_requests))
    width = max(len(f.name) for f in chosen) + 2
    print(f"{'feature':<{width}}" + "".join(f"{n:<8}" for n in clis) + "reasons")
    for item in chosen:
        cells = [("PASS" if outcome[(item.name, n)] is None else "FAIL") for n in clis]
        why = "; ".join(f"{n}: {outcome[(item.name, n)]}" for n in clis if outcome[(item.name, n)])
        print(f"{item.name:<{width}}" + "".join(f"{c:<8}" for c in cells) + why)
    for name in clis:
        passed = sum(outcome[(f.name, name)] is None for f in chosen)
        print(f"{name}: {passed}/{len(chosen)} PASS")
    behind = [
        f.name
        for f in chosen
        if outcome[(f.name, "sous")] is not None and ("claude" not in clis or outcome[(f.name, "claude")] is None)
    ]
    if behind:
        print("sous fails where Claude Code passes: " + ", ".join(behind))
    return 1 if behind else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
