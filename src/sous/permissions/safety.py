"""The safety floor: what asks for a typed confirmation in every mode, bypassPermissions included.

- a recursive delete (`rm -r`, `rm -rf`), `chmod -R` or `chown -R`/`chgrp -R` that reaches outside
  the project, the project folder itself, or the home directory;
- overwriting an existing file outside the project (Write/Edit, or a `>`/`>>` redirection), and,
  outside bypass mode, any write outside the project;
- writing protected files anywhere (see `protected`): files that run or grant later without a
  prompt — `.git/` internals, shell start-up files, `.mcp.json`, the `.claude/` and `.sous/`
  folders, `~/.ssh/` — whatever the writer (the file tools, or a command's written files).

Only an allow rule cannot lift it; the person can, by typing the confirmation.
"""

from __future__ import annotations

import os
from typing import Any

from sous import paths

from .rules import EDIT_TOOLS
from .shell import Analysis

SHELL_STARTUP = {".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zprofile",
                 ".zshenv", ".zlogin", ".zlogout", ".cshrc", ".tcshrc", ".kshrc", "config.fish"}
SETTINGS_FOLDERS = {".sous", ".claude"}
RUNS_LATER = {".mcp.json": "starts MCP servers at the next start", ".claude.json": "holds MCP servers",
              ".envrc": "is run by direnv on entering the folder", ".gitconfig": "is git configuration"}
_RECURSIVE = {"-r", "-R", "--recursive"}
_OWNERSHIP = {"chmod", "chown", "chgrp"}


def _resolve(path: str, cwd: str, home: str) -> str:
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    return os.path.realpath(os.path.join(cwd, path))


def _inside(path: str, root: str) -> bool:
    root = os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def protected(path: str, home: str, *, state_dir: str | None = None) -> str | None:
    """Why writing `path` (absolute, symlinks already resolved) is protected, or None.

    Protected are the files whose content runs or grants later, with no prompt: `.git/` internals
    (hooks, config), git's user config, shell start-up files, `~/.ssh/`, the `.claude/` and
    `.sous/` folders anywhere (settings, hooks, agents, commands and skills: a command's
    `allowed-tools` grants permissions when run, its `!` lines run at expansion), `.mcp.json`,
    `~/.claude.json`, `.envrc` (direnv runs it on `cd`), `.vscode/tasks.json` (tasks may run when
    the folder opens), `.husky/` (git hooks by another name) and sous's own state folder
    (`state_dir`, default `$SOUS_HOME` or `~/.sous`: project trust lives there). Worktrees that
    Claude Code keeps under `.claude/worktrees/NAME/` are projects of their own: the rest of
    their path is checked the same way."""
    parts = path.split(os.sep)
    name = parts[-1]
    real_home = os.path.realpath(home)
    if ".git" in parts[:-1] or name == ".git":
        return f"{path} is inside a .git folder"
    if name in SHELL_STARTUP and (os.path.dirname(path) == real_home or "fish" in parts):
        return f"{path} is a shell start-up file"
    scan = parts[:-1]
    for i in range(len(parts) - 4, -1, -1):
        if parts[i] == ".claude" and parts[i + 1] == "worktrees":
            scan = parts[i + 3:-1]
            break
    if folder := next((part for part in scan if part in SETTINGS_FOLDERS), None) or \
            (name in SETTINGS_FOLDERS and name):
        return f"{path} is in a {folder} folder, whose files configure what runs and what is allowed"
    if name in RUNS_LATER:
        return f"{path} {RUNS_LATER[name]}"
    if name == "tasks.json" and len(parts) > 1 and parts[-2] == ".vscode":
        return f"{path} defines editor tasks, which may run when the folder is opened"
    if ".husky" in parts[:-1]:
        return f"{path} is a git hook (husky)"
    for folder, why in ((".ssh", "holds SSH keys and the keys allowed to log in"),
                        (os.path.join(".config", "git"), "is git's user configuration")):
        if _inside(path, os.path.join(real_home, folder)):
            return f"{path} {why}"
    state = os.path.realpath(state_dir if state_dir is not None else str(paths.config_dir()))
    if _inside(path, state):
        return f"{path} is in sous's own settings folder"
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
    """Writing goes where the symlinks lead, so the resolved path decides; the path as given is
    checked for protection too (a link named `.mcp.json` is still read as one)."""
    resolved = _resolve(path, cwd, home)
    given = os.path.abspath(os.path.join(cwd, home + path[1:] if path == "~" or path.startswith("~/") else path))
    if why := protected(resolved, home) or protected(given, home):
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
