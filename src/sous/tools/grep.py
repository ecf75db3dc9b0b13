"""Grep: search file contents with ripgrep.

Like Claude Code: hidden files are searched, version-control folders are not, and ignore files
are honoured the way rg does it (.gitignore inside a git repository; .ignore and .rgignore
anywhere). Paths are shown relative to the working directory when they lie inside it (fewer
tokens), else absolute. Results are paged with `head_limit` (default 250, 0 = no limit) and
`offset`; every cut is said in the output.
"""

from __future__ import annotations

import os
import re
from typing import Any

from sous.core import ToolContext, ToolResult

from ._files import inside, resolve
from ._truncate import head
from .offered import GREP
from .offered import GREP_DEFAULT_HEAD_LIMIT as DEFAULT_HEAD_LIMIT

MAX_CONTENT_CHARS = 30_000


def split_globs(value: str) -> list[str]:
    """`"*.py, *.md"` → two globs, but `"*.{ts,tsx}"` stays one (commas inside braces)."""
    out: list[str] = []
    for token in value.split():
        out += [token] if "{" in token else [t for t in token.split(",") if t]
    return out


def command(args: dict[str, Any], mode: str, target: str) -> list[str]:
    """The rg arguments for one Grep call searching `target`."""
    from . import _rg

    cmd = ["--hidden", *_rg.vcs_excludes(), "--max-columns", "500", "--max-columns-preview", "--color", "never"]
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
                cmd += [flag, str(max(int(args[flag]), 0))]
    if args.get("-i"):
        cmd.append("--ignore-case")
    if args.get("multiline"):
        cmd += ["--multiline", "--multiline-dotall"]
    for pattern in split_globs(args.get("glob") or ""):
        cmd += ["--glob", pattern]
    if args.get("type"):
        cmd += ["--type", args["type"]]
    # --regexp so a pattern starting with "-" is not taken for a flag.
    return [*cmd, "--regexp", args["pattern"], "--", target]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from . import _rg  # imported by the first search

    environ = ctx.environ or os.environ
    if error := _rg.missing(environ):
        return error
    mode = args.get("output_mode") or "files_with_matches"
    root = resolve(args.get("path") or ".", ctx)
    if not root.exists():
        return ToolResult(content=f"Path does not exist: {root}", is_error=True)
    target = os.path.relpath(root, ctx.cwd) if inside(str(root), ctx.cwd) else str(root)
    stamped: list[tuple[float, str]] = []
    stamp = (lambda lines: _rg.stamp(lines, ctx.cwd, stamped)) if mode == "files_with_matches" else None
    denied = ctx.state.get("read_denied")
    # With deny rules, rg ends each path with NUL so that the path can be told apart from the line.
    null = ["--null"] if denied is not None and mode != "files_with_matches" else []
    out = await _rg.run([*null, *command(args, mode, target)], cwd=ctx.cwd, environ=environ, on_lines=stamp)
    if out.code == 2 and not out.stdout:  # exit 2 with output = some files unreadable: keep the rest
        message = "\n".join(out.stderr.strip().splitlines()[:8])
        return ToolResult(content=f"Grep failed: {message}", is_error=True)
    if stamp is not None:
        lines = _rg.newest_first(stamped)
    else:
        lines = out.stdout.decode("utf-8", errors="replace").splitlines()
    if denied is not None:
        lines = _without_denied(lines, denied, ctx.cwd)
    if target == ".":
        lines = [line.removeprefix("./") for line in lines]
    return _result(mode, lines, args, cut=out.cut)


def _without_denied(lines: list[str], denied: Any, cwd: str) -> list[str]:
    """Leave out the lines of files that Read deny rules cover; `path\0rest` lines (`--null`)
    become `path:rest` again (`path-rest` for a context line)."""
    kept = []
    for line in lines:
        path, nul, rest = line.partition("\0")
        if denied(os.path.join(cwd, path)):
            continue
        if nul:
            number = re.match(r"\d+([:-])", rest)
            line = f"{path}{number.group(1) if number else ':'}{rest}"
        kept.append(line)
    return kept


def _result(mode: str, lines: list[str], args: dict[str, Any], *, cut: bool) -> ToolResult:
    from . import _rg

    data: dict[str, Any] = {"mode": mode, "numFiles": 0, "filenames": [], "content": "", "numLines": 0}
    if not lines:
        return ToolResult(content="No files found" if mode == "files_with_matches" else "No matches found", data=data)
    offset = max(int(args.get("offset") or 0), 0)
    limit = args.get("head_limit")
    limit = DEFAULT_HEAD_LIMIT if limit is None else int(limit)
    page = lines[offset : offset + limit] if limit > 0 else lines[offset:]
    if not page:
        return ToolResult(content=f"No entries at this offset ({offset}); there are {len(lines)}.", data=data)
    if mode == "files_with_matches":
        text = f"Found {_plural(len(lines), 'file')}\n" + "\n".join(page)
        data.update(numFiles=len(page), filenames=page)
    elif mode == "count":
        counts = [int(n) for _, _, n in (line.rpartition(":") for line in lines) if n.isdigit()]
        text = "\n".join(page) + (
            f"\n\nFound {_plural(sum(counts), 'total occurrence')} across {_plural(len(counts), 'file')}."
        )
        data.update(numFiles=len(counts), numMatches=sum(counts), content="\n".join(page))
    else:
        text = head("\n".join(page), MAX_CONTENT_CHARS, "narrow the search or page with offset/head_limit")
        data.update(content=text, numLines=len(page))
    if offset or offset + len(page) < len(lines):
        data.update(appliedLimit=limit, appliedOffset=offset)
        text += (
            f"\n(Showing entries {offset + 1}-{offset + len(page)} of {len(lines)}; "
            f"use offset={offset + len(page)} for more.)"
            if offset + len(page) < len(lines)
            else f"\n(Showing entries {offset + 1}-{offset + len(page)} of {len(lines)}.)"
        )
    if cut:
        text += f"\n(ripgrep's output passed {_rg.OUTPUT_LIMIT // 2**20} MB and was cut; narrow the search.)"
    return ToolResult(content=text, data=data)


TOOL = GREP  # the prompt's side, in `offered`: this module is imported by the first call
