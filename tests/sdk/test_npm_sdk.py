"""The npm `@anthropic-ai/claude-agent-sdk` drives sous (`pathToClaudeCodeExecutable` = a script that
runs this tree's sous) against the scripted endpoint: a smaller set than the Python SDK's tests.

The package is installed once into `$SOUS_AGENT_SDK_NPM_DIR` (default: a `sous-agent-sdk-npm` folder
in the temp dir, which `.ci/run` fills); without npm or the network the tests are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from sous.testing.server import ScriptedServer

PACKAGE = "@anthropic-ai/claude-agent-sdk"
PROBE = Path(__file__).with_name("npm_sdk_probe.mjs")


@pytest.fixture(scope="session")
def sdk_module() -> str:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip(f"npm is not installed: cannot fetch {PACKAGE}")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 18:
        pytest.skip(f"{PACKAGE} needs Node.js 18 or newer; this is {version}")
    folder = Path(os.environ.get("SOUS_AGENT_SDK_NPM_DIR") or Path(tempfile.gettempdir()) / "sous-agent-sdk-npm")
    module = folder / "node_modules" / "@anthropic-ai" / "claude-agent-sdk" / "sdk.mjs"
    if not module.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # --omit=optional: the SDK's own bundled Claude Code binary is not needed to drive sous.
        done = subprocess.run(
            ["npm", "install", "-q", "--no-audit", "--no-fund", "--omit=optional", "--prefix", str(folder), PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not module.exists():
            pytest.skip(f"npm could not install {PACKAGE}: {done.stderr.strip().splitlines()[-1:]}")
    return str(module)


def probe(scenario: str, turns: list[dict], *, sdk_module: str, cli: str, project: Path) -> tuple[list[dict], dict]:
    """Run one scenario of the Node program; its SDK messages and what its callbacks saw."""
    with ScriptedServer(turns) as server:
        env = {
            **os.environ,
            "SDK_MODULE": sdk_module,
            "ZOD_MODULE": str(Path(sdk_module).parents[2] / "zod" / "index.js"),  # the SDK's own dependency
            "SOUS_CLI": cli,
            "PROJECT": str(project),
            "SOUS_MODEL": "claude-sonnet-4-5",
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "x",
        }
        run = subprocess.run(
            ["node", str(PROBE), scenario], capture_output=True, text=True, timeout=120, env=env, cwd=project
        )
        left = server.turns
        requests = server.requests
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines and "probe" in lines[-1], run.stdout[-2000:]
    assert left == [] or scenario == "interrupt", f"turns left unused: {left}"
    return lines[:-1], {**lines[-1]["probe"], "requests": requests}


def tool_results(messages: list[dict]) -> list[dict]:
    return [
        block
        for m in messages
        if m.get("type") == "user" and isinstance(m["message"].get("content"), list)
        for block in m["message"]["content"]
        if block.get("type") == "tool_result"
    ]


def texts(messages: list[dict]) -> list[str]:
    return [
        b["text"]
        for m in messages
        if m.get("type") == "assistant"
        for b in m["message"]["content"]
        if b["type"] == "text"
    ]


def bash_then_done(command: str) -> list[dict]:
    return [{"tool_calls": [{"name": "Bash", "input": {"command": command}, "id": "call_1"}]}, {"text": "done"}]


def test_query_with_a_tool_call(sdk_module, cli, project):
    messages, _ = probe("tool", bash_then_done("echo hi > out.txt"), sdk_module=sdk_module, cli=cli, project=project)
    assert messages[0]["type"] == "system" and messages[0]["subtype"] == "init"
    assert (project / "out.txt").read_text() == "hi\n"
    assert not tool_results(messages)[0].get("is_error")
    assert (
        messages[-1]["type"] == "result" and messages[-1]["subtype"] == "success" and messages[-1]["result"] == "done"
    )


def test_can_use_tool_deny_reaches_the_model_and_nothing_runs(sdk_module, cli, project):
    messages, seen = probe("deny", bash_then_done("echo x > out.txt"), sdk_module=sdk_module, cli=cli, project=project)
    assert seen["asked"] == [["Bash", {"command": "echo x > out.txt"}]]
    result = tool_results(messages)[0]
    assert result["is_error"] and "use the STAGING copy" in json.dumps(result["content"])
    assert not (project / "out.txt").exists()
    assert [d["tool_name"] for d in messages[-1]["permission_denials"]] == ["Bash"]


def test_a_hook_callback_denies_the_call(sdk_module, cli, project):
    messages, seen = probe("hook", bash_then_done("echo x > out.txt"), sdk_module=sdk_module, cli=cli, project=project)
    assert seen["hooked"] == [["PreToolUse", "Bash"]]
    result = tool_results(messages)[0]
    assert result["is_error"] and "GUARD-SAYS-NO" in json.dumps(result["content"])
    assert not (project / "out.txt").exists()


def test_two_prompts_share_one_session(sdk_module, cli, project):
    turns = [{"text": "noted"}, {"text": "PLUM"}]
    messages, _ = probe("multi", turns, sdk_module=sdk_module, cli=cli, project=project)
    results = [m for m in messages if m["type"] == "result"]
    assert [r["result"] for r in results] == ["noted", "PLUM"]
    assert results[0]["session_id"] == results[1]["session_id"]
    assert texts(messages) == ["noted", "PLUM"]


def test_interrupt_stops_the_running_command(sdk_module, cli, project):
    turns = bash_then_done("sleep 30; echo late > late.txt")
    messages, seen = probe("interrupt", turns, sdk_module=sdk_module, cli=cli, project=project)
    assert seen["seconds"] < 25 and not (project / "late.txt").exists()
    assert messages[-1]["type"] == "result" and messages[-1]["is_error"]
    assert "done" not in texts(messages)


def test_an_sdk_mcp_server_sent_in_initialize_runs_its_tool_in_the_program(sdk_module, cli, project):
    turns = [{"tool_calls": [{"name": "mcp__calc__add", "input": {"a": 2, "b": 40}, "id": "m1"}]}, {"text": "done"}]
    messages, seen = probe("mcp", turns, sdk_module=sdk_module, cli=cli, project=project)
    assert "mcp__calc__add" in messages[0]["tools"]
    assert seen["asked"] == [["add", {"a": 2, "b": 40}]]
    result = tool_results(messages)[0]
    assert not result.get("is_error") and "sum=42" in json.dumps(result["content"])
    assert messages[-1]["subtype"] == "success"


def test_the_system_prompt_given_in_initialize_replaces_or_extends_sous_own(sdk_module, cli, project):
    _, seen = probe("prompt", [{"text": "arr"}], sdk_module=sdk_module, cli=cli, project=project)
    assert json.dumps(seen["requests"][0]["body"]["system"]).count("PIRATE-PROMPT") == 1
    assert "sous" not in json.dumps(seen["requests"][0]["body"]["system"]).lower()  # replaced, not added to
    _, seen = probe("preset", [{"text": "ok"}], sdk_module=sdk_module, cli=cli, project=project)
    system = json.dumps(seen["requests"][0]["body"]["system"])
    assert "APPENDED-RULE" in system and len(system) > 1000  # sous's own prompt, with the addition
