"""Write: create a file or replace its content, keeping its encoding, line endings and mode."""

from __future__ import annotations

from typing import Any

from sous.core import ToolContext, ToolResult

from ._base import builtin
from ._files import TextFile, atomic_write, decode, record_read, resolve, stale_reason, structured_patch

SCHEMA = {
    "type": "object",
    "properties": {
        "file_path": {"type": "string", "description": "The path of the file to write (absolute is best)"},
        "content": {"type": "string", "description": "The whole new content of the file"},
    },
    "required": ["file_path", "content"],
}


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = resolve(args["file_path"], ctx)
    content: str = args["content"]
    if path.is_dir():
        return ToolResult(content=f"EISDIR: {path} is a directory", is_error=True)
    old: TextFile | None = None
    if path.exists():
        if problem := stale_reason(ctx, path):
            return ToolResult(content=problem, is_error=True)
        old = decode(path.read_bytes())
    form = old or TextFile(text="", newline="\r\n" if "\r\n" in content else "\n")
    try:
        data = form.encode(content)
    except UnicodeEncodeError as e:
        return ToolResult(
            content=f"The content cannot be written in the file's encoding ({form.encoding}): {e}", is_error=True
        )
    try:
        atomic_write(path, data)
    except OSError as e:
        return ToolResult(content=f"Cannot write {path}: {e.strerror or e}", is_error=True)
    record_read(ctx, path)
    if old is None:
        return ToolResult(
            content=f"File created successfully at: {path}",
            data={
                "type": "create",
                "filePath": str(path),
                "content": content,
                "structuredPatch": [],
                "originalFile": None,
            },
        )
    new_text = content.replace("\r\n", "\n")
    return ToolResult(
        content=f"The file {path} has been updated successfully.",
        data={
            "type": "update",
            "filePath": str(path),
            "content": content,
            "structuredPatch": structured_patch(old.text, new_text),
            "originalFile": old.text,
        },
    )


TOOL = builtin("Write", SCHEMA, run)
