"""Stand-ins: what holds a protected path that does not exist yet while sandboxed commands run.

The sandbox mounts a read-only copy over each protected path (`.mcp.json`, `.git/hooks`, ...);
to forbid creating a missing one, something must be there to mount over. A stand-in is an empty
folder (mode 0555; git does not list empty folders) or a small read-only file with a content the
program reading that path accepts (mode 0444). It is recognised by that signature, so a stand-in
left by another sous process, or by one that was killed, is reused and cleaned up too.

Removing a path on the host detaches the mounts over it in every sandbox (Linux does that for a
mount point removed in another mount namespace), so a stand-in may only go once no sandboxed
command anywhere uses it: each process holds a shared `flock` on every stand-in its running
commands use, and a stand-in is removed, `LINGER_S` after this process's last sandboxed command
ended, only under an exclusive lock taken without waiting.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import stat
import threading

LINGER_S = 2.0
"""Stand-ins are removed this long after the last sandboxed command ended (removing one costs a few
ms, and an agent's commands come in bursts)."""

_lock = threading.Lock()
"""Guards `_leases` and `_running` (the removal runs on a timer thread)."""
_running = 0
_leases: dict[str, tuple[int, str | None]] = {}
"""Stand-ins this process's running commands use: path -> (fd holding a shared flock, content)."""


def is_stand_in(path: str, content: str | None) -> bool:
    """Whether `path` has a stand-in's signature (`content` None: an empty folder)."""
    try:
        info = os.lstat(path)
        if content is None:
            return stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o555 and not os.listdir(path)
        if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != 0o444 or info.st_size != len(content):
            return False
        with open(path, encoding="utf-8") as f:
            return f.read() == content
    except (OSError, UnicodeDecodeError):
        return False


def hold(path: str, content: str | None) -> bool:
    """Make (or reuse) the stand-in at the missing `path` and lease it for this process's running
    commands; False when it cannot be had (the folder it goes in is not writable). Call inside
    `running()`."""
    for _ in range(5):  # another process may remove it between our creating and our locking it
        try:
            if content is None:
                os.mkdir(path)
                os.chmod(path, 0o555)
            else:
                with open(path, "x", encoding="utf-8") as f:
                    f.write(content)
                os.chmod(path, 0o444)
        except FileExistsError:
            pass
        except OSError:
            return False
        if path in _leases and _same(_leases[path][0], path):
            return True
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a remover holds it
        if _same(fd, path) and is_stand_in(path, content):
            if path in _leases:
                os.close(_leases[path][0])
            _leases[path] = (fd, content)
            return True
        os.close(fd)
    return False


def _same(fd: int, path: str) -> bool:
    try:
        a, b = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class running:
    """`with running():` counts one more sandboxed command while its stand-ins are made."""

    def __enter__(self) -> None:
        global _running
        _lock.acquire()
        _running += 1

    def __exit__(self, *exc) -> None:
        _lock.release()


def release() -> None:
    """A sandboxed command has ended: once none of this process's has run for `LINGER_S`, its
    leases end and the stand-ins no other process uses are removed."""
    global _running
    with _lock:
        _running = max(_running - 1, 0)
        if _running or not _leases:
            return
    timer = threading.Timer(LINGER_S, _remove_if_idle)
    timer.daemon = True
    timer.start()


def _remove_if_idle() -> None:
    with _lock:
        if not _running:
            _remove()


def _remove() -> None:
    leases = sorted(_leases.items(), reverse=True)  # deepest first
    _leases.clear()
    for _, (fd, _content) in leases:
        os.close(fd)
    for path, (_fd, content) in leases:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same(fd, path) and is_stand_in(path, content):
                (os.rmdir if content is None else os.unlink)(path)
        except OSError:
            pass  # another process's command still uses it: that process removes it later
        finally:
            os.close(fd)


def held() -> list[str]:
    """The stand-ins this process holds now."""
    with _lock:
        return sorted(_leases)


@atexit.register
def _at_exit() -> None:
    with _lock:
        _remove()
