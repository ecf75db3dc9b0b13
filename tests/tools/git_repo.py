"""A git repository with one commit, as the sandbox tests' project: shared by the tests of what a
sandboxed command may change in a checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with a committer of its own; its standard output."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def repository(tmp_path: Path) -> Path:
    """`tmp_path/project`: a git repository whose one commit holds a README."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README").write_text("hello\n")
    git(root, "add", "README")
    git(root, "commit", "-qm", "first")
    return root
