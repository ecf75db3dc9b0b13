"""`sous config` and `sous hooks list|test` on a real project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sous

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
