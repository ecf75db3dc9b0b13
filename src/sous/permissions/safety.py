"""The safety floor: what asks for a typed confirmation in every mode, bypassPermissions included.

- a recursive delete (`rm -r`, `rm -rf`), `chmod -R` or `chown -R`/`chgrp -R` that reaches outside
  the project, the project folder itself, or the home directory;
- overwriting an existing file outside the project (Write/Edit, or a `>`/`>>` redirection), and,
  outside bypass mode, any write outside the project;
- writing protected files anywhere: `.git/` internals, shell start-up files, and sous's and
  Claude Code's settings (the model must not grant itself permissions or hooks).

Only an allow rule cannot lift it; the person can, by typing the confirmation.
"""

from __future__ import annotations

import os
from typing import Any

from .rules import EDIT_TOOLS
from .shell import Analysis

SHELL_STARTUP = {".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zprofile", ".zshenv", ".zlogin",
                 ".cshrc", ".tcshrc", ".kshrc", "config.fish"}
SETTINGS_FOLDERS = {".sous", ".claude"}
_RECURSIVE = {"-r", "-R", "--recursive"}
_OWNERSHIP = {"chmod", "chown", "chgrp"}


def _resolve(path: str, cwd: str, home: str) -> str:
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    return os.path.realpath(os.path.join(cwd, path))


def _inside(path: str, root: str) -> bool:
    root = os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def protected(path: str, home: str) -> str | None:
    """Why writing `path` (already resolved) is protected, or None."""
    parts = path.split(os.sep)
    if ".git" in parts[:-1] or parts[-1] == ".git":
        return f"{path} is inside a .git folder"
    name = parts[-1]
    if name in SHELL_STARTUP and (os.path.dirname(path) == os.path.realpath(home) or "fish" in parts):
        return f"{path} is a shell start-up file"
    if len(parts) > 1 and parts[-2] in SETTINGS_FOLDERS and (name.startswith("settings") and name.endswith(".json")):
        return f"{path} holds permission settings"
    if len(parts) > 2 and parts[-3] in SETTINGS_FOLDERS and parts[-2] == "hooks":
        return f"{path} is a hook script, which runs with your rights"
    return None


def _flags(words: list[str]) -> set[str]:
    flags: set[str] = set()
    for word in words[1:]:
        if word == "--":
            break
        if word.startswith("--"):
            flags.add(word)
        elif word.startswith("-") and len(word) > 1:
            flags.update("-" + c for c in word[1:])
    return flags


def _targets(words: list[str]) -> list[str]:
    out, options_done = [], False
    for word in words[1:]:
        if word == "--" and not options_done:
            options_done = True
        elif options_done or not word.startswith("-"):
            out.append(word)
    return out


def _reach(target: str, cwd: str, project: str, home: str) -> str | None:
    """Why a recursive operation on `target` reaches too far, or None."""
    if any(c in target for c in "$`"):
        return f"{target} is only known at run time"
    path = _resolve(target.rstrip("*") or ".", cwd, home)
    if path in (os.path.realpath(home), os.sep):
        return f"{target} is {'your home directory' if path != os.sep else 'the root directory'}"
    if path == os.path.realpath(project):
        return f"{target} is the whole project"
    if not _inside(path, project):
        return f"{target} is outside the project"
    return None


def _write_problem(path: str, cwd: str, project: str, home: str, mode: str) -> str | None:
    resolved = _resolve(path, cwd, home)
    if why := protected(resolved, home):
        return why
    if _inside(resolved, project):
        return None
    if os.path.exists(resolved):
        return f"it overwrites {path}, outside the project"
    if mode != "bypassPermissions":
        return f"it writes {path}, outside the project"
    return None


def check(tool: str, args: dict[str, Any], analysis: Analysis | None, *, cwd: str, project_dir: str, mode: str,
          home: str) -> str | None:
    """The reason this call needs a typed confirmation, or None."""
    if tool in EDIT_TOOLS:
        path = args.get("file_path") or args.get("notebook_path")
        return _write_problem(path, cwd, project_dir, home, mode) if isinstance(path, str) and path else None
    if tool != "Bash" or analysis is None:
        return None
    for words in analysis.commands:
        head = words[0].rsplit("/", 1)[-1] if words else ""
        if head in ("sudo", "doas") and len(words) > 1:
            head, words = words[1].rsplit("/", 1)[-1], words[1:]
        recursive = _RECURSIVE & _flags(words)
        if (head == "rm" and recursive) or (head in _OWNERSHIP and recursive):
            for target in _targets(words)[1 if head in _OWNERSHIP else 0:]:
                if why := _reach(target, cwd, project_dir, home):
                    return f"`{' '.join(words)}`: a recursive {head} where {why}"
    for path in analysis.writes:
        if why := _write_problem(path, cwd, project_dir, home, mode):
            return f"the command writes a file: {why}"
    return None
