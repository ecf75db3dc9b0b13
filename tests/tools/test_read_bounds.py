"""Read never blocks on a special file and never loads a huge file whole."""

from __future__ import annotations

import asyncio
import os
import socket
import tracemalloc
from pathlib import Path

import pytest

from sous.core import ToolContext
from sous.tools.read import TOOL as READ


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))


async def read(ctx, path, **kw):
    # A read that blocks fails the test in 5 s instead of hanging it.
    return await asyncio.wait_for(READ.run({"file_path": str(path), **kw}, ctx), 5)


async def test_a_fifo_is_refused_at_once(ctx, tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    result = await read(ctx, fifo)
    assert result.is_error and "named pipe (FIFO), not a regular file" in result.content
    png = tmp_path / "pipe.png"  # the image branch must not open it either
    os.mkfifo(png)
    assert (await read(ctx, png)).is_error


@pytest.mark.parametrize(
    ("device", "kind"),
    [("/dev/zero", "character device"), ("/dev/urandom", "character device"), ("/dev/null", "character device")],
)
async def test_devices_are_refused(ctx, device, kind):
    result = await read(ctx, device)
    assert result.is_error and kind in result.content and "\n" not in result.content


async def test_a_socket_is_refused(ctx, tmp_path):
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        result = await read(ctx, path)
    finally:
        server.close()
    assert result.is_error and "a socket" in result.content


async def test_a_symlink_to_a_device_is_refused(ctx, tmp_path):
    (tmp_path / "innocent.txt").symlink_to("/dev/zero")
    assert "character device" in (await read(ctx, tmp_path / "innocent.txt")).content


async def test_a_2_gb_file_is_paged_without_loading_it(ctx, tmp_path):
    path = tmp_path / "huge.log"
    with open(path, "wb") as f:
        f.write(b"".join(b"entry %d\n" % i for i in range(1, 5001)))
        f.truncate(2 * 2**30)  # sparse: 2 GB on paper, no disk used
    tracemalloc.start()
    try:
        result = await read(ctx, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak
    assert not result.is_error
    lines = result.content.splitlines()
    assert lines[0] == "     1\tentry 1" and lines[1999] == "  2000\tentry 2000"
    assert "PARTIAL view: showing lines 1-2000 of a file over 4 MB" in result.content
    assert "offset=2001" in result.content


async def test_offset_and_limit_in_a_large_file_return_exactly_those_lines(ctx, tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"".join(b"line %d %s\n" % (i, b"x" * 40) for i in range(1, 200_001)))
    assert path.stat().st_size > 4 * 2**20
    result = await read(ctx, path, offset=150_000, limit=3)
    assert [line.split("\t")[1].split()[1] for line in result.content.splitlines()[:3]] == [
        "150000",
        "150001",
        "150002",
    ]
    assert result.data["file"]["numLines"] == 3 and "offset=150003" in result.content
    past = await read(ctx, path, offset=300_000)
    assert "shorter than the provided offset" in past.content and "200000 lines" in past.content


async def test_one_endless_line_is_cut_not_loaded(ctx, tmp_path):
    path = tmp_path / "minified.js"
    with open(path, "wb") as f:
        f.write(b"var a=1;" * (8 * 2**20 // 8))  # 8 MB, no newline
        f.write(b"\nsecond line\n")
    tracemalloc.start()
    try:
        result = await read(ctx, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak
    first, second = result.content.splitlines()[:2]
    assert first.endswith("… [line truncated]") and len(first) < 2100
    assert second == "     2\tsecond line"


async def test_a_proc_file_still_reads(ctx):
    result = await read(ctx, "/proc/self/status")
    assert not result.is_error and "Name:" in result.content
