"""Finding and running ripgrep, the engine of Glob and Grep.

Where `rg` is looked for, in order: `SOUS_RG_PATH`, `PATH`, the running interpreter's scripts
folder (where the `ripgrep` wheel from PyPI puts it, not always on `PATH`: an unactivated venv,
pipx), then Debian's `/usr/bin/rg`. A candidate that is a `#!` script rather than the binary (a
pyenv or asdf shim) is taken only when nothing else is found: a shim costs ~70 ms per search,
rg itself ~2 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import operator
import os
import shutil
from collections.abc import Callable, Mapping

from sous.core import ToolError, ToolResult
from sous.records import record

MISSING = "ripgrep (rg) not found: pip install ripgrep==14.1.0 or apt install ripgrep"

OUTPUT_LIMIT = 32 * 1024 * 1024
"""Bytes of rg output read at most; past it rg is stopped (a search matching every line of a
huge tree must not fill memory)."""


VCS_DIRS = (".git", ".svn", ".hg", ".bzr", ".jj", ".sl")
"""Never listed by Glob nor searched by Grep (Claude Code leaves out the same folders)."""


@record(kw_only=False)
class RgOutput:
    code: int
    """rg's exit code: 0 matches, 1 no match, 2 an error (possibly with partial results)."""
    stdout: bytes
    stderr: str
    cut: bool = False
    """True when the output passed `limit` and rg was stopped early."""


def rg_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The rg executable to run, or None when there is none. Cached per `SOUS_RG_PATH`/`PATH`."""
    env = os.environ if environ is None else environ
    return _locate(env.get("SOUS_RG_PATH") or None, env.get("PATH", os.defpath))


@functools.cache
def _locate(explicit: str | None, search_path: str) -> str | None:
    if explicit is not None:
        return explicit if _executable(explicit) else None
    import sysconfig  # here, not at the top: it costs ~4 ms of start-up, and only a search needs it

    exe = "rg.exe" if os.name == "nt" else "rg"
    candidates = [shutil.which(exe, path=search_path), os.path.join(sysconfig.get_path("scripts"), exe), "/usr/bin/rg"]
    found = [c for c in candidates if c and _executable(c)]
    return next((c for c in found if not _is_script(c)), found[0] if found else None)


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _is_script(path: str) -> bool:
    with contextlib.suppress(OSError), open(path, "rb") as f:
        return f.read(2) == b"#!"
    return False


def vcs_excludes() -> list[str]:
    """rg flags leaving out the version-control folders."""
    return [arg for name in VCS_DIRS for arg in ("--glob", f"!{name}")]


def stamp(paths: list[str], base: str, into: list[tuple[float, str]]) -> None:
    """Append (modification time, path) for each of `paths` (absolute or relative to `base`) to
    `into`; a file gone meanwhile gets time 0, so it sorts last."""
    stat, join = os.stat, os.path.join
    for path in paths:
        try:
            into.append((stat(join(base, path)).st_mtime, path))
        except OSError:
            into.append((0.0, path))


def newest_first(stamped: list[tuple[float, str]]) -> list[str]:
    """The paths of `stamp()`'s list, newest first (ties keep rg's order)."""
    stamped.sort(key=operator.itemgetter(0), reverse=True)
    return [path for _, path in stamped]


def missing(environ: Mapping[str, str] | None = None) -> ToolResult | None:
    """The error result to return when rg cannot be found, else None."""
    return None if rg_path(environ) else ToolResult(content=MISSING, is_error=True)


async def run(
    args: list[str],
    *,
    cwd: str,
    environ: Mapping[str, str] | None = None,
    limit: int = OUTPUT_LIMIT,
    on_lines: Callable[[list[str]], None] | None = None,
) -> RgOutput:
    """Run `rg --no-config ARGS` in `cwd` and collect its output (at most `limit` bytes).

    `on_lines` is given the output lines as they arrive, so work on them (Glob's stat of each
    path) overlaps rg's walk instead of following it.

    Raises ToolError when rg is missing (tools check `missing()` first). If the awaiting task is
    cancelled, rg is killed and reaped before `CancelledError` propagates.
    """
    rg = rg_path(environ)
    if rg is None:
        raise ToolError(MISSING)
    proc = await asyncio.create_subprocess_exec(
        rg,
        "--no-config",
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    errors = asyncio.ensure_future(_read(proc.stderr, 65536, drain=True))
    try:
        stdout, cut = await _read(proc.stdout, limit, on_lines=on_lines)
        if cut:  # rg would block on a full pipe otherwise
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        stderr, _ = await errors
        code = await proc.wait()
    except asyncio.CancelledError:
        errors.cancel()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    return RgOutput(code=code, stdout=stdout, stderr=stderr.decode("utf-8", errors="replace"), cut=cut)


async def _read(
    stream: asyncio.StreamReader | None,
    limit: int,
    *,
    drain: bool = False,
    on_lines: Callable[[list[str]], None] | None = None,
) -> tuple[bytes, bool]:
    """Read `stream` to EOF, keeping the complete lines within `limit` bytes; the flag says
    whether more came. Past the limit the rest is discarded (`drain`) or left unread, in which
    case the caller must stop the writer. `on_lines` sees each kept line once, in order."""
    assert stream is not None
    chunks: list[bytes] = []
    size = reported = 0
    pending = b""
    while chunk := await stream.read(1 << 20):
        if size > limit:  # draining
            continue
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            if drain:
                continue
            break
        if on_lines is not None:
            pending += chunk
            if end := pending.rfind(b"\n") + 1:
                on_lines(pending[:end].decode("utf-8", errors="replace").splitlines())
                pending, reported = pending[end:], reported + end
    data = b"".join(chunks)
    cut = size > limit
    if cut:
        data = data[: data.rfind(b"\n", 0, limit) + 1 or limit]
    if on_lines is not None and len(data) > reported:
        on_lines(data[reported:].decode("utf-8", errors="replace").splitlines())
    return data, cut
