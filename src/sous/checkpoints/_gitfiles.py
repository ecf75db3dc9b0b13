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
import struct
import zlib
from pathlib import Path

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""The id of the tree with no entries (what `git write-tree` gives for an empty index)."""
_OBJECT_ID = re.compile(rb"[0-9a-f]{40}")


def write_object(git_dir: Path, kind: str, body: bytes) -> str:
    """Store a loose object of `kind` ("commit", "tree", ...); returns its id. One already there is
    given the current time instead, as git does: `git gc --prune` then leaves alone an object that
    was unreferenced (an expired checkpoint's tree) but is used again."""
    raw = b"%s %d\0%s" % (kind.encode(), len(body), body)
    name = hashlib.sha1(raw).hexdigest()  # git's object name, not a security hash
    path = os.path.join(git_dir, "objects", name[:2], name[2:])  # not pathlib: a tree is written per folder
    try:
        os.utime(path)
    except OSError:  # not there (or not ours to touch): written anew
        write_atomic(Path(path), zlib.compress(raw))
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


_MODES = {0o100644: b"100644", 0o100755: b"100755", 0o120000: b"120000", 0o160000: b"160000"}
INDEX_BYTES_READ = 32 * 1024
"""An index up to this size (about 350 files) has its tree made here, in about a millisecond on the
event loop at most (50 files: 0.3 ms); `git write-tree` costs 2 to 4 ms. A bigger index is left to
git, whose cache of trees in the index makes it the faster then (10,000 files: about 2 ms, against
10 ms here), and which keeps the event loop free meanwhile."""


def index_tree(git_dir: Path) -> str | None:
    """What `git write-tree` would answer for the store's index (`<git_dir>/index`), its tree
    objects written as loose objects; None, for git to answer, when the index is over
    `INDEX_BYTES_READ` or not one this reads without doubt: any version but 2 and 3, an entry with
    extended flags (intent to add, sparse checkout) or in a merge stage, a mode trees do not hold,
    a checksum that does not match (a file being replaced, or `index.skipHash`), paths out of order
    or that git would refuse (an empty part, a file where a folder is)."""
    try:
        data = (git_dir / "index").read_bytes()
    except FileNotFoundError:
        return write_object(git_dir, "tree", b"")  # no index: an empty one
    except OSError:
        return None
    entries = _index_entries(data) if len(data) <= INDEX_BYTES_READ else None
    if entries is None:
        return None
    try:
        return _write_tree(git_dir, entries, 0, len(entries), 0)
    except _FileAndFolder:
        return None


def _index_entries(data: bytes) -> list[tuple[bytes, bytes, bytes]] | None:
    """(path, mode as a tree writes it, object id) for each entry of an index file, in its order."""
    if len(data) < 32 or data[:4] != b"DIRC" or hashlib.sha1(data[:-20]).digest() != data[-20:]:
        return None
    version, count = struct.unpack_from(">II", data, 4)
    if version not in (2, 3):
        return None
    entries: list[tuple[bytes, bytes, bytes]] = []
    offset = 12
    for _ in range(count):
        if offset + 62 > len(data) - 20:
            return None
        (mode,) = struct.unpack_from(">I", data, offset + 24)
        object_id = data[offset + 40 : offset + 60]
        (flags,) = struct.unpack_from(">H", data, offset + 60)
        if flags & 0x7000 or mode not in _MODES:  # extended flags, or a merge stage
            return None
        length = flags & 0xFFF
        start = offset + 62
        end = data.find(b"\0", start, len(data) - 20) if length == 0xFFF else start + length
        if not start < end <= len(data) - 20:
            return None
        path = data[start:end]
        if (entries and path <= entries[-1][0]) or path.startswith(b"/") or path.endswith(b"/") or b"//" in path:
            return None
        entries.append((path, _MODES[mode], object_id))
        offset += (62 + (end - start) + 8) & ~7
    return entries


class _FileAndFolder(Exception):
    """A path is both a file and a folder in the index: git refuses to write such a tree."""


def _write_tree(git_dir: Path, entries: list[tuple[bytes, bytes, bytes]], first: int, last: int, cut: int) -> str:
    """Write the tree of `entries[first:last]`, whose paths share their first `cut` bytes (the
    folder, with its slash); returns its id. Entries are sorted by path, so a folder's entries are
    consecutive, and a tree's entries come out in git's order (a folder sorts as its name + "/")."""
    body, i, files = bytearray(), first, set[bytes]()
    while i < last:
        path, mode, object_id = entries[i]
        slash = path.find(b"/", cut)
        if slash < 0:
            body += mode + b" " + path[cut:] + b"\0" + object_id
            files.add(path[cut:])
            i += 1
            continue
        if path[cut:slash] in files:  # "a" and "a/b" (a file sorts before its namesake folder)
            raise _FileAndFolder
        folder = path[: slash + 1]
        end = i + 1
        while end < last and entries[end][0].startswith(folder):
            end += 1
        subtree = _write_tree(git_dir, entries, i, end, slash + 1)
        body += b"40000 " + path[cut:slash] + b"\0" + bytes.fromhex(subtree)
        i = end
    return write_object(git_dir, "tree", bytes(body))
