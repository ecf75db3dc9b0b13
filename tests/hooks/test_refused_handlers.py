"""Handler types Claude Code will not run for an event are refused with one line, never run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sous
from sous.hooks.config import load

SRC = str(Path(sous.__file__).resolve().parents[1])


def test_session_start_keeps_only_command_handlers_and_says_why_once_each():
    config = load(
        {
            "SessionStart": [
                {
                    "hooks": [
                        {"type": "prompt", "prompt": "is the repo clean?"},
                        {"type": "agent", "prompt": "look around"},
                        {"type": "http", "url": "http://localhost:9/x"},
                        {"type": "command", "command": "echo ok"},
                    ]
                }
            ],
            "Setup": [{"hooks": [{"type": "prompt", "prompt": "x"}]}],
            "PermissionRequest": [
                {"hooks": [{"type": "agent", "prompt": "allow?"}, {"type": "prompt", "prompt": "y"}]}
            ],
            "Stop": [{"hooks": [{"type": "prompt", "prompt": "done?"}]}],
        }
    )
    assert [h.type for h in config.handlers("SessionStart")] == ["command"]
    assert config.handlers("Setup") == []
    assert [h.type for h in config.handlers("PermissionRequest")] == ["prompt"]
    assert [h.type for h in config.handlers("Stop")] == ["prompt"]
    only_commands = "runs only command handlers, as in Claude Code; this {} handler is skipped"
    assert config.problems == [
        *(f"hooks.SessionStart[0]: SessionStart {only_commands.format(kind)}" for kind in ("prompt", "agent", "http")),
        f"hooks.Setup[0]: Setup {only_commands.format('prompt')}",
        "hooks.PermissionRequest[0]: an agent handler cannot answer a permission request "
        "(use a command, http or prompt handler); skipped",
    ]


def test_sous_p_warns_in_one_line_and_runs_the_command_handler_beside_it(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    judge = tmp_path / "judge.json"  # would be consumed if the prompt handler ran
    judge.write_text(json.dumps([{"text": json.dumps({"ok": False, "reason": "no"})}]))
    mark = tmp_path / "ran"
    group = {
        "hooks": [
            {"type": "prompt", "prompt": "is it clean?", "model": f"scripted:{judge}"},
            {"type": "command", "command": f"echo started >> {mark}"},
        ]
    }
    turns = tmp_path / "turns.json"
    turns.write_text(json.dumps([{"text": "hello"}]))
    done = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "hi", "--model", f"scripted:{turns}",
         "--settings", json.dumps({"hooks": {"SessionStart": [group]}})],
        cwd=project, env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "hello", done.stderr
    warnings = [line for line in done.stderr.splitlines() if "SessionStart" in line]
    assert len(warnings) == 1 and "this prompt handler is skipped" in warnings[0]
    assert mark.read_text() == "started\n"
