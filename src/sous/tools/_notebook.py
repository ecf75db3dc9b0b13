"""Jupyter notebooks as Read shows them and NotebookEdit changes them (nbformat 4 JSON, handled
as plain JSON so that a notebook is written back with only the edited cell changed).

A cell is named by its `id` (nbformat ≥ 4.5) or, in older notebooks without ids, `cell-N`
(N counting from 0), the names Read shows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sous.core import Image, Text

MAX_BYTES = 100 * 1024 * 1024
MAX_OUTPUT_CHARS = 10_000
"""Per output: a long log or a huge table is cut, with a note."""
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookError(ValueError):
    """The file is not a notebook sous can read or edit; the message says why, in one line."""


def load(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_BYTES:
        raise NotebookError(f"the notebook is larger than {MAX_BYTES // 2**20} MB")
    try:
        notebook = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise NotebookError(f"{path} is not valid notebook JSON: {e}") from e
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path} is not a Jupyter notebook (no list of cells)")
    if notebook.get("nbformat", 4) < 4:
        raise NotebookError(
            f"{path} is in nbformat {notebook.get('nbformat')}; convert it to version 4 first "
            "(jupyter nbconvert --to notebook)"
        )
    return notebook


def dump(notebook: dict[str, Any]) -> str:
    """As Jupyter writes notebooks: one-space indent, non-ASCII kept, a final newline."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def cell_name(cell: dict[str, Any], index: int) -> str:
    return str(cell.get("id") or f"cell-{index}")


def find(notebook: dict[str, Any], cell_id: str) -> int | None:
    """The index of the cell named `cell_id`, or None."""
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("id") == cell_id:
            return index
    m = re.fullmatch(r"cell-(\d+)", cell_id)
    if m and int(m.group(1)) < len(notebook["cells"]):
        return int(m.group(1))
    return None


def source(cell: dict[str, Any]) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else str(text)


def language(notebook: dict[str, Any]) -> str:
    return (
        notebook.get("metadata", {}).get("language_info", {}).get("name")
        or notebook.get("metadata", {}).get("kernelspec", {}).get("language")
        or "python"
    )


def render(notebook: dict[str, Any]) -> list[Text | Image]:
    """Every cell with its outputs: text as text, images as image blocks."""
    blocks: list[Text | Image] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            blocks.append(Text(text="\n".join(text)))
            text.clear()

    for index, cell in enumerate(notebook["cells"]):
        kind = cell.get("cell_type", "code")
        count = cell.get("execution_count")
        attrs = f' id="{cell_name(cell, index)}" type="{kind}"' + (f' execution_count="{count}"' if count else "")
        text.append(f"<cell{attrs}>\n{source(cell)}\n</cell>")
        for output in cell.get("outputs") or []:
            shown, images = _output(output)
            if shown:
                text.append(f"<output>\n{shown}\n</output>")
            if images:
                flush()
                blocks += images
    flush()
    return blocks or [Text(text="(the notebook has no cells)")]


def _output(output: dict[str, Any]) -> tuple[str, list[Image]]:
    kind = output.get("output_type")
    if kind == "stream":
        return _cap(_joined(output.get("text", ""))), []
    if kind == "error":
        trace = _ANSI.sub("", "\n".join(output.get("traceback") or []))
        return _cap(trace or f"{output.get('ename')}: {output.get('evalue')}"), []
    data = output.get("data") or {}
    images = [Image(media_type=t, data=_joined(data[t]).replace("\n", "")) for t in IMAGE_TYPES if t in data]
    if "text/plain" in data:
        return _cap(_joined(data["text/plain"])), images
    if "text/markdown" in data:
        return _cap(_joined(data["text/markdown"])), images
    if not images and data:
        return f"[output of type {', '.join(sorted(data))} not shown]", []
    return "", images


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _cap(text: str) -> str:
    text = text.rstrip("\n")
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return text[:MAX_OUTPUT_CHARS] + f"\n[... {len(text) - MAX_OUTPUT_CHARS} more characters of output cut ...]"
