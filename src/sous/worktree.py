"""Git worktrees for isolated sub-agents: a sub-agent with `isolation: worktree` works in a fresh
checkout of HEAD on its own branch; when it is done its changes are committed on that branch and
the checkout is removed, so the parent gets a branch to look at or merge, and its tree is untouched.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sous.core import ToolError

_IDENTITY = ["-c", "user.name=sous", "-c", "user.email=sous@localhost"]


def _git(cwd: str, *args: str, identity: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *(_IDENTITY if identity else []), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


@dataclass(frozen=True, slots=True)
class Worktree:
    repo: str
    path: str
    branch: str

    def finish(self, message: str) -> str:
        """Commit what the agent changed on its branch, remove the checkout, and say where it is."""
        _git(self.path, "add", "-A")
        changed = _git(self.path, "diff", "--cached", "--quiet").returncode != 0
        if changed:
            has_identity = _git(self.path, "config", "user.email").returncode == 0
            _git(self.path, "commit", "-q", "-m", message, identity=not has_identity)
        _git(self.repo, "worktree", "remove", "--force", self.path)
        if not changed:
            _git(self.repo, "branch", "-D", self.branch)
            return "[worktree: the agent changed nothing]"
        stat = _git(self.repo, "diff", "--stat", f"HEAD...{self.branch}").stdout.strip()
        return f"[worktree: the changes are committed on branch {self.branch}]\n{stat}"


def create(cwd: str, agent_id: str) -> Worktree:
    top = _git(cwd, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise ToolError("isolation: worktree needs a git repository, and this folder is not in one")
    repo = top.stdout.strip()
    branch = f"sous/agent-{agent_id}"
    path = str(Path(tempfile.mkdtemp(prefix="sous-worktree-")) / agent_id)
    made = _git(repo, "worktree", "add", "-q", "-b", branch, path, "HEAD")
    if made.returncode != 0:
        raise ToolError(f"could not create a worktree: {made.stderr.strip()[:300]}")
    return Worktree(repo=repo, path=path, branch=branch)
