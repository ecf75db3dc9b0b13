"""Read of PDFs and notebooks, and NotebookEdit, on real files (notebooks checked with nbformat)."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from PIL import Image as PILImage

from sous.core import Image, Text, ToolContext
from sous.tools.notebook_edit import TOOL as NOTEBOOK_EDIT
from sous.tools.read import TOOL as READ


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))


def make_pdf(pages: list[str | None]) -> bytes:
    """A PDF written by hand: one page per item, its text in Helvetica, or (None) a page holding
    only a red square and no text."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        if text is None:
            stream = "1 0 0 rg 100 300 200 200 re f"
        else:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            stream = f"BT /F1 18 Tf 72 700 Td ({escaped}) Tj ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objects)} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{o:010d} 00000 n \n" for o in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def texts(result) -> str:
    return "".join(b.text for b in result.content if isinstance(b, Text))


async def read(ctx, path, **kw):
    return await READ.run({"file_path": str(path), **kw}, ctx)


# --- PDF ---------------------------------------------------------------------------------


async def test_a_pdf_reads_as_text_per_page(ctx, tmp_path):
    (tmp_path / "doc.pdf").write_bytes(make_pdf(["Hello from page one", "Second page (with parens)"]))
    result = await read(ctx, "doc.pdf")
    assert not result.is_error
    shown = texts(result)
    assert "(2 pages)" in shown
    assert shown.index("--- Page 1 ---\nHello from page one") < shown.index("--- Page 2 ---\nSecond page (with parens)")
    assert str(tmp_path / "doc.pdf") in ctx.state["read_files"]


async def test_pdf_page_ranges(ctx, tmp_path):
    (tmp_path / "long.pdf").write_bytes(make_pdf([f"Text of page {n}" for n in range(1, 26)]))
    whole = await read(ctx, "long.pdf")
    assert whole.is_error and "has 25 pages" in whole.content and "pages" in whole.content
    some = await read(ctx, "long.pdf", pages="2,4-5")
    shown = texts(some)
    assert "Text of page 2" in shown and "Text of page 4" in shown and "Text of page 5" in shown
    assert "Text of page 3" not in shown and "page(s) 2, 4-5" in shown
    assert (await read(ctx, "long.pdf", pages="1-21")).is_error  # over 20 a call
    for bad in ("0", "5-3", "x", "30", "1-"):
        result = await read(ctx, "long.pdf", pages=bad)
        assert result.is_error, bad
    tail = await read(ctx, "long.pdf", pages="24-99")
    assert "Text of page 25" in texts(tail)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed")
async def test_a_page_without_text_comes_back_as_an_image(ctx, tmp_path):
    (tmp_path / "scan.pdf").write_bytes(make_pdf(["Cover text", None]))
    result = await read(ctx, "scan.pdf")
    (image,) = [b for b in result.content if isinstance(b, Image)]
    assert "Page 2 (no text; shown as an image)" in texts(result)
    picture = PILImage.open(io.BytesIO(base64.b64decode(image.data))).convert("RGB")
    width, height = picture.size
    # The red square spans x 100..300, y 300..500 (from the bottom) of a 612x792 page.
    assert picture.getpixel((int(width * 200 / 612), int(height * (792 - 400) / 792))) == (255, 0, 0)
    assert picture.getpixel((10, 10)) == (255, 255, 255)


async def test_a_damaged_pdf_is_an_error(ctx, tmp_path):
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\nnot really")
    result = await read(ctx, "bad.pdf")
    assert result.is_error and "Cannot read" in result.content


# --- notebooks ---------------------------------------------------------------------------

PNG = base64.b64encode(
    (lambda b: (PILImage.new("RGB", (4, 4), (0, 128, 255)).save(b, "PNG"), b.getvalue())[1])(io.BytesIO())
).decode()


def make_notebook(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Analysis", id="intro"),
        nbformat.v4.new_code_cell(
            "print('hi')\n1 + 1",
            id="calc",
            execution_count=1,
            outputs=[
                nbformat.v4.new_output("stream", name="stdout", text="hi\n"),
                nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1),
            ],
        ),
        nbformat.v4.new_code_cell(
            "plot()",
            id="plot",
            execution_count=2,
            outputs=[nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})],
        ),
        nbformat.v4.new_code_cell(
            "1/0",
            id="boom",
            execution_count=3,
            outputs=[
                nbformat.v4.new_output(
                    "error",
                    ename="ZeroDivisionError",
                    evalue="division by zero",
                    traceback=["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"],
                )
            ],
        ),
    ]
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    return nb


async def test_a_notebook_reads_as_cells_with_outputs_and_images(ctx, tmp_path):
    make_notebook(tmp_path / "a.ipynb")
    result = await read(ctx, "a.ipynb")
    shown = texts(result)
    assert '<cell id="intro" type="markdown">\n# Analysis\n</cell>' in shown
    assert '<cell id="calc" type="code" execution_count="1">' in shown
    assert "<output>\nhi\n</output>" in shown and "<output>\n2\n</output>" in shown
    assert "ZeroDivisionError: division by zero" in shown and "\x1b" not in shown
    (image,) = [b for b in result.content if isinstance(b, Image)]
    assert image.media_type == "image/png" and base64.b64decode(image.data).startswith(b"\x89PNG")
    blocks = list(result.content)
    assert isinstance(blocks[blocks.index(image) + 1], Text)  # the cells after the image follow it


async def test_notebook_edit_replace_insert_delete_keeps_a_valid_notebook(ctx, tmp_path):
    path = tmp_path / "a.ipynb"
    make_notebook(path)

    async def edit(**args):
        return await NOTEBOOK_EDIT.run({"notebook_path": str(path), **args}, ctx)

    refused = await edit(cell_id="calc", new_source="x = 1")
    assert refused.is_error and "Read it first" in refused.content
    await read(ctx, path)
    replaced = await edit(cell_id="calc", new_source="x = 1\nx + 1")
    assert not replaced.is_error, replaced.content
    inserted = await edit(cell_id="intro", new_source="Some *notes*", cell_type="markdown", edit_mode="insert")
    assert not inserted.is_error
    first = await edit(new_source="import os", cell_type="code", edit_mode="insert")
    assert not first.is_error
    assert not (await edit(cell_id="boom", new_source="", edit_mode="delete")).is_error
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert [c.cell_type for c in nb.cells] == ["code", "markdown", "markdown", "code", "code"]
    assert nb.cells[0].source == "import os" and nb.cells[0].outputs == []
    assert nb.cells[2].source == "Some *notes*" and nb.cells[2].id == inserted.data["cell_id"]
    calc = nb.cells[3]
    assert calc.id == "calc" and calc.source == "x = 1\nx + 1"
    assert calc.outputs == [] and calc.execution_count is None  # stale outputs are cleared
    assert nb.cells[4].id == "plot" and nb.cells[4].outputs  # untouched cells keep theirs
    assert len({c.id for c in nb.cells}) == 5


async def test_notebook_edit_errors(ctx, tmp_path):
    path = tmp_path / "a.ipynb"
    make_notebook(path)
    await read(ctx, path)

    async def edit(**args):
        return await NOTEBOOK_EDIT.run({"notebook_path": str(path), **args}, ctx)

    assert "No cell with id 'nope'" in (await edit(cell_id="nope", new_source="x")).content
    assert "cell_type" in (await edit(cell_id="calc", new_source="x", edit_mode="insert")).content
    assert (await edit(new_source="x")).is_error  # replace needs a cell
    path.write_text(path.read_text())  # changed on disk since the read (same size, new mtime)
    import os

    os.utime(path, ns=(0, 0))
    assert "modified since read" in (await edit(cell_id="calc", new_source="y")).content
    (tmp_path / "x.py").write_text("")
    assert (
        "Jupyter" in (await NOTEBOOK_EDIT.run({"notebook_path": str(tmp_path / "x.py"), "new_source": ""}, ctx)).content
    )
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert (await read(ctx, "broken.ipynb")).is_error


async def test_an_old_notebook_without_ids_is_edited_by_position(ctx, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = 4
    nb.cells = [nbformat.v4.new_code_cell("a = 1"), nbformat.v4.new_code_cell("b = 2")]
    for cell in nb.cells:
        del cell["id"]
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb))
    assert '<cell id="cell-1" type="code">' in texts(await read(ctx, path))
    result = await NOTEBOOK_EDIT.run({"notebook_path": str(path), "cell_id": "cell-1", "new_source": "b = 3"}, ctx)
    assert not result.is_error
    again = nbformat.read(str(path), as_version=4)
    nbformat.validate(again)
    assert again.cells[1].source == "b = 3"
    inserted = await NOTEBOOK_EDIT.run(
        {
            "notebook_path": str(path),
            "cell_id": "cell-0",
            "new_source": "c",
            "cell_type": "code",
            "edit_mode": "insert",
        },
        ctx,
    )
    assert not inserted.is_error
    nbformat.validate(nbformat.read(str(path), as_version=4))
