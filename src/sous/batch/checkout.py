"""A task's own checkout, and the patch of what changed in it.

A local repository is cloned with `git clone --shared`: the clone borrows the source's objects
read-only (no copy, a few tens of milliseconds) and writes its own objects, refs and index in its
own folder. A `git worktree` would be as cheap but writes into the source repository (its worktree
registry, and every object and commit the task makes); the shared clone leaves the source byte for
byte untouched and leaves no branch behind. Its `origin` remote is removed so the agent cannot push
into the source by accident. A URL is cloned in full (`git clone`), origin kept.

The patch is taken between two snapshots written with a private index (`GIT_INDEX_FILE`), so
neither the checkout's index nor its history is disturbed: one after setup, one after the agent.
It holds every change of the agent's — edits, new files, deletions, commits — but not files
ignored by `.gitignore`, and not what setup changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sous.batch.tasks import is_url
from sous.records import record

_GIT_TIMEOUT = 300


class CheckoutError(Exception):
    """The checkout could not be made; the message says why in one line."""


def _git(cwd: str | Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    run = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=_GIT_TIMEOUT,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
    )
    if check and run.returncode != 0:
        detail = (run.stderr.strip() or run.stdout.strip()).splitlines()
        raise CheckoutError(f"git {args[0]} failed: {detail[-1] if detail else f'exit {run.returncode}'}")
    return run.stdout


@record
class Checkout:
    path: Path
    """The checkout's folder; the task's commands and the agent run here."""
    commit: str
    """The commit checked out (the task's `ref`, resolved)."""

    @classmethod
    def create(cls, repo: str, ref: str | None, dest: Path) -> Checkout:
        """Make the checkout at `dest` (which must not exist). Raises `CheckoutError`."""
        if is_url(repo):
            _git(dest.parent, "clone", "--quiet", "--no-checkout", repo, str(dest))
            target = ref or "HEAD"
            commit = _resolve(dest, target) or _resolve(dest, f"origin/{target}")
            if commit is None:
                raise CheckoutError(f"{repo}: no commit, branch or tag named {target!r}")
        else:
            if not Path(repo).is_dir():
                raise CheckoutError(f"{repo}: no such folder")
            if _git(repo, "rev-parse", "--is-inside-work-tree", check=False).strip() != "true":
                raise CheckoutError(f"{repo}: not a git repository")
            commit = _resolve(repo, ref or "HEAD")
            if commit is None:
                raise CheckoutError(
                    f"{repo}: no commit, branch or tag named {ref!r}"
                    if ref
                    else f"{repo}: the repository has no commit yet"
                )
            top = _git(repo, "rev-parse", "--show-toplevel").strip()
            _git(dest.parent, "clone", "--quiet", "--shared", "--no-checkout", top, str(dest))
            _git(dest, "remote", "remove", "origin")
        _git(dest, "checkout", "--quiet", "--detach", commit)
        return cls(path=dest, commit=commit)

    def snapshot(self) -> str:
        """The tree of everything in the checkout now (tracked or not, minus ignored files), written
        through a private index so that the checkout's own index stays as the agent left it."""
        env = {"GIT_INDEX_FILE": str(self.path.parent / "snapshot.index")}
        _git(self.path, "read-tree", "HEAD", env=env)
        _git(self.path, "add", "--all", env=env)
        return _git(self.path, "write-tree", env=env).strip()

    def diff(self, before: str, after: str) -> bytes:
        """The patch from tree `before` to tree `after`, binary files included (`git apply` takes
        it), as bytes: a file's content need not be UTF-8."""
        run = subprocess.run(
            ["git", "diff", "--binary", "--no-color", "--no-ext-diff", before, after],
            cwd=self.path,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
        )
        if run.returncode != 0:
            raise CheckoutError(f"git diff failed: {run.stderr.decode('utf-8', 'replace').strip()}")
        return run.stdout

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _resolve(cwd: str | Path, ref: str) -> str | None:
    out = _git(cwd, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
    return out or None
