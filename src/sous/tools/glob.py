"""Glob: files whose path matches a pattern, newest first."""

from __future__ import annotations

import heapq
import os
import time
from typing import Any

from sous.core import ToolContext, ToolResult

from . import _rg
from ._base import builtin
from ._files import mtime, resolve
from ._truncate import paths

MAX_RESULTS = 100

SCHEMA = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "description": 'The glob pattern, e.g. "**/*.py" or "src/**/*.{ts,tsx}"'},
        "path": {"type": "string", "description": "The folder to search (default: the working directory)"},
    },
    "required": ["pattern"],
}


def _respect_gitignore(ctx: ToolContext) -> bool:
    # As in Claude Code, Glob lists ignored files too unless told otherwise.
    environ = ctx.environ or os.environ
    return environ.get("CLAUDE_CODE_GLOB_NO_IGNORE", "").lower() == "false" or \
        environ.get("SOUS_GLOB_RESPECT_GITIGNORE", "") not in ("", "0", "false")



async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    started = time.monotonic()
    root = resolve(args.get("path") or ".", ctx)
    if not root.is_dir():
        return ToolResult(content=f"Path does not exist or is not a directory: {root}", is_error=True)
    flags = ["--files", "--hidden", "--glob", args["pattern"], "--glob", "!.git"]
    if not _respect_gitignore(ctx):
        flags.append("--no-ignore")
    code, out, err = await _rg.run([*flags, str(root)], cwd=str(root))
    if code == 2 and not out:
        return ToolResult(content=f"Glob failed: {err.strip()}", is_error=True)
    found = out.decode("utf-8", errors="replace").splitlines()
    newest = heapq.nlargest(MAX_RESULTS, found, key=mtime) if len(found) > MAX_RESULTS else \
        sorted(found, key=mtime, reverse=True)
    data = {"filenames": newest, "numFiles": len(newest), "truncated": len(found) > MAX_RESULTS,
            "durationMs": int((time.monotonic() - started) * 1000)}
    if not found:
        return ToolResult(content="No files found", data=data)
    return ToolResult(content=paths(newest, MAX_RESULTS, "files", total=len(found)), data=data)


TOOL = builtin("Glob", SCHEMA, run, read_only=True)
