"""Read, Write, Edit and MultiEdit against real files."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from sous.core import Image, ToolContext
from sous.tools.edit import MULTI_EDIT
from sous.tools.edit import TOOL as EDIT
from sous.tools.read import TOOL as READ
from sous.tools.write import TOOL as WRITE

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))


async def read(ctx, path, **kw):
    return await READ.run({"file_path": str(path), **kw}, ctx)


# --- Read ---------------------------------------------------------------------------------


async def test_read_numbers_lines_like_cat_n(ctx, tmp_path):
    (tmp_path / "a.py").write_text("import os\n\nprint(os.name)\n")
    result = await read(ctx, "a.py")
    assert result.content == "     1\timport os\n     2\t\n     3\tprint(os.name)"
    assert result.data["file"]["totalLines"] == 3


async def test_read_offset_and_limit(ctx, tmp_path):
    (tmp_path / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    result = await read(ctx, "n.txt", offset=4, limit=2)
    assert result.content.startswith("     4\tline 4\n     5\tline 5")
    assert "PARTIAL view: showing lines 4-5 of 10. Continue with offset=6" in result.content


async def test_read_a_long_file_is_a_partial_view(ctx, tmp_path):
    (tmp_path / "big.txt").write_text("".join(f"{i}\n" for i in range(5000)))
    result = await read(ctx, "big.txt")
    assert "showing lines 1-2000 of 5000" in result.content and "offset=2001" in result.content


async def test_read_caps_characters_and_long_lines(ctx, tmp_path):
    (tmp_path / "wide.txt").write_text(("x" * 5000 + "\n") * 100)
    result = await read(ctx, "wide.txt")
    assert len(result.content) < 110_000
    assert "[line truncated]" in result.content and "PARTIAL view" in result.content


async def test_read_empty_file_and_offset_past_the_end(ctx, tmp_path):
    (tmp_path / "empty").write_text("")
    assert "exists but the contents are empty" in (await read(ctx, "empty")).content
    (tmp_path / "short").write_text("a\nb\n")
    assert "The file has 2 lines" in (await read(ctx, "short", offset=10)).content


async def test_read_missing_file_suggests_a_close_name(ctx, tmp_path):
    (tmp_path / "config.yaml").write_text("x")
    result = await read(ctx, "config.yml")
    assert result.is_error and result.content.startswith("File does not exist.")
    assert "config.yaml" in result.content


async def test_read_refuses_directories_and_binary_files(ctx, tmp_path):
    (tmp_path / "d").mkdir()
    assert "directory" in (await read(ctx, "d")).content
    (tmp_path / "blob.dat").write_bytes(b"\x00\x01\x02")
    assert (await read(ctx, "blob.dat")).is_error
    (tmp_path / "noext").write_bytes(b"ELF\x00\x00binary")
    result = await read(ctx, "noext")
    assert result.is_error and "binary" in result.content


async def test_read_image_returns_an_image_block(ctx, tmp_path):
    (tmp_path / "dot.png").write_bytes(PNG)
    result = await read(ctx, "dot.png")
    (block,) = result.content
    assert isinstance(block, Image) and block.media_type == "image/png"
    assert base64.b64decode(block.data) == PNG


async def test_read_crlf_and_bom_files_show_clean_text(ctx, tmp_path):
    (tmp_path / "win.txt").write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\n")
    assert (await read(ctx, "win.txt")).content == "     1\tone\n     2\ttwo"
    (tmp_path / "u16.txt").write_bytes("héllo\nwörld\n".encode("utf-16"))
    assert (await read(ctx, "u16.txt")).content == "     1\théllo\n     2\twörld"


# --- Edit ---------------------------------------------------------------------------------


async def test_edit_requires_a_read_first(ctx, tmp_path):
    (tmp_path / "a.txt").write_text("alpha\n")
    result = await EDIT.run({"file_path": "a.txt", "old_string": "alpha", "new_string": "beta"}, ctx)
    assert result.is_error and result.content == "File has not been read yet. Read it first before writing to it."
    assert (tmp_path / "a.txt").read_text() == "alpha\n"


async def test_edit_refuses_a_file_changed_behind_its_back(ctx, tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("alpha\n")
    await read(ctx, target)
    target.write_text("alpha and more\n")  # someone else edits it
    os.utime(target, ns=(1, 1))
    result = await EDIT.run({"file_path": str(target), "old_string": "alpha", "new_string": "beta"}, ctx)
    assert result.is_error and "modified since read" in result.content
    assert target.read_text() == "alpha and more\n"


async def test_edit_replaces_a_unique_string_and_shows_a_snippet(ctx, tmp_path):
    target = tmp_path / "a.py"
    target.write_text("def f():\n    return 1\n")
    await read(ctx, target)
    result = await EDIT.run({"file_path": str(target), "old_string": "return 1", "new_string": "return 2"}, ctx)
    assert not result.is_error
    assert target.read_text() == "def f():\n    return 2\n"
    assert "     2\t    return 2" in result.content
    assert result.data["structuredPatch"][0]["lines"] == [" def f():", "-    return 1", "+    return 2"]


async def test_edit_not_found_and_found_many_times(ctx, tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("x = 1\nx = 1\n")
    await read(ctx, target)
    missing = await EDIT.run({"file_path": str(target), "old_string": "y = 1", "new_string": "y = 2"}, ctx)
    assert missing.content == "String to replace not found in file.\nString: y = 1"
    many = await EDIT.run({"file_path": str(target), "old_string": "x = 1", "new_string": "x = 2"}, ctx)
    assert many.content.startswith("Found 2 matches of the string to replace, but replace_all is false.")
    same = await EDIT.run({"file_path": str(target), "old_string": "x", "new_string": "x"}, ctx)
    assert same.is_error and "No changes to make" in same.content
    every = await EDIT.run(
        {"file_path": str(target), "old_string": "x = 1", "new_string": "x = 2", "replace_all": True}, ctx
    )
    assert not every.is_error and target.read_text() == "x = 2\nx = 2\n"


async def test_edit_keeps_crlf_bom_and_mode(ctx, tmp_path):
    target = tmp_path / "run.sh"
    target.write_bytes(b"\xef\xbb\xbf#!/bin/sh\r\necho one\r\necho two\r\n")
    target.chmod(0o755)
    await read(ctx, target)
    result = await EDIT.run(
        {"file_path": str(target), "old_string": "echo one\necho two", "new_string": "echo one\necho 2\necho three"},
        ctx,
    )
    assert not result.is_error, result.content
    assert target.read_bytes() == b"\xef\xbb\xbf#!/bin/sh\r\necho one\r\necho 2\r\necho three\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


async def test_edit_keeps_utf16_and_latin1(ctx, tmp_path):
    u16 = tmp_path / "u16.txt"
    u16.write_bytes("héllo\n".encode("utf-16"))
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café\n".encode("latin-1"))
    for path in (u16, latin):
        await read(ctx, path)
    await EDIT.run({"file_path": str(u16), "old_string": "héllo", "new_string": "hällo"}, ctx)
    await EDIT.run({"file_path": str(latin), "old_string": "café", "new_string": "crème"}, ctx)
    assert u16.read_bytes() == "hällo\n".encode("utf-16")
    assert latin.read_bytes() == "crème\n".encode("latin-1")


async def test_edit_may_go_on_after_its_own_edit(ctx, tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("1\n")
    await read(ctx, target)
    await EDIT.run({"file_path": str(target), "old_string": "1", "new_string": "2"}, ctx)
    second = await EDIT.run({"file_path": str(target), "old_string": "2", "new_string": "3"}, ctx)
    assert not second.is_error and target.read_text() == "3\n"


async def test_edit_with_empty_old_string_creates_a_file(ctx, tmp_path):
    result = await EDIT.run({"file_path": "new/file.txt", "old_string": "", "new_string": "hi\n"}, ctx)
    assert not result.is_error and (tmp_path / "new" / "file.txt").read_text() == "hi\n"


async def test_multi_edit_is_all_or_nothing(ctx, tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("one two three\n")
    await read(ctx, target)
    failed = await MULTI_EDIT.run(
        {
            "file_path": str(target),
            "edits": [{"old_string": "one", "new_string": "1"}, {"old_string": "four", "new_string": "4"}],
        },
        ctx,
    )
    assert failed.is_error and failed.content.startswith("Edit 2 of 2 failed, nothing was changed")
    assert target.read_text() == "one two three\n"
    done = await MULTI_EDIT.run(
        {
            "file_path": str(target),
            "edits": [{"old_string": "one", "new_string": "1"}, {"old_string": "1 two", "new_string": "1 2"}],
        },
        ctx,
    )
    assert not done.is_error and target.read_text() == "1 2 three\n"


# --- Write --------------------------------------------------------------------------------


async def test_write_creates_a_file_and_its_folders(ctx, tmp_path):
    result = await WRITE.run({"file_path": "src/pkg/mod.py", "content": "x = 1\n"}, ctx)
    assert result.content == f"File created successfully at: {tmp_path / 'src/pkg/mod.py'}"
    assert (tmp_path / "src/pkg/mod.py").read_text() == "x = 1\n"
    assert result.data["type"] == "create"


async def test_write_over_an_unread_file_is_refused(ctx, tmp_path):
    (tmp_path / "keep.txt").write_text("precious\n")
    result = await WRITE.run({"file_path": "keep.txt", "content": "gone"}, ctx)
    assert result.is_error and "has not been read yet" in result.content
    assert (tmp_path / "keep.txt").read_text() == "precious\n"


async def test_write_keeps_line_endings_and_mode_and_leaves_no_temp_files(ctx, tmp_path):
    target = tmp_path / "w.bat"
    target.write_bytes(b"@echo off\r\n")
    target.chmod(0o700)
    await read(ctx, target)
    result = await WRITE.run({"file_path": str(target), "content": "@echo on\nrem two\n"}, ctx)
    assert result.data["type"] == "update"
    assert target.read_bytes() == b"@echo on\r\nrem two\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.bat"]
