"""Git worktrees for isolated sub-agents: a sub-agent with `isolation: worktree` works in a fresh
checkout of HEAD on its own branch; when it is done its changes are committed on that branch and
the checkout is removed, so the parent gets a branch to look at or merge, and its tree is untouched.

Git runs as an asyncio subprocess: a large checkout takes seconds, and the terminal and the other
agents go on meanwhile.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sous.core import ToolError
from sous.records import record

_IDENTITY = ["-c", "user.name=sous", "-c", "user.email=sous@localhost"]
GIT_TIMEOUT_S = 60.0


@record
class GitResult:
    returncode: int
    stdout: str
    stderr: str


async def _git(cwd: str, *args: str, identity: bool = False) -> GitResult:
    """Run one git command; a command that outlives `GIT_TIMEOUT_S` is killed and reported as failed."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        *(_IDENTITY if identity else []),
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return GitResult(returncode=-1, stdout="", stderr=f"git {args[0]} took longer than {GIT_TIMEOUT_S:.0f} s")
    except asyncio.CancelledError:
        proc.kill()
        await proc.wait()
        raise
    return GitResult(
        returncode=proc.returncode or 0, stdout=out.decode(errors="replace"), stderr=err.decode(errors="replace")
    )


@record
class Worktree:
    repo: str
    path: str
    branch: str
    by_hook: bool = False
    """Made by a WorktreeCreate hook, not by git: no branch, and `finish` is the hooks' to do."""

    async def finish(self, message: str) -> str:
        """Commit what the agent changed on its branch, remove the checkout, and say where it is."""
        await _git(self.path, "add", "-A")
        changed = (await _git(self.path, "diff", "--cached", "--quiet")).returncode != 0
        if changed:
            has_identity = (await _git(self.path, "config", "user.email")).returncode == 0
            await _git(self.path, "commit", "-q", "-m", message, identity=not has_identity)
        await _git(self.repo, "worktree", "remove", "--force", self.path)
        if not changed:
            await _git(self.repo, "branch", "-D", self.branch)
            return "[worktree: the agent changed nothing]"
        stat = (await _git(self.repo, "diff", "--stat", f"HEAD...{self.branch}")).stdout.strip()
        return f"[worktree: the changes are committed on branch {self.branch}]\n{stat}"


async def create(cwd: str, agent_id: str) -> Worktree:
    """A new checkout of HEAD on branch `sous/agent-<id>`; raises `ToolError` outside a repository."""
    top = await _git(cwd, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise ToolError("isolation: worktree needs a git repository, and this folder is not in one")
    repo = top.stdout.strip()
    branch = f"sous/agent-{agent_id}"
    path = str(Path(tempfile.mkdtemp(prefix="sous-worktree-")) / agent_id)
    made = await _git(repo, "worktree", "add", "-q", "-b", branch, path, "HEAD")
    if made.returncode != 0:
        raise ToolError(f"could not create a worktree: {made.stderr.strip()[:300]}")
    return Worktree(repo=repo, path=path, branch=branch)
