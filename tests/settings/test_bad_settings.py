"""Settings of the wrong shape: never a crash, never a wider permission, one line each.

Dropping a value that only grants (allow, env, model) is a warning; a value whose loss could
widen what sous may do (deny, ask, the permissions block, hooks, defaultMode, an unreadable file)
stops sous from starting, with exit 2 and one line per problem.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous import settings
from sous.core import ConfigError
from sous.permissions import Rules, decide, parse

SRC = str(Path(sous.__file__).resolve().parents[1])


def layer(project: Path, data, name: str = "settings.json") -> Path:
    path = project / ".claude" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def load(project: Path) -> settings.Settings:
    return settings.load(project, environ={**os.environ, "HOME": str(project / "home")}, check_rule=parse)


def one_line_naming(lines: list[str], path: Path, key: str) -> str:
    assert len(lines) == 1, lines
    assert "\n" not in lines[0] and str(path) in lines[0] and key in lines[0], lines[0]
    return lines[0]


def rules_of(cfg: settings.Settings) -> Rules:
    return Rules.from_lists(
        allow=cfg.get("permissions.allow", []), ask=cfg.get("permissions.ask", []), deny=cfg.get("permissions.deny", [])
    )


def verdict(cfg: settings.Settings, command: str, cwd: Path) -> str:
    return decide(rules_of(cfg), "dontAsk", "Bash", {"command": command}, cwd=str(cwd), project_dir=str(cwd)).behavior


def test_allow_as_a_string_is_dropped_not_split_into_an_allow_everything_star(tmp_path):
    path = layer(tmp_path, {"permissions": {"allow": "Bash(npm test *)"}})
    cfg = load(tmp_path)
    line = one_line_naming(cfg.problems, path, "permissions.allow")
    assert "expected a list of rule strings, got a string" in line
    assert cfg.errors == [] and cfg.get("permissions.allow") is None
    assert verdict(cfg, "rm -rf victim", tmp_path) == "deny"


def test_non_string_items_in_allow_are_dropped_one_by_one(tmp_path):
    path = layer(tmp_path, {"permissions": {"allow": ["Read", 5, {"x": 1}, "Bash(ls)"]}})
    cfg = load(tmp_path)
    assert cfg.get("permissions.allow") == ["Read", "Bash(ls)"]
    assert len(cfg.problems) == 2 and all(str(path) in p and "permissions.allow[" in p for p in cfg.problems)


@pytest.mark.parametrize("deny", ["Bash(rm *)", 5, {"Bash": "rm"}, ["Bash(rm *)", 7], ["Bash(rm *"]])
def test_a_deny_list_that_cannot_be_read_stops_sous_instead_of_being_dropped(tmp_path, deny):
    path = layer(tmp_path, {"permissions": {"deny": deny, "allow": ["Bash"]}})
    cfg = load(tmp_path)
    one_line_naming(cfg.errors, path, "permissions.deny")
    with pytest.raises(ConfigError) as e:
        cfg.require_valid()
    assert str(path) in str(e.value)


@pytest.mark.parametrize("ask", [5, "Bash(git push *)", [None], ["Bash(git push"]])
def test_an_ask_list_that_cannot_be_read_stops_sous(tmp_path, ask):
    path = layer(tmp_path, {"permissions": {"ask": ask}})
    one_line_naming(load(tmp_path).errors, path, "permissions.ask")


def test_an_allow_rule_that_does_not_parse_is_only_skipped(tmp_path):
    layer(tmp_path, {"permissions": {"allow": ["Bash(ls", "Read"]}})
    cfg = load(tmp_path)
    assert cfg.errors == []
    rules = rules_of(cfg)
    assert [r.text for r in rules.allow] == ["Read"] and len(rules.problems) == 1


@pytest.mark.parametrize(
    ("data", "key", "fatal"),
    [
        ({"env": ["A=1"]}, "env", False),
        ({"env": {"A": ["x"], "B": "1"}}, "env.A", False),
        ({"model": 7}, "model", False),
        ({"permissions": []}, "permissions", True),
        ({"permissions": "deny everything"}, "permissions", True),
        ({"hooks": "x"}, "hooks", True),
        ({"hooks": {"PreToolUse": {"matcher": "Bash"}}}, "hooks.PreToolUse", True),
        ({"hooks": {"PreToolUse": ["guard.sh"]}}, "hooks.PreToolUse[0]", True),
        ({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": "guard.sh"}]}}, "hooks.PreToolUse[0].hooks", True),
        (
            {"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "g", "timeout": "soon"}]}]}},
            "hooks.PreToolUse[0].hooks[0].timeout",
            True,
        ),
        (
            {"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": ["g"]}]}]}},
            "hooks.PreToolUse[0].hooks[0].command",
            True,
        ),
        (
            {"hooks": {"PreToolUse": [{"hooks": [{"type": "http", "url": "http://x", "headers": ["a"]}]}]}},
            "hooks.PreToolUse[0].hooks[0].headers",
            True,
        ),
        ({"permissions": {"defaultMode": "yolo"}}, "permissions.defaultMode", True),
        ({"permissions": {"defaultMode": 1}}, "permissions.defaultMode", True),
        ({"disableAllHooks": "false"}, "disableAllHooks", False),
        ({"preToolUseHookFailure": "ignore"}, "preToolUseHookFailure", False),
        ({"sandbox": True}, "sandbox", True),
        ({"sandbox": {"enabled": "yes"}}, "sandbox.enabled", True),
        ({"sandbox": {"enabled": True, "writablePaths": "/"}}, "sandbox.writablePaths", False),
    ],
)
def test_each_wrong_type_is_one_line_naming_file_key_and_expectation(tmp_path, data, key, fatal):
    path = layer(tmp_path, data)
    cfg = load(tmp_path)
    line = one_line_naming(cfg.errors if fatal else cfg.problems, path, key)
    assert "expected" in line
    assert (cfg.problems if fatal else cfg.errors) == []


def test_the_wrong_value_is_not_used_and_the_layer_below_still_counts(tmp_path):
    home = tmp_path / "home"
    user = home / ".claude" / "settings.json"
    user.parent.mkdir(parents=True)
    user.write_text(json.dumps({"model": "scripted:good", "env": {"A": "1"}, "disableAllHooks": False}))
    layer(tmp_path, {"model": 7, "env": ["B=2"], "disableAllHooks": "true"})
    cfg = load(tmp_path)
    assert cfg.get("model") == "scripted:good" and cfg.get("env") == {"A": "1"}
    assert cfg.get("disableAllHooks") is False


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{\n  // my rules\n  "permissions": {"deny": ["Bash(rm *)"]}\n}', ":2:3:"),
        ('{"permissions": {"deny": ["Bash(rm *)",]}}', ":1:40:"),
        ('{"permissions": {"deny": ["Bash(rm *)"]}', ":1:41:"),
        ("[]", ""),
        ("42", ""),
        ("[" * 100_000 + "]" * 100_000, ""),
    ],
)
def test_a_file_that_is_not_a_settings_object_stops_sous_with_its_position(tmp_path, text, where):
    path = layer(tmp_path, text)
    line = one_line_naming(load(tmp_path).errors, path, where)
    assert "sous will not start" in line


def test_a_byte_order_mark_is_allowed(tmp_path):
    layer(tmp_path, "\ufeff" + json.dumps({"permissions": {"deny": ["Bash(rm *)"]}}))
    cfg = load(tmp_path)
    assert cfg.errors == [] and cfg.get("permissions.deny") == ["Bash(rm *)"]


def test_invalid_utf8_stops_sous(tmp_path):
    path = layer(tmp_path, b'{"permissions": {"deny": ["Bash(rm \xff*)"]}}')
    assert "not UTF-8" in one_line_naming(load(tmp_path).errors, path, "")


def test_an_unreadable_file_stops_sous(tmp_path):
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.symlink_to(path)  # a loop: reading fails (chmod cannot stop root)
    assert "cannot read" in one_line_naming(load(tmp_path).errors, path, "")


def test_a_directory_in_place_of_the_file_is_a_warning(tmp_path):
    path = tmp_path / ".claude" / "settings.json"
    path.mkdir(parents=True)
    cfg = load(tmp_path)
    assert cfg.errors == [] and "is a directory" in one_line_naming(cfg.problems, path, "")


def test_a_fifo_in_place_of_the_file_is_refused_without_blocking(tmp_path):
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    os.mkfifo(path)
    assert "not a regular file" in one_line_naming(load(tmp_path).errors, path, "")


def test_a_missing_settings_file_named_on_the_command_line_is_an_error(tmp_path):
    cfg = settings.load(tmp_path, str(tmp_path / "nope.json"), bare=True)
    assert len(cfg.errors) == 1 and "nope.json" in cfg.errors[0]


@pytest.mark.parametrize("value", [None, True, 0, 1.5, "", "x", "*", [], ["*"], [1], {}, {"a": 1}])
@pytest.mark.parametrize(
    "key",
    [
        "model",
        "env",
        "permissions",
        "hooks",
        "disableAllHooks",
        "sandbox",
        "preToolUseHookFailure",
        "permissions.allow",
        "permissions.ask",
        "permissions.deny",
        "permissions.defaultMode",
        "sandbox.enabled",
        "sandbox.network",
        "sandbox.network.allowedDomains",
    ],
)
def test_any_value_at_any_key_never_crashes_and_never_allows_a_command(tmp_path, key, value):
    data: dict = {}
    node = data
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    layer(tmp_path, data)
    cfg = load(tmp_path)
    assert all("\n" not in line for line in cfg.problems + cfg.errors)
    # Only an explicit allow-list item "*" may allow everything; nothing else may appear from a wrong type.
    if not cfg.errors and (key != "permissions.allow" or value != ["*"]):
        assert verdict(cfg, "rm -rf victim", tmp_path) != "allow"


# The real command: what a person sees.


def run_sous(project: Path, *args: str, turns: list | None = None) -> subprocess.CompletedProcess:
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns or [{"text": "done"}]))
    env = {
        **os.environ,
        "HOME": str(project.parent / "home"),
        "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", "sous", "-p", "go", "--model", f"scripted:{script}", *args],
        cwd=project,
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )


def test_sous_with_allow_as_a_string_under_dont_ask_does_not_run_the_command(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    layer(project, {"permissions": {"allow": "Bash(npm test *)", "defaultMode": "dontAsk"}})
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "touch pwned"}}]}, {"text": "done"}]
    run = run_sous(project, turns=turns)
    assert run.returncode == 0, run.stderr
    assert not (project / "pwned").exists()
    assert "permissions.allow: expected a list of rule strings, got a string" in run.stderr


def test_sous_refuses_to_start_on_a_broken_ask_list_with_exit_2_and_one_line(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    path = layer(project, {"permissions": {"ask": 5}})
    run = run_sous(project)
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "permissions.ask" in lines[0], run.stderr


@pytest.mark.parametrize("data", [{"env": ["A=1"]}, {"model": 7}])
def test_sous_starts_past_a_dropped_value_with_a_warning(tmp_path, data):
    project = tmp_path / "p"
    project.mkdir()
    layer(project, data)
    run = run_sous(project)
    assert run.returncode == 0 and run.stdout == "done\n", run.stderr
    assert "Traceback" not in run.stderr and "expected" in run.stderr


def test_a_valid_claude_code_settings_file_passes_untouched(tmp_path):
    data = {
        "$schema": "https://json.schemastore.org/claude-code-settings.json",
        "model": "anthropic:claude-sonnet-4-5",
        "env": {"FOO": "1", "PORT": 8080, "DEBUG": 1.5},
        "permissions": {
            "allow": ["Bash(npm run test *)", "Read(./src/**)"],
            "ask": ["Bash(git push *)"],
            "deny": ["Read(./.env)", "Bash(rm -rf *)"],
            "defaultMode": "acceptEdits",
            "additionalDirectories": ["../shared"],
            "disableBypassPermissionsMode": "disable",
        },
        "hooks": {
            "PreToolUse": [
                {
                    "matcher": "Bash",
                    "hooks": [
                        {
                            "type": "command",
                            "command": "guard.sh",
                            "timeout": 30,
                            "async": False,
                            "statusMessage": "checking",
                            "if": "Bash(rm *)",
                            "onFailure": "block",
                        },
                        {
                            "type": "http",
                            "url": "http://127.0.0.1:1/hook",
                            "headers": {"X-Key": "$KEY"},
                            "timeout": 2.5,
                        },
                    ],
                }
            ],
            "Setup": [{"hooks": [{"type": "command", "command": "x", "args": ["a", "b"]}]}],
        },
        "disableAllHooks": False,
        "preToolUseHookFailure": "continue",
        "sandbox": {
            "enabled": True,
            "writablePaths": ["/tmp"],
            "network": {"allowedDomains": ["pypi.org"]},
            "excludedCommands": ["docker"],
        },
        "statusLine": {"type": "command", "command": "~/.claude/statusline.sh"},
        "cleanupPeriodDays": 30,
    }
    layer(tmp_path, data)
    cfg = load(tmp_path)
    assert cfg.problems == [] and cfg.errors == []
    assert cfg.values == data


@pytest.mark.parametrize(
    "content",
    [
        '{"permissions": {"deny": ["Bash(rm *)"],}}',
        '{"permissions": []}',
        '{"permissions": {"allow": "Bash(ls)"}}',
        "[1]",
        b"\xff\xfe{}",
    ],
)
def test_always_allow_never_rewrites_a_settings_file_it_cannot_read(tmp_path, content):
    from sous.permissions.grants import save_always

    path = layer(tmp_path, content, "settings.local.json")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="left unchanged"):
        save_always(["Bash(make)"], path)
    assert path.read_bytes() == before


def test_always_allow_adds_to_a_file_with_a_byte_order_mark(tmp_path):
    from sous.permissions.grants import save_always

    path = layer(tmp_path, "\ufeff" + json.dumps({"permissions": {"deny": ["Bash(rm *)"]}}), "settings.local.json")
    save_always(["Bash(make)"], path)
    assert json.loads(path.read_text()) == {"permissions": {"deny": ["Bash(rm *)"], "allow": ["Bash(make)"]}}
