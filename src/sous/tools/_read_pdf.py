"""Read of a PDF: the text of each page (pypdf, imported on first use), a page range at a time.

As Claude Code's Read: a PDF of more than `MAX_PAGES_WHOLE` pages must be read with `pages`
("3", "1-5", "2,4-6"), and one call takes at most `MAX_PAGES_PER_CALL` pages. A page without
text (a scan, a drawing) comes back as an image when poppler's `pdftoppm` is on PATH, else with
a note saying how to get one.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
from pathlib import Path

from sous.core import Image, Text, ToolContext, ToolResult

MAX_PAGES_WHOLE = 10
MAX_PAGES_PER_CALL = 20
MAX_PAGE_CHARS = 20_000
RENDER_DPI = 100
RENDER_TIMEOUT = 30


def parse_pages(spec: str, count: int) -> list[int]:
    """1-based page numbers for "3", "1-5" or "2,4-6"; raises ValueError with the reason."""
    wanted: list[int] = []
    for part in spec.replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f'pages must look like "3", "1-5" or "2,4-6", not {spec!r}')
        lo, hi = int(first), int(last) if dash else int(first)
        if lo < 1 or hi < lo:
            raise ValueError(f"the page range {part!r} is empty or starts before page 1")
        if lo > count:
            raise ValueError(f"the PDF has {count} pages; {part!r} starts after the last")
        wanted += [n for n in range(lo, min(hi, count) + 1) if n not in wanted]
    return wanted


async def read_pdf(path: Path, pages: str | None, ctx: ToolContext) -> ToolResult:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        count = len(reader.pages)
    except (PdfReadError, OSError, ValueError) as e:
        return ToolResult(content=f"Cannot read {path} as a PDF: {e}", is_error=True)
    if pages is None and count > MAX_PAGES_WHOLE:
        return ToolResult(
            content=f'The PDF has {count} pages; read it with `pages` (e.g. "1-{MAX_PAGES_PER_CALL}"), '
            f"at most {MAX_PAGES_PER_CALL} pages a call.",
            is_error=True,
        )
    try:
        wanted = parse_pages(pages, count) if pages else list(range(1, count + 1))
    except ValueError as e:
        return ToolResult(content=str(e), is_error=True)
    if len(wanted) > MAX_PAGES_PER_CALL:
        return ToolResult(
            content=f"{len(wanted)} pages asked for; at most {MAX_PAGES_PER_CALL} can be read at once.", is_error=True
        )
    blocks: list[Text | Image] = [Text(text=f"PDF {path} ({count} pages); showing page(s) {_ranges(wanted)}.")]
    for number in wanted:
        try:
            text = (reader.pages[number - 1].extract_text() or "").strip()
        except Exception as e:  # pypdf raises many kinds on a damaged page; the others still count
            text, failure = "", f" (its text could not be extracted: {e})"
        else:
            failure = ""
        if len(text) > MAX_PAGE_CHARS:
            text = text[:MAX_PAGE_CHARS] + f"\n[... {len(text) - MAX_PAGE_CHARS} more characters on this page cut ...]"
        if text:
            blocks.append(Text(text=f"\n--- Page {number} ---\n{text}"))
            continue
        image = await render_page(path, number, ctx)
        if image is not None:
            blocks += [Text(text=f"\n--- Page {number} (no text{failure}; shown as an image) ---"), image]
        else:
            blocks.append(
                Text(
                    text=f"\n--- Page {number} ---\n[No text on this page{failure}. Install poppler-utils "
                    "(pdftoppm) to see such pages as images.]"
                )
            )
    return ToolResult(
        content=tuple(blocks), data={"type": "pdf", "file": {"filePath": str(path), "numPages": count, "pages": wanted}}
    )


async def render_page(path: Path, number: int, ctx: ToolContext) -> Image | None:
    """The page as a PNG through pdftoppm, or None when it is missing or fails."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        return None
    proc = await asyncio.create_subprocess_exec(
        exe,
        "-png",
        "-r",
        str(RENDER_DPI),
        "-f",
        str(number),
        "-l",
        str(number),
        str(path),  # no root: stdout
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        done = await ctx.cancel.race(asyncio.wait_for(proc.communicate(), RENDER_TIMEOUT))
        out = done.result()[0] if done is not None else b""
    except TimeoutError:
        out = b""
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0 or not out.startswith(b"\x89PNG"):
        return None
    return Image(media_type="image/png", data=base64.b64encode(out).decode("ascii"))


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] → "1-3, 7"."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][1] + 1 == n:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
