"""Where custom commands and skills are kept: `commands/**/*.md` and `skills/<name>/SKILL.md` in
the project's `.claude` and `.sous` folders, then in the user's (`~/.claude`, sous's config folder).

Listing the files is all a session needs to learn that there are none; reading them
(`commands.discover`) imports `context.commands`, which a session without any never does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sous import paths


def roots(project_dir: str, environ: Mapping[str, str] = os.environ) -> list[Path]:
    """The folders holding `commands/` and `skills/`, the project's first (later ones win)."""
    home = Path(environ.get("HOME") or Path.home())
    return [Path(project_dir) / ".claude", Path(project_dir) / ".sous", home / ".claude", paths.config_dir(environ)]


def find(project_dir: str, environ: Mapping[str, str] = os.environ) -> tuple[list[Path], list[Path]]:
    """(the command files, the skill files), each in the order they are read: root by root, sorted."""
    commands: list[Path] = []
    skills: list[Path] = []
    for root in roots(project_dir, environ):
        commands += sorted((root / "commands").rglob("*.md")) if (root / "commands").is_dir() else []
    for root in roots(project_dir, environ):
        skills += sorted((root / "skills").glob("*/SKILL.md")) if (root / "skills").is_dir() else []
    return commands, skills


__all__ = ["find", "roots"]
