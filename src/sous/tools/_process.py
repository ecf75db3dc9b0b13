"""Child processes for Bash: own process group, capped capture, and killing the whole group.

Every command runs in a new session (`start_new_session=True`), so the process group id is the
shell's pid and one `killpg` reaches everything it started: pipelines, `&` children, `sleep`s.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import shutil
import signal
import tempfile
import weakref
from collections.abc import Callable

_live: weakref.WeakSet[asyncio.subprocess.Process] = weakref.WeakSet()
"""Every process group started here and not yet reaped, for `kill_all()` at exit."""


@functools.cache
def scratch_dir() -> str:
    """A folder of this process's own, writable inside the sandbox when there is one (Bash keeps
    its cwd file there; its `tmp` is the sandbox's /tmp)."""
    folder = tempfile.mkdtemp(prefix="sous-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


class CappedBuffer:
    """Keeps the first and the last `limit` bytes of a stream and counts what it dropped, so a
    command printing gigabytes costs a bounded amount of memory."""

    def __init__(self, limit: int):
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        if len(self.tail) > self.limit:
            cut = len(self.tail) - self.limit
            self.dropped += cut
            del self.tail[:cut]

    def text(self, limit: int) -> str:
        """The captured output within `limit` characters, with a note saying what was cut."""
        from ._truncate import head_tail

        if not self.dropped:
            return head_tail(_decode(bytes(self.head + self.tail)), limit)
        half = limit // 2
        first, last = _decode(bytes(self.head))[:half], _decode(bytes(self.tail))[-half:]
        cut = self.total - len(first.encode()) - len(last.encode())
        return f"{first}\n\n[... {cut} bytes of output truncated ...]\n\n{last}"

    def __len__(self) -> int:
        return self.total


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


async def start(
    argv: list[str], *, cwd: str, env: dict[str, str], merge_stderr: bool = False, pass_fds: tuple[int, ...] = ()
) -> asyncio.subprocess.Process:
    creating = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
            start_new_session=True,
            pass_fds=pass_fds,
        )
    )
    try:
        proc = await asyncio.shield(creating)
    except asyncio.CancelledError:
        # Interrupted while the process is being made: asyncio would kill only its first process
        # and then wait for the pipes, which that process's children hold open. Let it be made,
        # then kill its whole group.
        with contextlib.suppress(OSError):
            made = await creating
            kill_now(made)
            await made.wait()
        raise
    _live.add(proc)
    return proc


async def pump(
    stream: asyncio.StreamReader | None, into: CappedBuffer, progress: Callable[[str], None] | None = None
) -> None:
    """Copy `stream` into `into` until EOF, reporting each chunk to `progress`."""
    if stream is None:
        return
    while chunk := await stream.read(65536):
        into.add(chunk)
        if progress is not None:
            progress(_decode(chunk))


def kill_now(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the whole process group at once (used on interrupt, where waiting is wrong)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def terminate(proc: asyncio.subprocess.Process, grace_s: float = 1.0) -> None:
    """SIGTERM the group, give it `grace_s` to exit, then SIGKILL whatever is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(proc.wait(), grace_s)
    kill_now(proc)
    await proc.wait()


def kill_all() -> None:
    """Kill every process group still running (session close, interpreter exit)."""
    for proc in list(_live):
        if proc.returncode is None:  # a reaped pid may already belong to someone else
            kill_now(proc)
    _live.clear()
