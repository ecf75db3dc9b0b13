"""Read: a file as numbered lines, a page at a time; an image as an image block; a PDF's pages
(`_read_pdf`) and a notebook's cells with their outputs (`_notebook`).

Bounded: only regular files are opened (a FIFO would block forever, `/dev/zero` never ends), a
file is read whole only up to `MAX_WHOLE_BYTES`, and a larger one is streamed line by line just
up to the page asked for, so memory stays small whatever the file's size. When an editor drives
sous and offers it (`_editor`), a text file of up to `MAX_WHOLE_BYTES` is read through the editor,
unsaved changes included.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

from sous.core import Image, ToolContext, ToolResult

from ._files import EditorError, decode, editor, looks_binary, numbered, record_read, resolve
from .offered import READ

DEFAULT_LINES = 2000
MAX_LINE_CHARS = 2000
MAX_OUTPUT_CHARS = 100_000
"""About 25,000 tokens: past this a read becomes a partial view with a note on how to go on."""
MAX_WHOLE_BYTES = 4 * 2**20
"""Files up to this size are read whole, so their line count is exact; larger ones are streamed."""
MAX_LINE_BYTES = MAX_LINE_CHARS * 4
"""What is read of one line of a streamed file; the rest of a longer line is skipped unread."""
SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def _error(text: str) -> ToolResult:
    return ToolResult(content=text, is_error=True)


def _missing(path: Path, ctx: ToolContext) -> ToolResult:
    import difflib  # only for a missing file: not on the way to the first request

    text = f"File does not exist. Note: your current working directory is {ctx.cwd}."
    try:
        siblings = os.listdir(path.parent)
    except OSError:
        siblings = []
    if close := difflib.get_close_matches(path.name, siblings, n=1):
        text += f" Did you mean {path.parent / close[0]}?"
    return _error(text)


def _refuse_special(path: Path) -> ToolResult | None:
    """An error for anything but a regular file or a directory: reading a FIFO blocks until a
    writer comes, a device like /dev/zero or /dev/urandom never ends."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # missing or unreadable: the checks below say so
    for test, name in SPECIAL_FILES:
        if test(mode):
            return _error(
                f"{path} is {name}, not a regular file: Read only reads files (reading this could block or never end)."
            )
    return None


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = resolve(args["file_path"], ctx)
    if (refusal := _refuse_special(path)) is not None:
        return refusal
    if path.is_dir():
        return _error(f"EISDIR: {path} is a directory. Use Bash `ls` or Glob to list its files.")
    if not path.exists():
        return _missing(path, ctx)
    if path.suffix.lower() in IMAGE_TYPES:
        return _image(path, ctx)
    if path.suffix.lower() in (".pdf", ".ipynb"):
        return await _document(path, args, ctx)
    if looks_binary(path):
        return _error(f"This tool cannot read binary files. The file appears to be a binary {path.suffix} file.")
    if (through := editor(ctx, "reads")) is not None and path.stat().st_size <= MAX_WHOLE_BYTES:
        try:
            text = await through.read_text(str(path))
        except EditorError as e:
            return _error(f"Cannot read {path} through the editor: {e}")
        record_read(ctx, path, text)
        return _page(path, text.replace("\r\n", "\n"), args)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_WHOLE_BYTES + 1)
        if len(data) > MAX_WHOLE_BYTES:
            return _stream(path, args, ctx)
    except OSError as e:
        return _error(f"Cannot read {path}: {e.strerror or e}")
    text_file = decode(data)
    if text_file is None:
        return _error("This tool cannot read binary files. The file contains NUL bytes.")
    record_read(ctx, path)
    return _page(path, text_file.text, args)


def _page(path: Path, text: str, args: dict[str, Any]) -> ToolResult:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    total = len(lines)
    start = max(int(args.get("offset") or 1), 1)
    data: dict[str, Any] = {
        "type": "text",
        "file": {"filePath": str(path), "content": "", "numLines": 0, "startLine": start, "totalLines": total},
    }
    if total == 0:
        return ToolResult(
            content="<system-reminder>Warning: the file exists but the contents are empty.</system-reminder>", data=data
        )
    if start > total:
        return ToolResult(
            content=f"<system-reminder>Warning: the file exists but is shorter than the provided "
            f"offset ({start}). The file has {total} lines.</system-reminder>",
            data=data,
        )
    limit = max(int(args.get("limit") or DEFAULT_LINES), 1)
    chosen = [
        line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " … [line truncated]"
        for line in lines[start - 1 : start - 1 + limit]
    ]
    size, kept = 0, 0
    for line in chosen:  # stop at the character budget, always on a whole line
        size += len(line) + 8
        if size > MAX_OUTPUT_CHARS and kept:
            break
        kept += 1
    chosen = chosen[:kept]
    end = start + len(chosen) - 1
    out = numbered(chosen, start)
    if end < total:
        out += (
            f"\n\n[PARTIAL view: showing lines {start}-{end} of {total}. Continue with offset={end + 1} to read more.]"
        )
    data["file"].update(content="\n".join(chosen), numLines=len(chosen))
    return ToolResult(content=out, data=data)


def _stream(path: Path, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """A page of a file too large to read whole: lines are read only up to the page's end."""
    start = max(int(args.get("offset") or 1), 1)
    limit = max(int(args.get("limit") or DEFAULT_LINES), 1)
    chosen: list[str] = []
    size, number, more = 0, 0, False
    with open(path, "rb") as f:
        head = f.read(8192)
        if decode(head) is None:
            return _error("This tool cannot read binary files. The file contains NUL bytes.")
        f.seek(0)
        while raw := f.readline(MAX_LINE_BYTES):
            long = not raw.endswith(b"\n") and len(raw) == MAX_LINE_BYTES
            while long and (rest := f.readline(2**20)) and not rest.endswith(b"\n"):
                pass  # skip the unread part of an overlong line
            number += 1
            if number < start:
                continue
            if len(chosen) >= limit or size > MAX_OUTPUT_CHARS:
                more = True
                break
            line = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")
            if long or len(line) > MAX_LINE_CHARS:
                line = line[:MAX_LINE_CHARS] + " … [line truncated]"
            chosen.append(line)
            size += len(line) + 8
    record_read(ctx, path)
    data = {
        "type": "text",
        "file": {
            "filePath": str(path),
            "content": "\n".join(chosen),
            "numLines": len(chosen),
            "startLine": start,
            "totalLines": None,
        },
    }
    if not chosen:
        return ToolResult(
            content=f"<system-reminder>Warning: the file exists but is shorter than the provided "
            f"offset ({start}). The file has {number} lines.</system-reminder>",
            data=data,
        )
    end = start + len(chosen) - 1
    out = numbered(chosen, start)
    if more:
        out += (
            f"\n\n[PARTIAL view: showing lines {start}-{end} of a file over {MAX_WHOLE_BYTES // 2**20} MB "
            f"(too large to count its lines). Continue with offset={end + 1} to read more, or use Grep to "
            "find what you need.]"
        )
    return ToolResult(content=out, data=data)


def _image(path: Path, ctx: ToolContext) -> ToolResult:
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        return _error(
            f"The image is {size / 1e6:.1f} MB; images up to {MAX_IMAGE_BYTES // 2**20} MB can be read. "
            "Make a smaller copy first (e.g. with ImageMagick's `convert -resize`)."
        )
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    record_read(ctx, path)
    media_type = IMAGE_TYPES[path.suffix.lower()]
    return ToolResult(
        content=(Image(media_type=media_type, data=encoded),),
        data={"type": "image", "file": {"filePath": str(path), "type": media_type, "originalSize": size}},
    )


async def _document(path: Path, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """A PDF or a notebook, by its own reader (each imported on first use)."""
    if path.suffix.lower() == ".pdf":
        from ._read_pdf import read_pdf

        result = await read_pdf(path, args.get("pages"), ctx)
    else:
        from . import _notebook

        try:
            notebook = _notebook.load(path)
        except _notebook.NotebookError as e:
            return _error(str(e))
        result = ToolResult(
            content=tuple(_notebook.render(notebook)),
            data={"type": "notebook", "file": {"filePath": str(path), "cells": notebook["cells"]}},
        )
    if not result.is_error:
        record_read(ctx, path)
    return result


TOOL = READ  # the prompt's side, in `offered`: this module is imported by the first call
