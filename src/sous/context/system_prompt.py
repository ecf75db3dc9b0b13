"""The system prompt: a short text of ours (prompts/system.md) plus facts about the workspace."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime

TEMPLATE = Path(__file__).parent / "prompts" / "system.md"
"""Read as a plain file, not through importlib.resources (whose zip support costs start-up time):
sous is installed as files."""


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
    asked: list[subprocess.Popen[str]] = []  # both at once: the prompt waits for the slower one only
    try:
        for command in (["git", "status", "--short", "--branch"], ["git", "log", "--oneline", "-3"]):
            asked.append(
                subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            )
        status, log = (proc.communicate(timeout=3)[0] for proc in asked)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    finally:
        for proc in asked:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    status_lines, log = status.splitlines(), log.strip()
    if not status_lines:
        return ""
    branch, changes = status_lines[0].removeprefix("## "), status_lines[1:]
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


def build(
    cwd: str,
    *,
    append: str = "",
    replace: str | None = None,
    today: datetime.date | None = None,
    added_dirs: list[str] | tuple[str, ...] = (),
) -> str:
    """The system prompt for a session in `cwd`. `replace` swaps our text for the caller's;
    `append` is added at the end (`--append-system-prompt`); `added_dirs` are named beside the
    working directory (`--add-dir`)."""
    if replace is not None:
        text = replace
    else:
        template = TEMPLATE.read_text("utf-8")
        is_git = git_root(cwd) is not None
        system = os.uname()  # what platform.system() and platform.release() say, without importing platform
        text = template.format(
            cwd=cwd,
            added_dirs="".join(f"\n- Additional working directory: {d}" for d in added_dirs),
            platform=f"{system.sysname} {system.release} ({os.environ.get('SHELL', 'sh')})",
            date=today.isoformat() if today is not None else time.strftime("%Y-%m-%d"),
            is_git="yes" if is_git else "no",
            git_status=git_summary(cwd) if is_git else "",
        ).rstrip()
    if append:
        text += "\n\n" + append.strip()
    return text
