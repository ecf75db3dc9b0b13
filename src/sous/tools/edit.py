"""Edit and the legacy MultiEdit: exact string replacement in a file that was read first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sous.core import ToolContext, ToolResult

from . import offered
from ._files import (
    EditorError,
    TextFile,
    decode,
    editor,
    from_text,
    numbered,
    record_read,
    resolve,
    save,
    stale_reason,
    structured_patch,
)

SNIPPET_CONTEXT = 4


class EditFailed(Exception):
    pass


def apply(text: str, old: str, new: str, replace_all: bool = False) -> tuple[str, int]:
    """Replace `old` by `new` in `text`; return the new text and where the first change starts.
    Raises `EditFailed` with the message the model gets."""
    old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
    if old == new:
        raise EditFailed("No changes to make: old_string and new_string are exactly the same.")
    count = text.count(old)
    if count == 0:
        raise EditFailed(f"String to replace not found in file.\nString: {old}")
    if count > 1 and not replace_all:
        raise EditFailed(
            f"Found {count} matches of the string to replace, but replace_all is false. To replace all occurrences, "
            "set replace_all to true. To replace only one occurrence, please provide more context to uniquely "
            f"identify the instance.\nString: {old}"
        )
    at = text.index(old)
    return (text.replace(old, new) if replace_all else text.replace(old, new, 1)), at


def _snippet(text: str, at: int, new: str) -> str:
    lines = text.split("\n")
    first = text.count("\n", 0, at)
    last = first + new.count("\n")
    start = max(first - SNIPPET_CONTEXT, 0)
    return numbered(lines[start : last + SNIPPET_CONTEXT + 1], start + 1)


async def _load(path: Path, ctx: ToolContext, creating: bool) -> TextFile:
    if path.is_dir():
        raise EditFailed(f"EISDIR: {path} is a directory")
    if not path.exists():
        if creating:
            return TextFile(text="")
        raise EditFailed(f"File does not exist. Note: your current working directory is {ctx.cwd}.")
    if (through := editor(ctx, "reads")) is not None:
        try:
            current = await through.read_text(str(path))
        except EditorError as e:
            raise EditFailed(f"Cannot read {path} through the editor: {e}") from e
        if problem := stale_reason(ctx, path, current):
            raise EditFailed(problem)
        return from_text(current)
    if problem := stale_reason(ctx, path):
        raise EditFailed(problem)
    loaded = decode(path.read_bytes())
    if loaded is None:
        raise EditFailed("This tool cannot edit binary files.")
    return loaded


async def _save(path: Path, ctx: ToolContext, form: TextFile, text: str) -> None:
    try:
        through_editor = await save(path, ctx, form, form.encode(text))
    except EditorError as e:
        raise EditFailed(f"Cannot write {path} through the editor: {e}") from e
    except (OSError, UnicodeEncodeError) as e:
        raise EditFailed(f"Cannot write {path}: {e}") from e
    record_read(ctx, path, text if through_editor else None)


async def run_edit(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = resolve(args["file_path"], ctx)
    old, new, replace_all = args["old_string"], args["new_string"], bool(args.get("replace_all"))
    try:
        if old == "":  # an empty old_string creates a new file, as in Claude Code
            if path.exists() and path.stat().st_size:
                raise EditFailed("Cannot create new file - file already exists.")
            form, text, at = await _load(path, ctx, creating=True), new.replace("\r\n", "\n"), 0
        else:
            form = await _load(path, ctx, creating=False)
            text, at = apply(form.text, old, new, replace_all)
        await _save(path, ctx, form, text)
    except EditFailed as e:
        return ToolResult(content=str(e), is_error=True)
    data = {
        "filePath": str(path),
        "oldString": old,
        "newString": new,
        "replaceAll": replace_all,
        "structuredPatch": structured_patch(form.text, text),
        "userModified": False,
    }
    if replace_all:
        return ToolResult(
            content=f"The file {path} has been updated. All occurrences of the old string were "
            "successfully replaced with the new string.",
            data=data,
        )
    return ToolResult(
        content=f"The file {path} has been updated. Here's the result of running `cat -n` on a snippet "
        f"of the edited file:\n{_snippet(text, at, new)}",
        data=data,
    )


async def run_multi_edit(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = resolve(args["file_path"], ctx)
    edits = args["edits"]
    try:
        form = await _load(path, ctx, creating=edits[0]["old_string"] == "")
        text = form.text
        for n, edit in enumerate(edits, 1):
            try:
                if edit["old_string"] == "" and n == 1 and not text:
                    text = edit["new_string"].replace("\r\n", "\n")
                    continue
                text, _ = apply(text, edit["old_string"], edit["new_string"], bool(edit.get("replace_all")))
            except EditFailed as e:
                raise EditFailed(f"Edit {n} of {len(edits)} failed, nothing was changed: {e}") from None
        await _save(path, ctx, form, text)
    except EditFailed as e:
        return ToolResult(content=str(e), is_error=True)
    return ToolResult(
        content=f"Applied {len(edits)} edits to {path}.",
        data={"filePath": str(path), "edits": edits, "structuredPatch": structured_patch(form.text, text)},
    )


TOOL = offered.EDIT  # the prompt's side: this module is imported by the first call
MULTI_EDIT = offered.MULTI_EDIT
