"""WorktreeCreate and WorktreeRemove: hooks that make and remove an isolated agent's checkout.

As in Claude Code, a configured WorktreeCreate hook replaces `git worktree add` (for another
version-control system, or a checkout made elsewhere): it gets `name` and answers with the folder,
as the last line a command printed or an http handler's `hookSpecificOutput.worktreePath`; a
relative path is taken from the session's folder. Any handler that fails (a non-zero exit, exit 2
included) makes the creation fail. WorktreeRemove gets `worktree_path` when the agent is done with
a folder a WorktreeCreate hook made; without one, that folder is left in place and named.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sous.core import ToolError

if TYPE_CHECKING:
    from . import HookMiddleware
    from .runner import Outcome


def _path_in(outcome: Outcome) -> str:
    data = outcome.output
    specific = data.get("hookSpecificOutput") if data is not None else None
    if isinstance(specific, dict) and isinstance(specific.get("worktreePath"), str):
        return specific["worktreePath"].strip()
    if data is not None:
        return ""
    lines = [line.strip() for line in outcome.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _why(outcome: Outcome) -> str:
    if outcome.failure:
        return outcome.failure
    detail = (outcome.stderr.strip() or outcome.stdout.strip() or "no output")[:300]
    return f"exit code {outcome.exit_code}: {detail}"


async def create(hooks: HookMiddleware, name: str) -> str | None:
    """The folder the WorktreeCreate hooks made for `name`, or None when none is configured (git
    then makes the checkout). Raises `ToolError` when a hook fails or names no existing folder."""
    if not hooks.config.handlers("WorktreeCreate"):
        return None
    _, outcomes = await hooks.fire_with_outcomes("WorktreeCreate", None, {"name": name})
    if failed := [o for o in outcomes if o.failure or o.exit_code != 0]:
        raise ToolError("WorktreeCreate hook failed: " + "; ".join(f"{o.handler.label}: {_why(o)}" for o in failed))
    path = next((found for o in outcomes if (found := _path_in(o))), "")
    if not path:
        raise ToolError(
            "WorktreeCreate hook failed: it succeeded but gave no worktree path (print it as the last line)"
        )
    path = os.path.normpath(os.path.join(hooks.cwd, os.path.expanduser(path)))
    if not os.path.isdir(path):
        raise ToolError(f"WorktreeCreate hook failed: it gave {path}, which is not a folder")
    return path


async def remove(hooks: HookMiddleware, path: str) -> str:
    """Hand `path`, a folder a WorktreeCreate hook made, to the WorktreeRemove hooks; one line
    saying what became of it."""
    if not hooks.config.handlers("WorktreeRemove"):
        return f"[worktree: the agent worked in {path}, made by a WorktreeCreate hook; it is left in place]"
    _, outcomes = await hooks.fire_with_outcomes("WorktreeRemove", None, {"worktree_path": path})
    if failed := [o for o in outcomes if o.failure or o.exit_code != 0]:
        reasons = "; ".join(f"{o.handler.label}: {_why(o)}" for o in failed)
        return f"[worktree: the agent worked in {path}; the WorktreeRemove hook failed ({reasons})]"
    gone = "removed" if not os.path.exists(path) else "handed to the WorktreeRemove hook"
    return f"[worktree: the agent worked in {path}, made by a WorktreeCreate hook; {gone}]"
