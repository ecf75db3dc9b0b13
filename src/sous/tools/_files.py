"""What Read, Write and Edit share: paths, text encodings, atomic writes and the read record.

Files are edited as text with `\\n` line endings in memory and written back exactly as they were
stored: the same encoding, byte-order mark, line endings and file mode. The read record
(`ctx.state["read_files"]`) remembers the size and mtime of every file read in this session, so an
edit of a file never read, or changed on disk since, is refused instead of clobbering it. A file
seen through the editor (`_editor`) is remembered by its text instead (`ctx.state["editor_texts"]`),
since its unsaved changes do not show on disk.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sous.core import ToolContext
from sous.records import record

if TYPE_CHECKING:
    from ._editor import Capability, Editor

BINARY_SUFFIXES = frozenset(
    [
        ".exe",
        ".dll",
        ".so",
        ".dylib",
        ".o",
        ".a",
        ".class",
        ".jar",
        ".war",
        ".pyc",
        ".pyo",
        ".whl",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
        ".7z",
        ".rar",
        ".tar",
        ".bin",
        ".dat",
        ".db",
        ".sqlite",
        ".sqlite3",
        ".pdf",
        ".doc",
        ".docx",
        ".xls",
        ".xlsx",
        ".ppt",
        ".pptx",
        ".odt",
        ".mp3",
        ".mp4",
        ".mov",
        ".avi",
        ".mkv",
        ".wav",
        ".flac",
        ".ogg",
        ".webm",
        ".ico",
        ".bmp",
        ".tiff",
        ".psd",
        ".ttf",
        ".otf",
        ".woff",
        ".woff2",
        ".eot",
        ".iso",
        ".dmg",
        ".img",
    ]
)

NOT_READ = "File has not been read yet. Read it first before writing to it."
CHANGED = (
    "File has been modified since read, either by the user or by a linter. Read it again before attempting to write it."
)

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def resolve(file_path: str, ctx: ToolContext) -> Path:
    """An absolute path for `file_path`, relative ones taken from the shell's working directory."""
    return Path(os.path.normpath(os.path.join(ctx.cwd, os.path.expanduser(file_path))))


@record(kw_only=False)
class TextFile:
    """A decoded text file: `text` uses `\\n`; the rest says how to write it back."""

    text: str
    encoding: str = "utf-8"
    bom: bytes = b""
    newline: str = "\n"

    def encode(self, text: str) -> bytes:
        text = text.replace("\r\n", "\n")
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        return self.bom + text.encode(self.encoding)


def decode(data: bytes) -> TextFile | None:
    """Decode file bytes, or return None when they look binary."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raw = data[len(bom) :].decode(encoding, errors="replace")
            return _text_file(raw, encoding, bom)
    if b"\0" in data[:8192]:
        return None
    try:
        raw = data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        raw, encoding = data.decode("latin-1"), "latin-1"  # any byte maps, so it writes back unchanged
    return _text_file(raw, encoding, b"")


def _text_file(raw: str, encoding: str, bom: bytes) -> TextFile:
    crlf = raw.count("\r\n")
    newline = "\r\n" if crlf and crlf >= raw.count("\n") - crlf else "\n"
    return TextFile(text=raw.replace("\r\n", "\n"), encoding=encoding, bom=bom, newline=newline)


ADDED_DIRS = "added_dirs"
"""`ctx.state` key: the list of further working folders (`--add-dir`, `/add-dir`), each resolved
when it was added; one list, shared with sub-agents, so a folder added later reaches them too."""


def added_dirs(ctx: ToolContext) -> tuple[str, ...]:
    """The working folders added to the project, resolved (symlinks followed) when they were added."""
    return tuple(ctx.state.get(ADDED_DIRS) or ())


def inside(path: str, root: str) -> bool:
    """Whether `path` is `root` or lies below it, symlinks resolved."""
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def looks_binary(path: Path) -> bool:
    return path.suffix.lower() in BINARY_SUFFIXES


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename, keeping the file's mode."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".sous-tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def from_text(raw: str) -> TextFile:
    """A file's text as the editor holds it (already decoded): written back with its own line endings."""
    return _text_file(raw, "utf-8", b"")


def record_read(ctx: ToolContext, path: Path, text: str | None = None) -> None:
    """Remember that the model has seen the file as it is now. `text`: what it saw through the
    editor, which may differ from the disk (unsaved changes), so it is what later edits compare."""
    key = str(path)
    with contextlib.suppress(OSError):  # a buffer the editor has not saved yet may not be on disk
        st = os.stat(path)
        ctx.state.setdefault("read_files", {})[key] = (st.st_mtime_ns, st.st_size)
    seen = ctx.state.setdefault("editor_texts", {})
    if text is None:
        seen.pop(key, None)
    else:
        seen[key] = _digest(text)


def _digest(text: str) -> str:
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8", errors="surrogatepass")).hexdigest()


def stale_reason(ctx: ToolContext, path: Path, current: str | None = None) -> str | None:
    """Why an existing file may not be changed now (never read, or changed since), or None.
    `current`: its text as the editor has it now, compared with what was last seen through the
    editor (the disk's size and time say nothing of unsaved changes)."""
    key = str(path)
    seen_text = ctx.state.get("editor_texts", {}).get(key)
    if current is not None and seen_text is not None:
        return None if _digest(current) == seen_text else CHANGED
    seen = ctx.state.get("read_files", {}).get(key)
    if seen is None:
        return NOT_READ
    st = os.stat(path)
    if (st.st_mtime_ns, st.st_size) != seen:
        return CHANGED
    return None


def numbered(lines: list[str], start: int) -> str:
    """`cat -n` style: the 1-based line number right-aligned in 6 columns, a tab, the line."""
    return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(lines, start))


def structured_patch(old: str, new: str) -> list[dict[str, Any]]:
    """The hunks of a unified diff, in the shape Claude Code puts in `structuredPatch`."""
    import difflib  # only when a change is shown: not on the way to the first request

    hunks = []
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    a, b = old.splitlines(), new.splitlines()
    for group in matcher.get_grouped_opcodes(3):
        first, last = group[0], group[-1]
        lines = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + line for line in a[i1:i2]]
            else:
                lines += ["-" + line for line in a[i1:i2]] + ["+" + line for line in b[j1:j2]]
        hunks.append(
            {
                "oldStart": first[1] + 1,
                "oldLines": last[2] - first[1],
                "newStart": first[3] + 1,
                "newLines": last[4] - first[3],
                "lines": lines,
            }
        )
    return hunks


class EditorError(Exception):
    """The editor refused, failed or did not answer in time: one line the model can read."""


def editor(ctx: ToolContext, capability: Capability) -> Editor | None:
    """The editor to go through for `capability`, or None to work locally."""
    found = ctx.state.get("editor")
    return found if found is not None and found.offers(capability) else None


async def save(path: Path, ctx: ToolContext, form: TextFile, data: bytes) -> bool:
    """Write `data` (the text encoded in `form`) to `path`: through the editor when it takes
    writes (its buffer then holds the text, without the byte-order mark), else atomically on disk.
    True when it went through the editor. Raises `EditorError` or `OSError`."""
    through = editor(ctx, "writes")
    if through is None:
        atomic_write(path, data)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)  # as a local write would
    await through.write_text(str(path), data[len(form.bom) :].decode(form.encoding))
    return True
