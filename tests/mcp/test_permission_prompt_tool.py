"""`--permission-prompt-tool`: an MCP server of our own (written with the SDK) answers the
permission questions of a real `sous -p` run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sous.permissions.prompt_tool import parse_reply

pytest.importorskip("mcp")

GATEKEEPER = '''
import json
try:
    from mcp.server.mcpserver import MCPServer as App
except ImportError:
    from mcp.server.fastmcp import FastMCP as App
app = App("gate")

@app.tool()
def approve(tool_name: str, input: dict, tool_use_id: str = "") -> str:
    """Decides permission requests."""
    if tool_name == "Bash" and input.get("command", "").startswith("touch"):
        return json.dumps({"behavior": "allow", "updatedInput": {"command": "echo rewritten by the gate"}})
    if tool_name == "Bash" and input.get("command") == "garbage":
        return "not json at all"
    return json.dumps({"behavior": "deny", "message": f"the gate refuses {tool_name}"})

app.run()
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "gate.py").write_text(GATEKEEPER)
    servers = {"gate": {"command": sys.executable, "args": [str(tmp_path / "gate.py")]}}
    (root / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    return root


def test_an_mcp_tool_allows_rewrites_and_denies(project, sous_p):
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "touch made.txt"}}]},
        {"tool_calls": [{"name": "Write", "input": {"file_path": "x.txt", "content": "x"}}]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "garbage"}}]},
        {"text": "done"},
    ]
    done, out = sous_p(project, turns, "--permission-prompt-tool", "mcp__gate__approve")
    assert done.returncode == 0, done.stderr
    results = [o["message"]["content"][0] for o in out if o["type"] == "user"]
    assert results[0]["content"].strip() == "rewritten by the gate" and not results[0]["is_error"]
    assert results[1]["is_error"] and "the gate refuses Write" in results[1]["content"]
    assert results[2]["is_error"] and "gave no decision: not json at all" in results[2]["content"]
    assert [d["tool_name"] for d in out[-1]["permission_denials"]] == ["Write", "Bash"]
    assert not (project / "x.txt").exists() and not (project / "made.txt").exists()


def test_a_missing_prompt_tool_denies():
    assert parse_reply('{"behavior": "allow"}').allow
    assert not parse_reply('{"behavior": "maybe"}').allow
    assert not parse_reply('{"behavior": "allow"}', is_error=True).allow


LOGGING_GATE = '''
import json, sys
try:
    from mcp.server.mcpserver import MCPServer as App
except ImportError:
    from mcp.server.fastmcp import FastMCP as App
app = App("gate")

@app.tool()
def approve(tool_name: str, input: dict, tool_use_id: str = "", agent_id: str = "") -> str:
    """Decides permission requests, and notes each one."""
    with open(sys.argv[1], "a") as log:
        log.write(json.dumps({"input": input, "agent_id": agent_id}) + "\\n")
    return json.dumps({"behavior": "deny", "message": "not today"})

app.run()
'''


def test_each_sub_agent_asks_the_prompt_tool_on_its_own_as_it_is_told_who_asks(tmp_path, sous_p):
    """The tool is told which agent asks, and may answer each differently: one agent's answer must
    never reach another agent, so the same question of two agents is put to it twice."""
    project = tmp_path / "labelled"
    project.mkdir()
    (tmp_path / "log_gate.py").write_text(LOGGING_GATE)
    log = tmp_path / "asked.jsonl"
    servers = {"gate": {"command": sys.executable, "args": [str(tmp_path / "log_gate.py"), str(log)]}}
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    agents = [
        {"name": "Agent", "input": {"description": f"job {n}", "prompt": "go", "subagent_type": "general-purpose"}}
        for n in (1, 2, 3)
    ]
    bash = [{"tool_calls": [{"name": "Bash", "input": {"command": c}}]} for c in ("touch a", "touch a", "touch b")]
    turns = [{"tool_calls": agents}, *bash, *[{"text": "refused"}] * 3, {"text": "done"}]
    done, out = sous_p(project, turns, "--permission-prompt-tool", "mcp__gate__approve")
    assert done.returncode == 0, done.stderr
    asked = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(a["input"]["command"] for a in asked) == ["touch a", "touch a", "touch b"]
    assert all(len(a["agent_id"]) == 12 for a in asked) and len({a["agent_id"] for a in asked}) == 3
    assert sorted(d["tool_input"]["command"] for d in out[-1]["permission_denials"]) == [
        "touch a",
        "touch a",
        "touch b",
    ]


async def test_agent_id_goes_only_to_a_prompt_tool_whose_schema_names_it():
    """A prompt tool written for Claude Code's three fields, with a schema allowing no others, must
    not be sent a fourth: it would refuse the call, and every sub-agent's question with it."""
    from sous.core import ToolCall, ToolContext, ToolResult
    from sous.permissions.decide import Decision
    from sous.permissions.prompt_tool import prompt_tool_asker

    class Gate:
        def __init__(self, properties):
            self.name, self.sent = "mcp__gate__approve", []
            self.input_schema = {"type": "object", "properties": properties, "additionalProperties": False}

        async def run(self, arguments, ctx):
            self.sent.append(arguments)
            return ToolResult(content='{"behavior": "allow", "updatedInput": {"command": "ls"}}')

    three = {"tool_name": {}, "input": {}, "tool_use_id": {}}
    for properties, expected in ((three, {"tool_name", "input", "tool_use_id"}), ({**three, "agent_id": {}}, None)):
        gate = Gate(properties)
        servers = type("Servers", (), {"tools": [gate]})()
        ask = prompt_tool_asker(gate.name, servers, ToolContext(cwd=".", project_dir="."))
        decision = Decision(behavior="ask", source="mode:default", agent_id="a1b2c3")
        answer = await ask(ToolCall(id="t1", name="Bash", arguments={"command": "ls"}), decision)
        assert answer.allow
        assert set(gate.sent[0]) == (expected or {"tool_name", "input", "tool_use_id", "agent_id"})
