"""`sous config` and `sous hooks list|test` on a real project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sous
from sous.permissions import trust

SRC = str(Path(sous.__file__).resolve().parents[1])
GUARD = "grep -q 'git push' && { echo 'no pushing from here' >&2; exit 2; } || exit 0"


def sous_cmd(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", *args],
        cwd=cwd,
        input=stdin,
        text=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(cwd)},
        timeout=60,
    )


def setup(tmp_path: Path) -> Path:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(
        json.dumps(
            {
                "model": "sonnet",
                "permissions": {"allow": ["Bash(ls *)"]},
                "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": GUARD}]}]},
            }
        )
    )
    (tmp_path / ".claude" / "settings.local.json").write_text(
        json.dumps({"model": "opus", "permissions": {"allow": ["Read"]}, "spinnerTipsEnabled": False})
    )
    return tmp_path


def test_config_shows_every_value_with_its_source(tmp_path):
    project = setup(tmp_path)
    listed = sous_cmd("config", cwd=project).stdout.splitlines()
    assert listed[-1].startswith("# left out until you approve them with `sous trust`: allow rule Read")
    trust.approve(trust.check(project, {**os.environ, "HOME": str(project)}))  # `sous trust --yes`
    out = sous_cmd("config", cwd=project).stdout.splitlines()
    assert f'model = "opus"  # {project}/.claude/settings.local.json' in out
    assert f'permissions.allow[] = "Bash(ls *)"  # {project}/.claude/settings.json' in out
    assert f'permissions.allow[] = "Read"  # {project}/.claude/settings.local.json' in out
    assert out[-1] == "# not used by sous (ignored): spinnerTipsEnabled"


def test_hooks_list_and_test_run_the_configured_guard(tmp_path):
    project = setup(tmp_path)
    assert sous_cmd("hooks", "list", cwd=project).stdout.strip() == f"PreToolUse\tBash\tcommand\t{GUARD}"
    payload = json.dumps({"tool_name": "Bash", "tool_input": {"command": "git push origin main"}})
    run = sous_cmd("hooks", "test", "PreToolUse", "-", cwd=project, stdin=payload)
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert records[0]["exit_code"] == 2 and records[-1]["block"] == "no pushing from here"
    safe = json.dumps({"tool_name": "Bash", "tool_input": {"command": "git status"}})
    assert (
        json.loads(sous_cmd("hooks", "test", "PreToolUse", "-", cwd=project, stdin=safe).stdout.splitlines()[-1])[
            "block"
        ]
        is None
    )
    assert sous_cmd("hooks", "test", "Nope", "-", cwd=project).returncode == 2


def test_hooks_test_runs_the_newly_fired_events_on_their_own_matcher_fields(tmp_path):
    (tmp_path / ".claude").mkdir()
    block_opus = "grep -q opus && { echo 'stay on sonnet' >&2; exit 2; } || exit 0"
    batch = 'echo \'{"hookSpecificOutput": {"hookEventName": "PostToolBatch", "additionalContext": "lint next"}}\''
    hooks = {
        "PreModelSwitch": [{"matcher": "opus", "hooks": [{"type": "command", "command": block_opus}]}],
        "PostToolBatch": [{"hooks": [{"type": "command", "command": batch}]}],
        "WorktreeCreate": [{"hooks": [{"type": "command", "command": "echo /tmp/x"}]}],
    }
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}))
    listed = sous_cmd("hooks", "list", cwd=tmp_path)
    assert "never fires" not in listed.stderr and "PostToolBatch\t*\tcommand" in listed.stdout

    def last(event: str, payload: dict) -> dict:
        run = sous_cmd("hooks", "test", event, "-", cwd=tmp_path, stdin=json.dumps(payload))
        return json.loads(run.stdout.splitlines()[-1])

    switch = {"from_model": "sonnet", "requested_model": "opus", "source": "command"}
    assert last("PreModelSwitch", {**switch, "to_model": "opus"})["block"] == "stay on sonnet"
    assert last("PreModelSwitch", {**switch, "to_model": "haiku"})["block"] is None  # the matcher is to_model
    calls = [{"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "t1", "tool_response": "a"}]
    assert last("PostToolBatch", {"tool_calls": calls})["context"] == ["lint next"]
    assert last("WorktreeCreate", {"name": "agent-1"})["block"] is None


def test_hooks_test_runs_config_change_teammate_idle_and_elicitation_hooks(tmp_path):
    (tmp_path / ".claude").mkdir()
    accept = json.dumps(
        {"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "accept", "content": {"n": 1}}}
    )
    hooks = {
        "ConfigChange": [{"matcher": "project_settings", "hooks": [{"type": "command", "command": "exit 2"}]}],
        "TeammateIdle": [{"hooks": [{"type": "command", "command": "echo 'post the next task' >&2; exit 2"}]}],
        "Elicitation": [{"matcher": "lib", "hooks": [{"type": "command", "command": f"echo '{accept}'"}]}],
    }
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}))
    listed = sous_cmd("hooks", "list", cwd=tmp_path)
    assert "never fires" not in listed.stderr and "TeammateIdle\t*\tcommand" in listed.stdout

    def last(event: str, payload: dict) -> dict:
        run = sous_cmd("hooks", "test", event, "-", cwd=tmp_path, stdin=json.dumps(payload))
        return json.loads(run.stdout.splitlines()[-1])

    assert (
        last("ConfigChange", {"source": "project_settings", "file_path": "x"})["block"]
        == "blocked by a ConfigChange hook"
    )
    assert last("ConfigChange", {"source": "user_settings", "file_path": "x"})["block"] is None
    assert last("TeammateIdle", {"teammate_name": "a", "team_name": "t"})["block"] == "post the next task"
    asked = {"mcp_server_name": "lib", "message": "n?", "mode": "form", "requested_schema": {}}
    assert last("Elicitation", asked)["elicitation"] == {"action": "accept", "content": {"n": 1}}
    assert last("Elicitation", {**asked, "mcp_server_name": "shop"})["elicitation"] is None  # matched on the server
