"""Added working folders: `--add-dir DIR`, `permissions.additionalDirectories` and `/add-dir`.

An added folder is a working folder as the project is: the file tools read it without asking and,
in acceptEdits mode, edit it; Bash's file checks and the sandbox's writable folders include it.
It widens exactly that folder. It is resolved once, when it is added, the way the project folder
is (relative to the working folder, `~` expanded, symlinks followed), and a path counts as inside
only when it resolves there (`targets.inside`): neither `..` nor a symlink leads out of it, and
its parent gains nothing. The safety floor stays as it is: protected files (`.git/`, `.claude/`,
shell start-up files) ask for a typed yes wherever they are, and so does a recursive delete of a
whole added folder, of the home folder or of `/`. git counts as read-only in the project only,
since an added folder may be another repository, whose config runs programs.

Memory files (CLAUDE.md) in added folders are read only with
`CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD=1`, as in Claude Code.

A project's own settings files may list folders too, but a cloned repository must not open the
user's files to the model unasked (`"additionalDirectories": ["~"]` would hand it every key and
every other project): as in Claude Code, where they need the workspace trust dialog, such entries
are used only once the person has approved them (`sous trust`, see `permissions.trust`), and the
approval names the folder each one resolves to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sous.core import ConfigError, Notice


def resolve_dir(given: str, base: str, environ: Mapping[str, str] = os.environ) -> str:
    """The real path of the folder `given` names (relative to `base`, `~` the home folder), or
    ValueError with one line saying why it cannot be added."""
    if not given.strip() or "\0" in given:
        raise ValueError(f"{given!r} names no directory")
    home = environ.get("HOME") or os.path.expanduser("~")
    path = home + given[1:] if given == "~" or given.startswith("~/") else given
    real = os.path.realpath(os.path.join(base, path))
    if not os.path.exists(real):
        raise ValueError(f"{given}: no such directory")
    if not os.path.isdir(real):
        raise ValueError(f"{given}: not a directory")
    return real


def covered(path: str, roots: list[str]) -> str | None:
    """The working folder among `roots` (resolved) that already holds `path` (resolved), or None."""
    for root in roots:
        real = os.path.realpath(root)
        if path == real or path.startswith(real.rstrip(os.sep) + os.sep):
            return root
    return None


def settings_dirs(permissions: object) -> list[str]:
    """The `additionalDirectories` strings of one settings layer's `permissions` object."""
    if not isinstance(permissions, dict):
        return []
    value = permissions.get("additionalDirectories")
    return [d for d in value if isinstance(d, str)] if isinstance(value, list) else []


def collect(
    flags: list[str],
    configured: Any,
    cwd: str,
    *,
    environ: Mapping[str, str],
    settings: Any,
    project_trust: Any,
    left_out: list[Any],
    notices: list[Notice],
) -> list[str]:
    """The session's added working folders, resolved: the `--add-dir` `flags` (one that is not a
    directory stops the start with `ConfigError`), then `permissions.additionalDirectories`
    (`configured`: one that is not a directory is left out with a warning in `notices`; the
    project's own files' entries only once approved, the others added to `left_out`). A folder
    inside one listed before, or inside the project, adds nothing and is left out."""
    listed: list[str] = []
    if configured or project_trust is not None:  # None: the project's files name nothing (runtime.trusted)
        from . import trust  # trust reads this module: imported here, not at the top

        listed, pending = trust.trusted_dirs(configured, project_trust, environ, settings)
        left_out += pending
    out: list[str] = []
    for given, from_flag in [*((f, True) for f in flags), *((d, False) for d in listed)]:
        try:
            path = resolve_dir(given, cwd, environ)
        except ValueError as e:
            if from_flag:
                raise ConfigError(f"--add-dir {e}") from e
            notices.append(Notice(level="warning", text=f"permissions.additionalDirectories: {e}; left out"))
            continue
        if covered(path, [cwd, *out]) is None:
            out.append(path)
    return out
