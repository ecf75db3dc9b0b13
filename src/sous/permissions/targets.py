"""Files a shell command touches, and where they really are.

A `Target` is a word naming a file that a command reads, writes or deletes, with the directories
the shell may be in when it runs (`cd` is tracked, see `shell`). `resolve` turns it into real
paths: `~` is the home directory, a glob is matched against the disk as bash would (no match
leaves it as typed), symlinks are followed. It returns None when the path cannot be known
(a run-time piece, an unknown working directory): callers must then ask, never allow.
"""

from __future__ import annotations

import functools
import os
from itertools import islice
from typing import Literal

from sous.records import record

from .words import UNKNOWN, Word

Cwds = frozenset[str] | None
"""The directories a command may run in (absolute, or relative to the tool's cwd); None: unknown."""
TargetKind = Literal["read", "write", "delete"]
TreeKind = Literal["", "all", "visible"]
HARMLESS = {
    "/dev/null",
    "/dev/stdin",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/tty",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "-",
}
_MAX_MATCHES = 256


@record
class Target:
    """A file operand or redirection of one command."""

    word: Word
    cwds: Cwds
    kind: TargetKind
    synthetic: bool = False
    """A stand-in for files found at run time (`find DIR -exec rm {}`): assume it exists."""
    owner: int = -1
    """Index of the command (in `Analysis.commands`) whose program touches the file; -1 for a
    redirection or a wrapper's own file."""
    tree: TreeKind = ""
    """A folder read with every file below it (`grep -r`, `cp -r`, `mv`): "all", or "visible"
    when names starting with `.` are skipped (`rg`); Read rules on those files apply too."""

    def __str__(self) -> str:
        return self.word.text


def network(word: Word) -> bool:
    """`/dev/tcp/HOST/PORT` and `/dev/udp/...` are sockets in bash redirections."""
    if "/dev/" not in word.value and not word.value.startswith(UNKNOWN):
        return False
    value = os.path.normpath(word.value.replace(UNKNOWN, "x")) if word.value else ""
    return value.startswith(("/dev/tcp/", "/dev/udp/")) or (not word.known and "/dev/" in word.value)


def resolve(target: Target, cwd: str, home: str) -> list[str] | None:
    """Every real path `target` may name, or None when one of them cannot be known."""
    word = target.word
    value = word.value
    if UNKNOWN in value:
        return None
    if value in HARMLESS or value.startswith("/dev/fd/"):
        return []
    if word.tilde:
        value = home + value[1:]
    bases = [cwd] if target.cwds is None and os.path.isabs(value) else _bases(target.cwds, cwd, home)
    if bases is None:
        return None
    out: list[str] = []
    for base in bases:
        full = os.path.join(base, value)
        if word.glob:
            import glob as globbing  # only for a command with a wildcard

            matches = list(islice(globbing.iglob(full), _MAX_MATCHES + 1))
            if len(matches) > _MAX_MATCHES:
                return None
            static = full[: min((full.find(c) for c in "*?[" if c in full), default=len(full))]
            if os.sep + ".." in full[len(static) :]:
                return None  # `*/../..` climbs out of wherever the glob lands
            if matches:  # bash uses the matches; with none, the word stays as typed
                out.extend(_real(m, target.kind) for m in matches)
                continue
        out.append(_real(full, target.kind))
    return out


def _real(path: str, kind: str) -> str:
    """Where `path` leads; deleting a symlink (without a trailing slash) removes the link itself."""
    if kind != "delete" or path.endswith("/") or os.path.basename(path) in ("", ".", ".."):
        return os.path.realpath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def _bases(cwds: Cwds, cwd: str, home: str) -> list[str] | None:
    if cwds is None:
        return None
    out = []
    for d in cwds:
        if d == "~" or d.startswith("~/"):
            d = home + d[1:]
        out.append(os.path.join(cwd, d))
    return out


Roots = str | tuple[str, ...]
"""The project folder, or it and the added working folders (`--add-dir`), project first. Added
folders are resolved when they are added and taken as they are: a symlink put in place of one
later does not move it."""


def real_roots(root: Roots) -> list[str]:
    """The folders of `root` as paths are compared with them: the project resolved, the rest as given."""
    if isinstance(root, str):
        return [_real_root(root)]
    return [_real_root(root[0]), *root[1:]] if root else []


def inside(path: str, root: Roots) -> bool:
    """Is the resolved `path` the folder `root` (resolved), or one of the `root` folders, or below it?"""
    return any(path == real or path.startswith(real.rstrip(os.sep) + os.sep) for real in real_roots(root))


def is_root(path: str, root: Roots) -> bool:
    """Is the resolved `path` one of the `root` folders itself (the whole project, a whole added folder)?"""
    return path in real_roots(root)


@functools.lru_cache(maxsize=64)
def _real_root(root: str) -> str:
    # the project folder is resolved once: it is where sous was started, not something a command moves
    return os.path.realpath(root)
