"""Worktrees for isolated sub-agents: git runs without stopping the event loop."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sous import worktree
from sous.core import ToolError


def _repo(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "README.md").write_text("demo\n")
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init"], cwd=root, check=True
    )
    return root


def _slow_git(folder: Path, delay_s: float) -> None:
    """A `git` first on PATH that waits before running the real one."""
    folder.mkdir()
    script = folder / "git"
    script.write_text(
        f"#!{sys.executable}\nimport os, sys, time\ntime.sleep({delay_s})\n"
        f"os.execv({shutil.which('git')!r}, ['git', *sys.argv[1:]])\n"
    )
    script.chmod(0o755)


async def test_git_work_leaves_the_event_loop_free(tmp_path, monkeypatch):
    repo = _repo(tmp_path / "repo")
    _slow_git(tmp_path / "bin", 0.3)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    try:
        tree = await worktree.create(str(repo), "a1")
        (Path(tree.path) / "new.txt").write_text("x\n")
        report = await tree.finish("add new.txt")
    finally:
        task.cancel()
    assert "committed on branch sous/agent-a1" in report
    # Two git commands for create and at least six for finish, each 0.3 s: the loop ticked meanwhile.
    assert ticks >= 40, ticks


async def test_outside_a_repository_is_one_clear_error(tmp_path):
    with pytest.raises(ToolError, match="needs a git repository"):
        await worktree.create(str(tmp_path), "a2")
