"""Grep: search file contents with ripgrep, respecting .gitignore.

Paths are shown relative to the working directory when they lie inside it (fewer tokens).
Results are paged with `head_limit`/`offset`, and every cut is said in the output.
"""

from __future__ import annotations

import os
from typing import Any

from sous.core import ToolContext, ToolResult

from . import _rg
from ._base import builtin
from ._files import inside, mtime, resolve
from ._truncate import head

DEFAULT_HEAD_LIMIT = 250
MAX_CONTENT_CHARS = 30_000

SCHEMA = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "description": "The regular expression to search for (ripgrep syntax)"},
        "path": {"type": "string", "description": "File or folder to search (default: the working directory)"},
        "glob": {"type": "string", "description": 'Only files matching this glob, e.g. "*.js" or "*.{ts,tsx}"'},
        "type": {"type": "string", "description": "Only files of this rg type, e.g. py, js, rust"},
        "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"],
                        "description": "content: matching lines; files_with_matches (default): paths; count: per file"},
        "-i": {"type": "boolean", "description": "Case insensitive"},
        "-n": {"type": "boolean", "description": "Line numbers in content mode (default true)"},
        "-A": {"type": "integer", "description": "Lines after each match (content mode)"},
        "-B": {"type": "integer", "description": "Lines before each match (content mode)"},
        "-C": {"type": "integer", "description": "Lines before and after each match (content mode)"},
        "head_limit": {"type": "integer", "description": f"Show only the first N entries (default {DEFAULT_HEAD_LIMIT})"},
        "offset": {"type": "integer", "description": "Skip the first N entries"},
        "multiline": {"type": "boolean", "description": "Let . and patterns span lines"},
    },
    "required": ["pattern"],
}


def split_globs(value: str) -> list[str]:
    """`"*.py, *.md"` → two globs, but `"*.{ts,tsx}"` stays one (commas inside braces)."""
    out: list[str] = []
    for token in value.split():
        out += [token] if "{" in token else [t for t in token.split(",") if t]
    return out


def _command(args: dict[str, Any], mode: str, target: str) -> list[str]:
    cmd = ["--hidden", "--glob", "!.git", "--max-columns", "500", "--max-columns-preview", "--color", "never"]
    if mode == "files_with_matches":
        cmd.append("--files-with-matches")
    elif mode == "count":
        cmd += ["--count", "--with-filename"]
    else:
        cmd += ["--with-filename", "--no-heading"]
        if args.get("-n", True):
            cmd.append("--line-number")
        for flag in ("-A", "-B", "-C"):
            if args.get(flag) is not None:
                cmd += [flag, str(int(args[flag]))]
    if args.get("-i"):
        cmd.append("--ignore-case")
    if args.get("multiline"):
        cmd += ["--multiline", "--multiline-dotall"]
    for pattern in split_globs(args.get("glob") or ""):
        cmd += ["--glob", pattern]
    if args.get("type"):
        cmd += ["--type", args["type"]]
    return [*cmd, "--regexp", args["pattern"], "--", target]



async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    mode = args.get("output_mode") or "files_with_matches"
    root = resolve(args.get("path") or ".", ctx)
    if not root.exists():
        return ToolResult(content=f"Path does not exist: {root}", is_error=True)
    target = os.path.relpath(root, ctx.cwd) if inside(str(root), ctx.cwd) else str(root)
    code, raw, err = await _rg.run(_command(args, mode, target), cwd=ctx.cwd)
    if code == 2 and not raw:
        message = "\n".join(err.strip().splitlines()[:8])
        return ToolResult(content=f"Grep failed: {message}", is_error=True)
    lines = raw.decode("utf-8", errors="replace").splitlines()
    if target == ".":
        lines = [line.removeprefix("./") for line in lines]
    if mode == "files_with_matches":
        lines.sort(key=lambda p: mtime(os.path.join(ctx.cwd, p)), reverse=True)
    data: dict[str, Any] = {"mode": mode, "numFiles": 0, "filenames": [], "content": "", "numLines": 0}
    if not lines:
        return ToolResult(content="No matches found" if mode != "files_with_matches" else "No files found", data=data)
    offset = max(int(args.get("offset") or 0), 0)
    limit = max(int(args.get("head_limit") or DEFAULT_HEAD_LIMIT), 1)
    page = lines[offset:offset + limit]
    if not page:
        return ToolResult(content=f"No entries at this offset ({offset}); there are {len(lines)}.", data=data)
    if mode == "files_with_matches":
        text = f"Found {len(lines)} file{'s' * (len(lines) != 1)}\n" + "\n".join(page)
        data.update(numFiles=len(lines), filenames=page)
    elif mode == "count":
        counts = [int(line.rpartition(":")[2]) for line in lines if line.rpartition(":")[2].isdigit()]
        text = "\n".join(page) + f"\n\nFound {sum(counts)} total occurrences across {len(counts)} files."
        data.update(numFiles=len(counts), numMatches=sum(counts), content="\n".join(page))
    else:
        text = head("\n".join(page), MAX_CONTENT_CHARS, "narrow the search or page with offset/head_limit")
        data.update(content=text, numLines=len(page))
    if offset + len(page) < len(lines) or offset:
        text += (f"\n(Showing entries {offset + 1}-{offset + len(page)} of {len(lines)}; "
                 f"use offset={offset + len(page)} for more.)")
    return ToolResult(content=text, data=data)



TOOL = builtin("Grep", SCHEMA, run, read_only=True)
