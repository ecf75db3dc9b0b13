"""NotebookEdit: replace, insert or delete one cell of a Jupyter notebook.

Claude Code's fields: `notebook_path`, `cell_id`, `new_source`, `cell_type`, `edit_mode`. The
notebook must have been Read in this session and not changed since (as for Edit). Replacing a
code cell's source clears its outputs and execution count, which no longer match it. An insert
goes after `cell_id`, or first when there is none, and needs `cell_type`.
"""

from __future__ import annotations

from typing import Any

from sous.core import ToolContext, ToolResult

from ._files import atomic_write, record_read, resolve, stale_reason
from .offered import NOTEBOOK_EDIT


def _error(text: str) -> ToolResult:
    return ToolResult(content=text, is_error=True)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from . import _notebook  # the notebook format, read by the first edit

    path = resolve(args["notebook_path"], ctx)
    mode = args.get("edit_mode") or "replace"
    cell_id, cell_type = args.get("cell_id"), args.get("cell_type")
    if path.suffix != ".ipynb":
        return _error("NotebookEdit edits Jupyter notebooks (.ipynb); use Edit for other files.")
    if not path.is_file():
        return _error(f"Notebook file does not exist: {path}")
    if reason := stale_reason(ctx, path):
        return _error(reason)
    try:
        notebook = _notebook.load(path)
    except _notebook.NotebookError as e:
        return _error(str(e))
    cells: list[dict[str, Any]] = notebook["cells"]
    old_source = ""
    index = _notebook.find(notebook, cell_id) if cell_id else None
    if cell_id and index is None:
        return _error(f"No cell with id {cell_id!r} in the notebook (Read it to see the cell ids).")
    if mode in ("replace", "delete") and index is None:
        return _error(f"edit_mode {mode} needs the cell_id of an existing cell.")
    if mode == "insert":
        if cell_type is None:
            return _error("cell_type (code or markdown) is required to insert a cell.")
        cell: dict[str, Any] = {"cell_type": cell_type, "metadata": {}, "source": _lines(args["new_source"])}
        if cell_type == "code":
            cell.update(execution_count=None, outputs=[])
        if (notebook.get("nbformat"), notebook.get("nbformat_minor", 0)) >= (4, 5):
            cell = {"id": _new_id(cells), **cell}
        index = 0 if index is None else index + 1
        cells.insert(index, cell)
    elif mode == "delete":
        assert index is not None
        cell = cells.pop(index)
        old_source = _source(cell)
    else:
        assert index is not None
        cell = cells[index]
        old_source = _source(cell)
        cell["source"] = _lines(args["new_source"])
        if cell_type and cell_type != cell.get("cell_type"):
            cell["cell_type"] = cell_type
            if cell_type == "markdown":
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    atomic_write(path, _notebook.dump(notebook).encode("utf-8"))
    record_read(ctx, path)  # our own write leaves the notebook known
    name = _notebook.cell_name(cell, index)
    done = {"replace": "Updated", "insert": "Inserted", "delete": "Deleted"}[mode]
    return ToolResult(
        content=f"{done} cell {name} in {path}.",
        data={
            "new_source": args["new_source"],
            "cell_id": name,
            "cell_type": cell.get("cell_type"),
            "language": _notebook.language(notebook),
            "edit_mode": mode,
            "notebook_path": str(path),
            "old_source": old_source,  # sous's own: what the run record counts removed lines from
        },
    )


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _new_id(cells: list[dict[str, Any]]) -> str:
    import secrets

    taken = {c.get("id") for c in cells}
    while (candidate := secrets.token_hex(4)) in taken:
        pass
    return candidate


TOOL = NOTEBOOK_EDIT  # the prompt's side of the tool, in `offered`: this module is imported by its first call
