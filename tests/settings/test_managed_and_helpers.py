"""The managed policy file at the top of the settings, `apiKeyHelper` and the co-author trailer,
through the real `sous` and the scripted HTTP endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous import settings
from sous.testing.server import ScriptedServer

SRC = str(Path(sous.__file__).resolve().parents[1])


@pytest.fixture
def world(tmp_path: Path) -> dict:
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (tmp_path / ".claude").mkdir()
    managed = tmp_path / "etc" / "managed-settings.json"
    managed.parent.mkdir()
    return {"tmp": tmp_path, "project": project, "managed": managed}


def sous_run(world: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", *args], cwd=world["project"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(world["tmp"]), "SOUS_MANAGED_SETTINGS": str(world["managed"]),
             **(env or {})},
    )  # fmt: skip


def write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data))


def test_managed_values_win_over_every_layer_and_are_read_in_bare_mode_too(world):
    write(world["tmp"] / ".claude" / "settings.json", {"model": "opus", "permissions": {"allow": ["Read"]}})
    write(world["project"] / ".claude" / "settings.local.json", {"model": "haiku"})
    write(world["managed"], {"model": "sonnet", "permissions": {"deny": ["WebFetch"]}})
    (world["managed"].parent / "managed-settings.d").mkdir()
    write(world["managed"].parent / "managed-settings.d" / "10-more.json", {"cleanupPeriodDays": 7})
    cfg = settings.load(world["project"], '{"model": "x"}', environ={"HOME": str(world["tmp"]),
                        "SOUS_MANAGED_SETTINGS": str(world["managed"])})  # fmt: skip
    assert cfg.get("model") == "sonnet" and cfg.get("cleanupPeriodDays") == 7
    assert cfg.get("permissions.allow") == ["Read"] and cfg.get("permissions.deny") == ["WebFetch"]
    assert cfg.sources[-2:] == [
        str(world["managed"]),
        str(world["managed"].parent / "managed-settings.d" / "10-more.json"),
    ]
    bare = settings.load(world["project"], bare=True, environ={"SOUS_MANAGED_SETTINGS": str(world["managed"])})
    assert bare.get("model") == "sonnet"
    out = sous_run(world, "config").stdout
    assert f'model = "sonnet"  # {world["managed"]}' in out


def test_managed_only_hooks_and_rules(world):
    user_hook = {"PreToolUse": [{"hooks": [{"type": "command", "command": "echo user >> log"}]}]}
    write(world["tmp"] / ".claude" / "settings.json", {"hooks": user_hook, "permissions": {"allow": ["Bash"]}})
    managed_hook = {"PreToolUse": [{"hooks": [{"type": "command", "command": "echo managed >> log"}]}]}
    policy = {"hooks": managed_hook, "allowManagedHooksOnly": True, "permissions": {"deny": ["Write"]}}
    write(world["managed"], {**policy, "allowManagedPermissionRulesOnly": True})
    env = {"HOME": str(world["tmp"]), "SOUS_MANAGED_SETTINGS": str(world["managed"])}
    cfg = settings.load(world["project"], environ=env)
    assert cfg.get("hooks") == managed_hook
    assert cfg.get("permissions.allow") == [] and cfg.get("permissions.deny") == ["Write"]


def test_a_lower_disable_all_hooks_leaves_the_managed_hooks(world):
    managed_hook = {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}
    write(world["managed"], {"hooks": managed_hook})
    cfg = settings.load(world["project"], '{"disableAllHooks": true, "hooks": {"Stop": []}}',
                        environ={"SOUS_MANAGED_SETTINGS": str(world["managed"])})  # fmt: skip
    assert cfg.get("disableAllHooks") is False and cfg.get("hooks") == managed_hook


def test_a_broken_managed_file_stops_sous(world):
    world["managed"].write_text("{not json")
    result = sous_run(world, "-p", "hi", "--model", "scripted:/dev/null")
    assert result.returncode != 0
    assert f"{world['managed']}:1:2: invalid JSON" in result.stderr


def helper(world: dict) -> str:
    script = world["tmp"] / "helper.sh"
    script.write_text(f"#!/bin/sh\necho ran >> {world['tmp'] / 'helper.log'}\necho sk-from-helper\n")
    script.chmod(0o755)
    return str(script)


def helper_runs(world: dict) -> int:
    log = world["tmp"] / "helper.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


TWO_REQUESTS = [{"tool_calls": [{"name": "Read", "input": {"file_path": "x"}}]}, {"text": "done"}]


@pytest.mark.parametrize(("ttl", "runs"), [(None, 1), ("0", 2)])
def test_the_api_key_helper_gives_the_key_and_is_cached_for_its_ttl(world, ttl, runs):
    write(world["tmp"] / ".claude" / "settings.json", {"apiKeyHelper": helper(world)})
    env = {"CLAUDE_CODE_API_KEY_HELPER_TTL_MS": ttl} if ttl is not None else {}
    with ScriptedServer(TWO_REQUESTS) as server:
        result = sous_run(world, "-p", "hi", env={"ANTHROPIC_BASE_URL": server.url, **env})
    assert result.returncode == 0, result.stderr
    assert [r["headers"].get("x-api-key") for r in server.requests] == ["sk-from-helper"] * 2
    assert server.requests[0]["headers"].get("authorization") == "Bearer sk-from-helper"
    assert helper_runs(world) == runs


def test_a_projects_api_key_helper_does_not_run_before_trust(world):
    write(world["project"] / ".claude" / "settings.json", {"apiKeyHelper": helper(world)})
    with ScriptedServer([{"text": "hi"}]) as server:
        result = sous_run(world, "-p", "hi", env={"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "env-key"})
    assert result.returncode == 0, result.stderr
    assert helper_runs(world) == 0
    assert "apiKeyHelper command:" in result.stderr and "sous trust" in result.stderr
    assert server.requests[0]["headers"].get("x-api-key") == "env-key"


def test_a_failing_helper_is_one_clear_line_not_an_empty_key(world):
    write(world["tmp"] / ".claude" / "settings.json", {"apiKeyHelper": "echo nope >&2; exit 3"})
    with ScriptedServer([{"text": "hi"}]) as server:
        result = sous_run(world, "-p", "hi", env={"ANTHROPIC_BASE_URL": server.url})
    assert result.returncode != 0
    assert "apiKeyHelper failed with exit code 3: nope" in result.stdout + result.stderr
    assert server.requests == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, None),
        ({"includeCoAuthoredBy": True}, "Co-Authored-By: sous <noreply@sous.invalid>"),
        ({"includeCoAuthoredBy": True, "attribution": {"commit": "Assisted-by: sous"}}, "Assisted-by: sous"),
        ({"includeCoAuthoredBy": False}, None),
    ],
)
def test_the_co_author_trailer_is_in_the_system_prompt_only_when_asked(world, value, expected):
    write(world["tmp"] / ".claude" / "settings.json", value)
    with ScriptedServer([{"text": "hi"}]) as server:
        result = sous_run(world, "-p", "hi", env={"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "k"})
    assert result.returncode == 0, result.stderr
    system = json.dumps(server.requests[0]["body"]["system"])
    if expected is None:
        assert "# Commits" not in system
    else:
        assert f"end its message with a blank line and: {expected}" in system


def test_sous_config_lists_only_what_sous_still_ignores(world):
    write(world["tmp"] / ".claude" / "settings.json",
          {"statusLine": {"type": "command", "command": "true"}, "outputStyle": "Learning", "apiKeyHelper": "true",
           "includeCoAuthoredBy": True, "spinnerTipsEnabled": False, "enabledPlugins": {}})  # fmt: skip
    out = sous_run(world, "config").stdout.splitlines()
    assert out[-1] == "# not used by sous (ignored): spinnerTipsEnabled"
