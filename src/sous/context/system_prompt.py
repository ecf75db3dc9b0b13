"""The system prompt: a short text of ours (prompts/system.md) plus facts about the workspace."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib import resources
from pathlib import Path


def git_root(cwd: str) -> Path | None:
    for folder in (Path(cwd), *Path(cwd).parents):
        if (folder / ".git").exists():
            return folder
    return None


def git_summary(cwd: str, max_lines: int = 20) -> str:
    """Branch, changed files (at most `max_lines`) and the last three commits, or "" when this is
    not a git repository or git is not installed."""
    if git_root(cwd) is None:
        return ""
    try:
        status = subprocess.run(
            ["git", "status", "--short", "--branch"], cwd=cwd, capture_output=True, text=True, timeout=3
        ).stdout.splitlines()
        log = subprocess.run(
            ["git", "log", "--oneline", "-3"], cwd=cwd, capture_output=True, text=True, timeout=3
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if not status:
        return ""
    branch, changes = status[0].removeprefix("## "), status[1:]
    lines = [f"- Git branch: {branch}"]
    if changes:
        shown = changes[:max_lines]
        more = f"\n  ... and {len(changes) - max_lines} more" if len(changes) > max_lines else ""
        lines.append("- Git status (at session start):\n  " + "\n  ".join(shown) + more)
    else:
        lines.append("- Git status: clean")
    if log:
        lines.append("- Recent commits:\n  " + log.replace("\n", "\n  "))
    return "\n".join(lines)


def build(cwd: str, *, append: str = "", replace: str | None = None, today: datetime.date | None = None) -> str:
    """The system prompt for a session in `cwd`. `replace` swaps our text for the caller's;
    `append` is added at the end (`--append-system-prompt`)."""
    if replace is not None:
        text = replace
    else:
        template = (resources.files("sous.context") / "prompts" / "system.md").read_text("utf-8")
        is_git = git_root(cwd) is not None
        text = template.format(
            cwd=cwd,
            platform=f"{platform.system()} {platform.release()} ({os.environ.get('SHELL', 'sh')})",
            date=(today or datetime.date.today()).isoformat(),
            is_git="yes" if is_git else "no",
            git_status=git_summary(cwd) if is_git else "",
        ).rstrip()
    if append:
        text += "\n\n" + append.strip()
    return text
