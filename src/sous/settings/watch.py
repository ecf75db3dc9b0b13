"""Which settings files changed on disk since the session last looked.

Claude Code watches its settings files and fires ConfigChange when one changes. sous looks at
turn boundaries instead of watching: one `stat` per file, no thread. A file that appears or
disappears counts as a change. Each file is named by Claude Code's ConfigChange `source`
(`user_settings`, `project_settings`, `local_settings`, `policy_settings`); a `--settings` file
has no such name, so it is not watched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sous.paths import config_dir

_Stamp = tuple[int, int, int] | None
"""A file's modification time, size and inode, or None when it does not exist."""


def settings_sources(
    cwd: str | Path, environ: Mapping[str, str] = os.environ, *, bare: bool = False
) -> dict[Path, str]:
    """Every settings file a session at `cwd` reads (with `bare`, only the managed policy), by its source."""
    from . import managed_files

    home = Path(environ.get("HOME") or Path.home())
    project = Path(cwd)
    files: dict[Path, str] = {}
    if not bare:
        files[home / ".claude" / "settings.json"] = "user_settings"
        files[config_dir(environ) / "settings.json"] = "user_settings"
        for folder in (".claude", ".sous"):
            files[project / folder / "settings.json"] = "project_settings"
        for folder in (".claude", ".sous"):
            files[project / folder / "settings.local.json"] = "local_settings"
    for path in managed_files(environ):
        files[path] = "policy_settings"
    return files


def _stamp(path: Path) -> _Stamp:
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino)


class SettingsWatch:
    """The settings files of one session and how each looked when last seen."""

    def __init__(self, files: Mapping[Path, str]):
        self.files = dict(files)
        """Path → ConfigChange source."""
        self._seen = {path: _stamp(path) for path in self.files}

    def seen(self, path: Path) -> None:
        """`path` was written by sous itself (an "always" answer): that is no change to report."""
        if path in self._seen:
            self._seen[path] = _stamp(path)

    def changed(self) -> list[tuple[str, Path]]:
        """The files that changed, appeared or disappeared since the last call (or since the
        watch was made), as (source, path), in layer order. Never raises."""
        found = []
        for path, source in self.files.items():
            now = _stamp(path)
            if now != self._seen[path]:
                self._seen[path] = now
                found.append((source, path))
        return found
