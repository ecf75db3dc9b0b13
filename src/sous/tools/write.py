"""Write: create a file or replace its content, keeping its encoding, line endings and mode."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sous.core import ToolContext, ToolResult

from ._files import (
    EditorError,
    TextFile,
    decode,
    editor,
    from_text,
    record_read,
    resolve,
    save,
    stale_reason,
    structured_patch,
)
from .offered import WRITE

if TYPE_CHECKING:
    from ._editor import Editor


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = resolve(args["file_path"], ctx)
    content: str = args["content"]
    if path.is_dir():
        return ToolResult(content=f"EISDIR: {path} is a directory", is_error=True)
    try:
        old = await _current(path, ctx, reading=editor(ctx, "reads"))
    except EditorError as e:
        return ToolResult(content=f"Cannot read {path} through the editor: {e}", is_error=True)
    except ValueError as e:
        return ToolResult(content=str(e), is_error=True)
    form = old or TextFile(text="", newline="\r\n" if "\r\n" in content else "\n")
    try:
        data = form.encode(content)
    except UnicodeEncodeError as e:
        return ToolResult(
            content=f"The content cannot be written in the file's encoding ({form.encoding}): {e}", is_error=True
        )
    try:
        through_editor = await save(path, ctx, form, data)
    except EditorError as e:
        return ToolResult(content=f"Cannot write {path} through the editor: {e}", is_error=True)
    except OSError as e:
        return ToolResult(content=f"Cannot write {path}: {e.strerror or e}", is_error=True)
    record_read(ctx, path, content if through_editor else None)
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


async def _current(path: Path, ctx: ToolContext, reading: Editor | None) -> TextFile | None:
    """The file as it is now (through the editor when it offers reads), or None when it does not
    exist. Raises ValueError when it may not be replaced (never read, or changed since)."""
    if not path.exists():
        return None
    current = await reading.read_text(str(path)) if reading is not None else None
    if problem := stale_reason(ctx, path, current):
        raise ValueError(problem)
    return from_text(current) if current is not None else decode(path.read_bytes())


TOOL = WRITE  # the prompt's side, in `offered`: this module is imported by the first call
