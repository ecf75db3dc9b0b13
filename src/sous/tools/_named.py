"""Files inside a project that its configuration names as programs to run (a hook script, an MCP
server, git's hooks folder, fsmonitor or an included config): they run outside the sandbox later,
as much as the configuration itself does, so `_sandbox` keeps them read-only, and holds the
missing ones with stand-ins so a sandboxed command cannot plant them."""

from __future__ import annotations

import json
import os
import re

CONFIGS = (
    ".git/config",
    ".git/config.worktree",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".sous/settings.json",
    ".sous/settings.local.json",
    ".mcp.json",
)
"""The project's configuration that names programs to run (hooks, MCP servers, fsmonitor,
hooksPath, includes); the user's own is read too (`_user_configs`)."""
MAX_NAMED = 256

_PROGRAM_KEYS = {
    "command",
    "args",
    "cmd",
    "program",
    "hookspath",
    "fsmonitor",
    "path",
    "sshcommand",
    "editor",
    "pager",
    "askpass",
    "textconv",
    "clean",
    "smudge",
    "process",
    "external",
}
"""Keys whose value is run (or, for git's `include.path`, read as configuration): a missing file
they name is held. Other values (a URL, a branch's ref, a permission rule's glob) are only
protected when they name a file that exists."""
_SHELL_BREAKS = re.compile(r"[\s;&|()<>`]+")
_NOT_A_PLAIN_PATH = re.compile(r"[*?\[\]{}$~=:]")


def named_files(root: str) -> list[tuple[str, bool]]:
    """(path, exists) for each file inside `root` its configuration names, and git's
    `core.hooksPath` folder; a missing one only when a key that runs it names it with a plain
    relative path (`tools/check.sh`, `$CLAUDE_PROJECT_DIR/x.py`; git's hooks folder by any name).
    A folder named otherwise (an MCP server's working folder, say) stays writable."""
    words: list[tuple[str, str, bool]] = []  # (word, its key lowercased, from git's configuration)
    for config in (*(os.path.join(root, rel) for rel in CONFIGS), *_user_configs()):
        try:
            with open(config, encoding="utf-8", errors="replace") as f:
                text = f.read(1_000_000)
        except OSError:
            continue
        if config.endswith(".json"):
            try:
                words += [(w, key, False) for key, value in _strings(json.loads(text), "") for w in _words(value)]
            except ValueError:
                continue
        else:
            for line in text.splitlines():
                key, eq, value = line.partition("=")
                key = key.strip().lower()
                words += [(w, key, True) for w in _words(value)] if eq else []
    git = os.path.join(root, ".git")
    named: dict[str, bool] = {}
    for word, key, from_git in words[: MAX_NAMED * 8]:
        word = word.replace("${CLAUDE_PROJECT_DIR}", root).replace("$CLAUDE_PROJECT_DIR", root)
        if not word or word.startswith("-"):
            continue
        folder = key == "hookspath"
        # where a missing name would be looked for: git reads an include beside its config file
        missing_base = git if from_git and key == "path" else root
        for base in (root, git):
            path = os.path.realpath(os.path.join(base, os.path.expanduser(word)))
            if path == root or not _inside(path, root):
                continue
            if os.path.isfile(path) or folder and os.path.isdir(path):
                named[path] = True  # (a program named twice may be reached through other symlinks)
                for holder in _link_folders(os.path.join(base, os.path.expanduser(word)), root):
                    named.setdefault(holder, True)
            elif (
                path not in named
                and base == missing_base
                and key in _PROGRAM_KEYS
                and not os.path.lexists(path)
                and (folder or "/" in word)
                and not _NOT_A_PLAIN_PATH.search(word.removeprefix(root))
            ):
                named[path] = False
    return list(named.items())[:MAX_NAMED]


def _link_folders(lexical: str, root: str) -> list[str]:
    """The folders inside `root` (not `root` itself) that hold a symlink on the way to `lexical`:
    the symlink could be pointed elsewhere while its target is read-only, so its folder is held.
    (A symlink right in `root` cannot be held this way.)"""
    lexical = os.path.normpath(lexical)
    if not _inside(lexical, root) or lexical == root:
        return []
    holders, here = [], root
    for part in os.path.relpath(lexical, root).split(os.sep):
        here = os.path.join(here, part)
        if os.path.islink(here):
            parent = os.path.realpath(os.path.dirname(here))
            if parent != root and _inside(parent, root):
                holders.append(parent)
            here = os.path.realpath(here)
    return holders


def _user_configs() -> list[str]:
    """The user's own configuration, which names project files too: a relative `core.hooksPath`
    in the global git config is a folder of every repository, and a user-level hook may run
    `$CLAUDE_PROJECT_DIR/...`."""
    from sous.paths import config_dir

    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return [
        "/etc/gitconfig",
        os.path.join(home, ".gitconfig"),
        os.path.join(xdg, "git", "config"),
        os.path.join(home, ".claude", "settings.json"),
        str(config_dir() / "settings.json"),
    ]


def _words(value: str) -> list[str]:
    """The words of a command line as a shell would see them, near enough: quotes dropped
    (`"$CLAUDE_PROJECT_DIR"/x.sh` names x.sh), split at blanks and operators."""
    return [w for w in _SHELL_BREAKS.split(value.replace('"', "").replace("'", "")) if w]


def _strings(value, key: str) -> list[tuple[str, str]]:
    """Every string in a JSON value, with the (lowercased) key it is under; a list's items are
    under the list's key."""
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, str(k).lower())]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, key)]
    return []


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
