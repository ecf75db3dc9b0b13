"""Finding and running ripgrep, the engine of Glob and Grep.

The `ripgrep` wheel from PyPI (a dependency of sous) puts `rg` in the interpreter's scripts folder,
which is not always on PATH (a venv that is not activated, `pipx`); so that folder is searched too.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import sysconfig

from sous.core import ToolError

MISSING = "ripgrep (rg) was not found: install it with `pip install ripgrep==14.1.0` or your package manager"


@functools.cache
def rg_path() -> str | None:
    if explicit := os.environ.get("SOUS_RG_PATH"):
        return explicit
    exe = "rg.exe" if os.name == "nt" else "rg"
    candidates = [shutil.which("rg"), os.path.join(sysconfig.get_path("scripts"), exe), "/usr/bin/rg"]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


async def run(args: list[str], cwd: str) -> tuple[int, bytes, str]:
    """Run `rg ARGS` in `cwd`; return (exit code, stdout, stderr). Killed if the call is cancelled."""
    rg = rg_path()
    if rg is None:
        raise ToolError(MISSING)
    proc = await asyncio.create_subprocess_exec(
        rg, "--no-config", *args, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:
        proc.kill()
        raise
    return proc.returncode or 0, out, err.decode("utf-8", errors="replace")
