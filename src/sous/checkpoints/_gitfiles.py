"""The shadow repository's refs and objects, read and written in-process where git's file formats
make that exact, so that a snapshot starts fewer git processes.

Each reader answers only for the plain cases it can read without doubt and returns None for any
other (a symbolic ref, a packed object, a file it cannot parse): the caller then asks git, so an
unusual repository costs a process, never a wrong answer. Writers write loose objects and loose
refs, as git does, each file whole (a temporary file renamed over it).
"""

from __future__ import annotations

import hashlib
import os
import re
import zlib
from pathlib import Path

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""The id of the tree with no entries (what `git write-tree` gives for an empty index)."""
_OBJECT_ID = re.compile(rb"[0-9a-f]{40}")


def write_object(git_dir: Path, kind: str, body: bytes) -> str:
    """Store a loose object of `kind` ("commit", "tree", ...) unless it is there already; returns its id."""
    raw = f"{kind} {len(body)}\0".encode() + body
    name = hashlib.sha1(raw).hexdigest()  # git's object name, not a security hash
    path = git_dir / "objects" / name[:2] / name[2:]
    if not path.exists():
        write_atomic(path, zlib.compress(raw))
    return name


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def read_ref(git_dir: Path, name: str) -> str | None:
    """The commit a ref names, "" when there is no such ref, None when git must say (a symbolic
    ref, or a file that is not what git writes). As git looks: the loose file first, then
    `packed-refs` (where `git gc` moves refs)."""
    try:
        loose = (git_dir / name).read_bytes()
    except FileNotFoundError:
        pass
    except OSError:  # a folder in its place, no permission: git will tell
        return None
    else:
        return _object_id(loose.rstrip(b"\n"))
    try:
        packed = (git_dir / "packed-refs").read_bytes()
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    wanted = name.encode()
    for line in packed.splitlines():
        if line[:1] in (b"#", b"^"):  # the header, or the commit under an annotated tag
            continue
        found, _, ref = line.partition(b" ")
        if ref == wanted:
            return _object_id(found)
    return ""


def commit_tree(git_dir: Path, commit: str) -> str | None:
    """The tree of a loose commit object; None when the commit is packed or unreadable."""
    if not _OBJECT_ID.fullmatch(commit.encode()):
        return None
    try:
        raw = zlib.decompress((git_dir / "objects" / commit[:2] / commit[2:]).read_bytes())
    except (OSError, zlib.error):
        return None
    header, _, body = raw.partition(b"\0")
    if not header.startswith(b"commit ") or not body.startswith(b"tree ") or body[45:46] != b"\n":
        return None
    return _object_id(body[5:45])


def _object_id(text: bytes) -> str | None:
    return text.decode() if _OBJECT_ID.fullmatch(text) else None
