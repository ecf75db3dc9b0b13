"""Where sous keeps its state.

`SOUS_HOME`, when set, relocates everything (settings, sessions, logs). Otherwise user settings
live in `~/.sous/` (beside Claude Code's `~/.claude/`) and sessions in the platform's user data
directory (e.g. `~/.local/share/sous` on Linux).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

SHELL_STARTUP = frozenset(
    {
        ".bashrc",
        ".bash_profile",
        ".bash_login",
        ".bash_logout",
        ".profile",
        ".zshrc",
        ".zshenv",
        ".zprofile",
        ".zlogin",
        ".zlogout",
        ".cshrc",
        ".tcshrc",
        ".kshrc",
        ".xprofile",
        ".xsessionrc",
        ".pam_environment",
    }
)
"""Files in a home folder that a shell or a login session runs or reads at its start: whoever writes
one runs code as the user later. One list for the permission floor and the sandbox."""


def config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """User-level settings, agents, commands: `$SOUS_HOME` or `~/.sous`."""
    if home := environ.get("SOUS_HOME"):
        return Path(home)
    return Path(environ.get("HOME") or Path.home()) / ".sous"


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Sessions and logs: `$SOUS_HOME` or the platform's user data dir."""
    if home := environ.get("SOUS_HOME"):
        return Path(home)
    import platformdirs

    return Path(platformdirs.user_data_dir("sous", appauthor=False))


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Large files sous can rebuild (the assembled offline model): `$SOUS_CACHE_DIR` or the
    platform's user cache dir. Not under SOUS_HOME, so isolated sessions share one copy."""
    if folder := environ.get("SOUS_CACHE_DIR"):
        return Path(folder)
    import platformdirs

    return Path(platformdirs.user_cache_dir("sous", appauthor=False))


def sessions_dir(cwd: str | Path, environ: Mapping[str, str] = os.environ) -> Path:
    """The folder holding the session files of one project (named after its path)."""
    return data_dir(environ) / "sessions" / project_slug(cwd)


def project_slug(cwd: str | Path) -> str:
    slug = re.sub(r"[^A-Za-z0-9]", "-", str(Path(cwd).resolve()))
    if len(slug) > 200:
        import hashlib

        slug = slug[:180] + "-" + hashlib.sha1(slug.encode()).hexdigest()[:12]
    return slug
