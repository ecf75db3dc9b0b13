"""Sub-agents through the real `sous -p`: delegation, isolation, restricted tools, depth, concurrency,
custom definitions, labelled permissions and hooks. One scripted model answers parent and children
in the order their requests arrive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sous
from sous.agents import discover
from sous.store import transcript

SRC = str(Path(sous.__file__).resolve().parents[1])


def agent_call(prompt: str, kind: str = "general-purpose", description: str = "a task", call_id: str = "") -> dict:
    call = {"name": "Agent", "input": {"description": description, "prompt": prompt, "subagent_type": kind}}
    return {**call, "id": call_id} if call_id else call


def run(project: Path, turns: list, *flags: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "go",
            "--model",
            f"scripted:{script}",
            "--output-format",
            "stream-json",
            "--verbose",
            *flags,
        ],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent)},
    )
    return done, [json.loads(line) for line in done.stdout.splitlines()]


def results(out: list[dict]) -> list[dict]:
    return [o for o in out if o["type"] == "user"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def test_delegation_returns_only_the_report(project):
    turns = [
        {"tool_calls": [agent_call("Create notes.txt saying hi, then report.")]},
        {"tool_calls": [{"name": "Write", "input": {"file_path": "notes.txt", "content": "hi\n"}}]},  # child
        {"text": "Created notes.txt."},  # child
        {"text": "The sub-agent created notes.txt."},
    ]
    done, out = run(project, turns, "--dangerously-skip-permissions")
    assert done.returncode == 0, done.stderr
    assert (project / "notes.txt").read_text() == "hi\n"
    (result,) = results(out)
    report = result["message"]["content"][0]["content"]
    assert report.startswith("Created notes.txt.\n\nagentId: ") and "SendMessage" in report
    data = result["tool_use_result"]
    assert data["status"] == "completed" and data["totalToolUseCount"] == 1 and data["agentType"] == "general-purpose"
    parent = transcript.load(transcript.find(out[0]["session_id"]))
    assert not any(getattr(m, "tool_calls", None) and m.tool_calls[0].name == "Write" for m in parent.messages)
    child_files = list(parent.path.with_suffix("").joinpath("subagents").glob("agent-*.jsonl"))
    assert len(child_files) == 1
    child = transcript.load(child_files[0])
    assert child.messages[0].text == "Create notes.txt saying hi, then report." and len(child.messages) == 4


def test_explore_is_read_only_even_in_bypass_mode(project):
    turns = [
        {"tool_calls": [agent_call("look around", "Explore")]},
        {"tool_calls": [{"name": "Write", "input": {"file_path": "x.txt", "content": "x"}}]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "touch y.txt"}}]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "ls"}}]},
        {"text": "Nothing to see."},
        {"text": "done"},
    ]
    done, out = run(project, turns, "--dangerously-skip-permissions")
    assert done.returncode == 0, done.stderr
    assert not (project / "x.txt").exists() and not (project / "y.txt").exists()
    child = transcript.load(next(transcript.find(out[0]["session_id"]).with_suffix("").glob("subagents/*.jsonl")))
    tool_results = [m for m in child.messages if type(m).__name__ == "ToolResultMessage"]
    assert "No such tool available: Write" in tool_results[0].text
    assert "plan mode allows read-only tools only" in tool_results[1].text
    assert not tool_results[2].is_error


def test_custom_agents_from_both_folders_with_restricted_tools(project):
    (project / ".claude" / "agents").mkdir(parents=True)
    (project / ".sous" / "agents" / "sub").mkdir(parents=True)
    (project / ".claude" / "agents" / "reviewer.md").write_text(
        "---\nname: reviewer\ndescription: Reviews code\ntools: Read, Grep\nmodel: inherit\n---\nYou review code."
    )
    (project / ".sous" / "agents" / "sub" / "writer.md").write_text(
        "---\nname: writer\ndescription: Writes docs\ndisallowedTools: Bash\nmaxTurns: 3\n---\nYou write docs."
    )
    (project / ".claude" / "agents" / "broken.md").write_text("---\nname: broken\n---\nno description")
    types = discover(str(project), {"HOME": str(project.parent)})
    assert {"reviewer", "writer", "general-purpose", "Explore", "Plan"} <= set(types) and "broken" not in types
    assert types["reviewer"].tools == ("Read", "Grep") and types["writer"].max_turns == 3
    turns = [
        {"tool_calls": [agent_call("review", "reviewer")]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "ls"}}]},
        {"text": "LGTM"},
        {"text": "ok"},
    ]
    done, out = run(project, turns, "--dangerously-skip-permissions")
    child = transcript.load(next(transcript.find(out[0]["session_id"]).with_suffix("").glob("subagents/*.jsonl")))
    assert "No such tool available: Bash" in child.messages[2].text
    assert "reviewer: Reviews code" in out[0]["tools"] or "Agent" in out[0]["tools"]


def test_nesting_stops_at_the_depth_limit(project):
    turns = [
        {"tool_calls": [agent_call("level one")]},
        {"tool_calls": [agent_call("level two")]},  # child spawns a grandchild
        {"tool_calls": [agent_call("level three")]},  # grandchild tries again: no Agent tool there
        {"text": "grandchild report"},
        {"text": "child report"},
        {"text": "top report"},
    ]
    done, out = run(project, turns, "--dangerously-skip-permissions")
    assert out[-1]["result"] == "top report" and results(out)[0]["message"]["content"][0]["content"].startswith(
        "child report\n\nagentId: "
    )


def test_agent_calls_in_one_turn_run_concurrently(project):
    calls = [agent_call(f"task {i}", call_id=f"a{i}") for i in range(3)]
    turns = [{"tool_calls": calls}] + [{"text": "finished", "delay": 0.6}] * 3 + [{"text": "all three done"}]
    started = time.monotonic()
    done, out = run(project, turns, "--dangerously-skip-permissions")
    elapsed = time.monotonic() - started
    assert out[-1]["result"] == "all three done" and len(results(out)) == 3
    assert out[-1]["duration_ms"] < 1500  # three 0.6 s agents one after another would take 1.8 s
    assert elapsed < 10


def test_permission_requests_are_labelled_and_deny_rules_remove_agent_types(project):
    turns = [
        {"tool_calls": [agent_call("run the script", description="run script")]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "python3 evil.py"}}]},
        {"text": "could not"},
        {"text": "done"},
    ]
    done, out = run(project, turns, "--disallowedTools", "Agent(Explore)")
    assert [d["tool_input"].get("command") for d in out[-1]["permission_denials"]] == ["python3 evil.py"]
    records = [json.loads(x) for x in transcript.find(out[0]["session_id"]).read_text().splitlines()]
    launch, child = [r for r in records if r.get("type") == "permission"]
    assert launch["tool"] == "Agent" and launch["decision"] == "allow" and launch["agent"] is None
    assert child["tool"] == "Bash" and child["decision"] == "deny" and child["agent"] == "general-purpose: run script"
    assert "Explore" not in json.dumps([o for o in out if o.get("subtype") == "init"])  # not offered
    bad, out = run(
        project, [{"tool_calls": [agent_call("x", "Explore")]}, {"text": "ok"}], "--disallowedTools", "Agent(Explore)"
    )
    assert "denied by the rule Agent(Explore)" in results(out)[0]["message"]["content"][0]["content"]


def test_hooks_fire_inside_and_around_sub_agents(project):
    log = project.parent / "hooks.log"
    hook = {"type": "command", "command": f"cat >> {log}; echo >> {log}"}
    settings = {"hooks": {event: [{"hooks": [hook]}] for event in ("SubagentStart", "SubagentStop", "PreToolUse")}}
    turns = [
        {"tool_calls": [agent_call("list files", "Explore")]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "ls"}}]},
        {"text": "two files"},
        {"text": "ok"},
    ]
    run(project, turns, "--settings", json.dumps(settings), "--dangerously-skip-permissions")
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    names = [(e["hook_event_name"], e.get("tool_name"), e.get("agent_type")) for e in events]
    assert names == [
        ("PreToolUse", "Agent", None),
        ("SubagentStart", None, "Explore"),
        ("PreToolUse", "Bash", "Explore"),
        ("SubagentStop", None, "Explore"),
    ]
    assert events[-1]["last_assistant_message"] == "two files" and events[1]["agent_id"] == events[2]["agent_id"]


def test_a_worktree_agent_leaves_its_changes_on_a_branch(project):
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    (project / "README.md").write_text("demo\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    child = project.parent / "child.json"
    child.write_text(
        json.dumps(
            [
                {"tool_calls": [{"name": "Write", "input": {"file_path": "feature.txt", "content": "new\n"}}]},
                {"text": "Added feature.txt."},
            ]
        )
    )
    call = {
        "name": "Agent",
        "input": {
            "description": "add feature",
            "prompt": "add it",
            "isolation": "worktree",
            "model": f"scripted:{child}",
        },
    }
    done, out = run(project, [{"tool_calls": [call]}, {"text": "merged later"}], "--dangerously-skip-permissions")
    assert done.returncode == 0, done.stderr
    report = results(out)[0]["message"]["content"][0]["content"]
    assert report.startswith("Added feature.txt.") and "committed on branch sous/agent-" in report
    assert not (project / "feature.txt").exists()
    branch = next(b.strip(" *") for b in git("branch").splitlines() if "sous/agent-" in b)
    assert git("show", f"{branch}:feature.txt") == "new\n"
    assert "sous-worktree" not in git("worktree", "list")


def test_a_background_agent_reports_at_the_next_turn(project):
    child = project.parent / "child.json"
    child.write_text(json.dumps([{"text": "background report: 3 TODOs"}]))
    call = {
        "name": "Agent",
        "input": {
            "description": "count todos",
            "prompt": "count",
            "run_in_background": True,
            "model": f"scripted:{child}",
        },
    }
    turns = [
        {"tool_calls": [call]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "sleep 1"}}]},
        {"text": "The agent found 3 TODOs."},
    ]
    done, out = run(project, turns, "--dangerously-skip-permissions")
    assert done.returncode == 0, done.stderr
    launched = results(out)[0]
    assert launched["tool_use_result"]["status"] == "async_launched"
    messages = transcript.load(transcript.find(out[0]["session_id"])).messages
    delivered = [m.text for m in messages if type(m).__name__ == "UserMessage" and "Background agent" in m.text]
    assert len(delivered) == 1 and "background report: 3 TODOs" in delivered[0]


def test_agents_flag_and_per_agent_accounting_in_the_result(project):
    defined = json.dumps(
        {"summariser": {"description": "Summarises files", "prompt": "You summarise.", "tools": ["Read"]}}
    )
    turns = [
        {"tool_calls": [agent_call("summarise README", "summariser")], "usage": {"input_tokens": 100}},
        {"text": "It is a demo.", "usage": {"input_tokens": 40, "output_tokens": 7}},
        {"text": "Summary: a demo.", "usage": {"input_tokens": 150, "output_tokens": 5}},
    ]
    done, out = run(project, turns, "--agents", defined, "--dangerously-skip-permissions")
    assert done.returncode == 0, done.stderr
    result = out[-1]
    (sub,) = result["subagents"]
    assert sub["agent_type"] == "summariser" and sub["usage"]["input_tokens"] == 40 and sub["tool_uses"] == 0
    assert result["usage"]["input_tokens"] == 250  # the main agent's own
    (model_usage,) = result["modelUsage"].values()
    assert model_usage["inputTokens"] == 290 and model_usage["outputTokens"] == 12
    bad, _ = run(project, [{"text": "x"}], "--agents", "{not json")
    assert bad.returncode == 2 and "--agents is not valid JSON" in bad.stderr


def test_the_whole_session_can_run_as_an_agent(project):
    (project / ".claude" / "agents").mkdir(parents=True)
    (project / ".claude" / "agents" / "auditor.md").write_text(
        "---\nname: auditor\ndescription: Audits\ntools: Read, Grep\npermissionMode: plan\n---\nYou audit code."
    )
    done, out = run(
        project, [{"tool_calls": [{"name": "Bash", "input": {"command": "ls"}}]}, {"text": "ok"}], "--agent", "auditor"
    )
    assert sorted(out[0]["tools"]) == ["Grep", "Read"] and out[0]["permissionMode"] == "plan"
    assert "No such tool available: Bash" in results(out)[0]["message"]["content"][0]["content"]
    unknown, _ = run(project, [{"text": "x"}], "--agent", "nobody")
    assert unknown.returncode == 2 and "no agent named 'nobody'" in unknown.stderr


def test_send_message_resumes_a_finished_agent_with_its_history(project):
    turns = [
        {
            "tool_calls": [
                {
                    "name": "Agent",
                    "input": {
                        "description": "remember a number",
                        "prompt": "Remember 7.",
                        "subagent_type": "general-purpose",
                    },
                }
            ]
        },
        {"text": "Remembered."},  # child
        {"tool_calls": [{"name": "SendMessage", "input": {"to": "remember a number", "message": "Which number?"}}]},
        {"text": "The number is 7."},  # child, resumed
        {"tool_calls": [{"name": "SendMessage", "input": {"to": "nobody", "message": "hi"}}]},
        {"text": "done"},
    ]
    done, out = run(project, turns)
    assert done.returncode == 0, done.stderr
    first, resumed, missing = (r["message"]["content"][0] for r in results(out))
    assert resumed["content"] == "The number is 7." and not resumed["is_error"]
    assert missing["is_error"] and "no agent 'nobody' to message" in missing["content"]
