"""Glob: files whose path matches a pattern, newest first, as absolute paths.

As in Claude Code, Glob lists hidden files and files that .gitignore excludes (a build output or
a vendored dependency is often exactly what is looked for); `CLAUDE_CODE_GLOB_NO_IGNORE=false`
in the environment makes it honour .gitignore. Version-control folders (.git, ...) are always
left out. At most 100 paths are returned, with a note when there were more.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sous.core import ToolContext, ToolResult

from ._files import resolve
from ._truncate import paths
from .offered import GLOB

MAX_RESULTS = 100


def split_pattern(pattern: str, base: str) -> tuple[str, str]:
    """(folder to search, glob relative to it). A pattern that is absolute (`/repo/src/**/*.py`),
    starts at home (`~/x/*`) or climbs (`../other/**`) has its fixed leading folders moved into
    the folder searched (`/repo/src`, `**/*.py`); any other pattern is matched under `base` as it
    is. The permission check looks at the same folder (`permissions.rules.call_paths`)."""
    expanded = os.path.expanduser(pattern) if pattern.startswith("~") else pattern
    parts = expanded.split("/")
    fixed = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[{")), len(parts) - 1)
    if not (os.path.isabs(expanded) or pattern.startswith("~") or ".." in parts[:fixed]):
        return base, pattern
    return os.path.normpath(os.path.join(base, "/".join(parts[:fixed]) or "/")), "/".join(parts[fixed:])


def _respect_gitignore(environ: Any) -> bool:
    return environ.get("CLAUDE_CODE_GLOB_NO_IGNORE", "").lower() == "false"


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from . import _rg  # imported by the first search

    started = time.monotonic()
    environ = ctx.environ or os.environ
    if error := _rg.missing(environ):
        return error
    base, pattern = split_pattern(args["pattern"], str(resolve(args.get("path") or ".", ctx)))
    root = Path(base)
    if not root.exists():
        return ToolResult(content=f"Directory does not exist: {root}", is_error=True)
    if not root.is_dir():
        return ToolResult(content=f"Path is not a directory: {root}", is_error=True)
    flags = ["--files", "--hidden", "--glob", pattern, *_rg.vcs_excludes()]
    if not _respect_gitignore(environ):
        flags.append("--no-ignore")
    # rg matches globs against paths relative to its working folder, so it runs inside `root`.
    stamped: list[tuple[float, str]] = []
    out = await _rg.run(
        [*flags, "--", str(root)],
        cwd=str(root),
        environ=environ,
        on_lines=lambda lines: _rg.stamp(lines, str(root), stamped),
    )
    if out.code == 2 and not out.stdout:
        return ToolResult(content=f"Glob failed: {out.stderr.strip()}", is_error=True)
    found = _rg.newest_first(stamped)
    if (denied := ctx.state.get("read_denied")) is not None:  # files that Read deny rules keep out
        found = [path for path in found if not denied(os.path.join(root, path))]
    total = len(found)
    shown = found[:MAX_RESULTS]
    data = {
        "filenames": shown,
        "numFiles": len(shown),
        "truncated": total > MAX_RESULTS or out.cut,
        "durationMs": int((time.monotonic() - started) * 1000),
    }
    if not found:
        return ToolResult(content="No files found", data=data)
    return ToolResult(content=paths(found, MAX_RESULTS, "files", total=total), data=data)


TOOL = GLOB  # the prompt's side, in `offered`: this module is imported by the first call
