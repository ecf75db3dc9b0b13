"""Hooks that hang never hold the session for long."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from sous.hooks import config, runner


def handler(command: str, **extra) -> config.Handler:
    loaded = config.load({"PreToolUse": [{"hooks": [{"type": "command", "command": command, **extra}]}]})
    assert not loaded.problems
    return loaded.handlers("PreToolUse", "Bash")[0]


def test_a_handler_without_a_timeout_gets_sixty_seconds_not_ten_minutes():
    assert handler("true").timeout_s == 60
    assert handler("true", timeout=5).timeout_s == 5


async def test_a_hook_whose_child_keeps_stdout_open_is_stopped_at_its_timeout(tmp_path):
    pidfile = tmp_path / "child.pid"
    # The hook exits at once, but a child it left holds stdout open: reading to EOF would never end.
    command = f"sleep 30 & echo $! > {pidfile}; echo started"
    started = time.monotonic()
    outcome = await (runner.run(handler(command, timeout=1), {}, cwd=str(tmp_path), env=dict(os.environ)))
    assert time.monotonic() - started < 5
    assert outcome.failure == "timed out after 1s"
    child = int(pidfile.read_text())
    await asyncio.sleep(0.2)
    state = Path(f"/proc/{child}/stat")
    assert not state.exists() or state.read_text().split(") ")[1][0] == "Z"  # its whole group was killed
