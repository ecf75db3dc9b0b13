"""Plugins through the real `sous plugin ...` and `sous -p`: installed from a local marketplace,
every component works; disabled, none has any effect; the same with `--plugin-dir`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sous.testing.server import ScriptedServer

MCP_TOOL = "mcp__plugin_kit_echo__shout"
BUSY = [
    {
        "tool_calls": [
            {"name": "Skill", "input": {"skill": "kit:tidy"}},
            {"name": "Bash", "input": {"command": "echo forbidden"}},
            {"name": MCP_TOOL, "input": {"text": "hi"}},
        ]
    },
    {
        "tool_calls": [
            {"name": "Agent", "input": {"description": "review", "prompt": "look", "subagent_type": "kit:reviewer"}}
        ]
    },
    {"text": "reviewed"},
    {"text": "all done"},
]


def print_run(run_sous, turns: list, prompt: str, *flags: str) -> tuple[object, list[str]]:
    with ScriptedServer(turns) as server:
        done = run_sous(
            "-p",
            prompt,
            "--model",
            "anthropic:claude-sonnet-4-5",
            "--dangerously-skip-permissions",
            *flags,
            env={"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test"},
        )
    return done, [json.dumps(r["body"]) for r in server.requests]


def tool_names(request: str) -> set[str]:
    return {t["name"] for t in json.loads(request).get("tools", [])}


def assert_everything_works(done, requests: list[str], plugin_root: Path, data_dir: Path, project: Path) -> None:
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "all done"
    first = requests[0]
    assert f"Say hello to world (kit at {plugin_root})" in first  # the command, its placeholder substituted
    assert "KIT-SESSION-START" in first  # the SessionStart hook's output is context
    tools = tool_names(first)
    assert MCP_TOOL in tools
    described = {t["name"]: t["description"] for t in json.loads(first)["tools"]}
    assert "kit:tidy" in described["Skill"] and "kit:reviewer" in described["Agent"]
    second = requests[1]
    assert "TIDY-SKILL-BODY" in second
    assert "kit guard: forbidden commands are blocked" in second
    assert "HI!" in second
    assert "You are the KIT REVIEWER." in requests[2]  # the sub-agent ran with the plugin agent's prompt
    assert (data_dir / "seen.txt").read_text() == f"{plugin_root}|{project}"


def assert_nothing_works(done, requests: list[str]) -> None:
    assert done.returncode == 0, done.stderr
    first = requests[0]
    assert "Say hello to world" not in first and "/kit:hello world" in first  # sent as typed
    assert "KIT-SESSION-START" not in first
    assert not {t for t in tool_names(first) if t.startswith("mcp__")}
    described = {t["name"]: t["description"] for t in json.loads(first)["tools"]}
    assert "kit:tidy" not in described.get("Skill", "") and "kit:reviewer" not in described["Agent"]
    result = json.loads(requests[1])["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and not result.get("is_error"), result  # the Bash call ran unguarded
    assert "forbidden" in json.dumps(result["content"]) and "kit guard" not in requests[1]


QUIET = [{"tool_calls": [{"name": "Bash", "input": {"command": "echo forbidden"}}]}, {"text": "ok"}]


def test_installed_from_a_local_marketplace_each_part_works_and_disable_removes_each(
    run_sous, market_dir, home, project
):
    added = run_sous("plugin", "marketplace", "add", str(market_dir))
    assert added.returncode == 0, added.stderr
    assert "added marketplace market (1 plugin)" in added.stdout
    installed = run_sous("plugin", "install", "kit@market")
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.strip() == "installed kit@market 1.2.0 (user scope), enabled"
    cache = home / ".claude" / "plugins" / "cache" / "market" / "kit" / "1.2.0"
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert settings["enabledPlugins"] == {"kit@market": True}
    records = json.loads((home / ".claude" / "plugins" / "installed_plugins.json").read_text())
    assert records["version"] == 2 and records["plugins"]["kit@market"][0]["installPath"] == str(cache)

    listed = run_sous("plugin", "list", "--json")
    assert json.loads(listed.stdout) == [
        {"id": "kit@market", "version": "1.2.0", "scope": "user", "enabled": True, "installPath": str(cache)}
    ]

    hooks = run_sous("hooks", "list").stdout
    assert f"PreToolUse\tBash\tcommand\t{sys.executable} {cache}/scripts/guard.py" in hooks
    assert f"SessionStart\t*\tcommand\t{cache}/scripts/start.sh" in hooks

    done, requests = print_run(run_sous, BUSY, "/kit:hello world")
    data_dir = home / ".claude" / "plugins" / "data" / "kit-market"
    assert_everything_works(done, requests, cache, data_dir, project)

    off = run_sous("plugin", "disable", "kit@market")
    assert off.returncode == 0 and off.stdout.strip() == "disabled kit@market (user scope)", off.stderr
    assert json.loads(run_sous("plugin", "list", "--json").stdout)[0]["enabled"] is False
    (data_dir / "seen.txt").unlink()
    assert run_sous("hooks", "list").stdout == "no hooks configured\n"
    done, requests = print_run(run_sous, QUIET, "/kit:hello world")
    assert_nothing_works(done, requests)
    assert not (data_dir / "seen.txt").exists()

    assert run_sous("plugin", "enable", "kit").returncode == 0  # the one installed plugin of that name
    gone = run_sous("plugin", "uninstall", "kit@market")
    assert gone.returncode == 0 and not cache.exists(), gone.stderr
    assert json.loads(run_sous("plugin", "list", "--json").stdout) == []
    assert "enabledPlugins" not in json.loads((home / ".claude" / "settings.json").read_text())


@pytest.mark.parametrize("bare", [[], ["--bare"]], ids=["settings", "bare"])
def test_plugin_dir_loads_every_part_for_one_run(run_sous, plugin_dir, home, project, bare):
    done, requests = print_run(run_sous, BUSY, "/kit:hello world", "--plugin-dir", str(plugin_dir), *bare)
    assert_everything_works(
        done, requests, plugin_dir.resolve(), home / ".claude" / "plugins" / "data" / "kit-inline", project
    )
    done, requests = print_run(run_sous, QUIET, "/kit:hello world")  # the next run does not have it
    assert_nothing_works(done, requests)


def test_bare_skips_installed_plugins(run_sous, market_dir):
    assert run_sous("plugin", "marketplace", "add", str(market_dir)).returncode == 0
    assert run_sous("plugin", "install", "kit").returncode == 0
    done, requests = print_run(run_sous, QUIET, "/kit:hello world", "--bare")
    assert_nothing_works(done, requests)


def test_the_stream_json_init_line_names_the_plugins(run_sous, plugin_dir):
    done, _ = print_run(
        run_sous, [{"text": "ok"}], "hi", "--plugin-dir", str(plugin_dir), "--output-format", "stream-json"
    )
    init = json.loads(done.stdout.splitlines()[0])
    assert init["subtype"] == "init" and init["plugins"] == [{"name": "kit", "path": str(plugin_dir.resolve())}]
    assert "mcp__plugin_kit_echo__shout" in init["tools"]
