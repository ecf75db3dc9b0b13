"""Session files: append-only JSONL, one per session, written as things happen.

Line 1 is a header `{"v": 1, "type": "session", "session_id", "cwd", "model", "created", ...}`.
Every later line is `{"v": 1, "type": "message", "id", "parent_id", "ts", "message": {...}}` or a
record of another kind (`"result"`, `"notice"`, `"changes"`). Each line is flushed when written, so a crash or
`kill -9` loses nothing already shown.

Damage. A `kill -9` mid-write leaves a torn last line (no newline); a disk or an editor may leave
garbage or bytes that are not UTF-8. The reader keeps every record it can read, skips the others
and says how many it skipped (`LoadedSession.damage`); the writer starts a new line before its
first record when the file does not end with one, so a torn line never swallows the next record.
A file written by a newer sous (a header `"v"` above `SCHEMA_VERSION`) is refused, not appended
to: the older reader would misread it and mix two formats in one file.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sous.core import Message
from sous.paths import data_dir, sessions_dir
from sous.records import field, record

from .codec import from_dict, to_dict
from .ids import is_session_id

SCHEMA_VERSION = 1


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


class TranscriptWriter:
    """Appends records to one session file. Not thread-safe; one writer per session.

    Each record goes out in one `write` to a file opened for appending, so two sous processes
    continuing one session (`--continue` in two terminals) interleave whole lines, never parts of
    them. A link in place of the file is refused (`OSError`): the writer appends only to a file in
    the sessions folder. When a write fails (a full disk), the writer stops writing and `problem`
    says why; what was written before stays."""

    def __init__(self, path: Path, last_id: str | None = None):
        self.path = path
        self.last_id = last_id
        self.problem = ""
        self.error: OSError | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        self._fd: int | None = os.open(path, flags, 0o600)
        if not stat.S_ISREG(os.fstat(self._fd).st_mode):
            os.close(self._fd)
            raise OSError(f"{path}: not a regular file, so not a session file")
        _hold(self._fd)
        if _ends_torn(path):  # a write cut by kill -9: end that line, so the next record stands alone
            self._append(b"\n")

    @classmethod
    def create(cls, path: Path, *, session_id: str, cwd: str, model: str, **extra: Any) -> TranscriptWriter:
        writer = cls(path)
        writer.write(
            {"type": "session", "session_id": session_id, "cwd": cwd, "model": model, "created": _now(), **extra}
        )
        if writer.error is not None:  # a session whose header cannot be written is not one to go on writing
            path.unlink(missing_ok=True)
            raise writer.error
        return writer

    def write(self, record: dict[str, Any]) -> None:
        self._append(json_line({"v": SCHEMA_VERSION, **record}))

    def _append(self, data: bytes) -> None:
        if self._fd is None:
            return
        try:
            written = os.write(self._fd, data)
            if written != len(data):  # a full disk takes part of the line: end it, so it stays one torn line
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as e:
            self.error = e
            self.problem = (
                f"{self.path}: cannot write the session file ({e.strerror or e}); the rest of this session is not saved"
            )
            self.close()

    def message(self, message: Message) -> None:
        self.write(
            {"type": "message", "id": message.id, "parent_id": self.last_id, "ts": _now(), "message": to_dict(message)}
        )
        self.last_id = message.id

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def json_line(record: dict[str, Any]) -> bytes:
    """`record` as one line of UTF-8 JSON. Text holding a lone surrogate (bytes that were not UTF-8
    in an argument or a file name, as Python decodes them) cannot be UTF-8: the line is then
    written with `\\u` escapes, which read back as the same text."""
    try:
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(record) + "\n").encode("ascii")


def _hold(fd: int) -> None:
    """Take a shared lock on the open session file for as long as it is open: the start-up
    cleanup of old sessions (`sous.checkpoints.retention`) never removes a file so held."""
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except (ImportError, OSError):  # no flock here, or the cleanup holds it this very moment
        pass


def _ends_torn(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:
        return False


class UnreadableSession(ValueError):
    """The file is not a session sous can continue: no header anywhere, or a newer schema."""


@record(frozen=False)
class LoadedSession:
    path: Path
    header: dict[str, Any]
    messages: list[Message] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    """Every non-message record (results, notices), in file order."""
    skipped: int = 0
    """Lines that could not be read (torn, garbage, not a record sous knows) and were left out."""
    replaced: int = 0
    """Lines read with bytes that were not UTF-8 replaced by U+FFFD."""

    @property
    def session_id(self) -> str:
        """The file's name, which is the id `-r` found it by; the header's id only when the name
        is not one (a file renamed by hand). A header naming another session, a path or a number
        is not believed: the id decides which checkpoints and which file a rewind writes to."""
        claimed = self.header.get("session_id")
        if is_session_id(self.path.stem) or not (isinstance(claimed, str) and is_session_id(claimed)):
            return self.path.stem
        return claimed

    @property
    def model(self) -> str | None:
        """The model the session last ran on, as its header names it (None when it names none, or not as text)."""
        model = self.header.get("model")
        return model if isinstance(model, str) and model.strip() else None

    @property
    def damage(self) -> str:
        """One line saying what was wrong with the file, or "" when nothing was."""
        if not (self.skipped or self.replaced):
            return ""
        parts = [f"skipped {self.skipped} unreadable line{'s' * (self.skipped != 1)}"] if self.skipped else []
        if self.replaced:
            parts.append(f"replaced bad bytes in {self.replaced} line{'s' * (self.replaced != 1)}")
        kept = len(self.messages)
        return f"{self.path}: {' and '.join(parts)}; kept {kept} message{'s' * (kept != 1)}"


def load(path: Path) -> LoadedSession:
    """Read a session file, keeping every record that can be read (see the module docstring).

    Raises `UnreadableSession` when no line is a sous record (an empty file, or not JSONL at all)
    or the header's schema is newer than this sous; `OSError` when the file cannot be opened. A
    torn or garbled header is recovered from: the id is then the file name."""
    if stat.S_ISLNK(os.lstat(path).st_mode):  # a link could lead anywhere, and the writer would follow it
        raise UnreadableSession(f"{path}: a symbolic link, not a session file sous wrote")
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnreadableSession(f"{path}: not a regular file, so not a session file")
    header: dict[str, Any] | None = None
    session = LoadedSession(path=path, header={})
    compacted = False
    with open(fd, "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            record = _record(raw, session)
            if record is None:
                continue
            version = record.get("v", 1)
            if record.get("type") == "session" and version > SCHEMA_VERSION:
                raise UnreadableSession(
                    f"{path}: written by a newer sous (session format v{version}; this sous "
                    f"reads v{SCHEMA_VERSION}): update sous to continue it"
                )
            if not 1 <= version <= SCHEMA_VERSION:
                session.skipped += 1
                continue
            record = migrate(record)
            kind = record.get("type")
            if header is None and kind == "session":
                header = session.header = record
            elif kind == "message":
                try:
                    message = from_dict(record["message"])
                except (KeyError, TypeError, ValueError, AttributeError):
                    session.skipped += 1
                    continue
                if compacted:
                    session.messages.clear()
                    compacted = False
                session.messages.append(message)
            elif kind == "compact":
                # The summary that follows replaces what came before; with no summary after it (a crash
                # or a full disk just after this line), what came before is kept.
                compacted = True
                session.records.append(record)
            elif kind == "rewind":  # the conversation went back to before this message
                ids = [m.id for m in session.messages]
                if record.get("message_id") in ids:
                    del session.messages[ids.index(record["message_id"]) :]
                session.records.append(record)
            elif kind == "session":
                session.skipped += 1
            elif isinstance(kind, str):
                session.records.append(record)
            else:
                session.skipped += 1
    if header is None and not session.messages:
        raise UnreadableSession(f"{path}: not a sous session file (no readable session record)")
    if header is None:  # the header line itself was torn or garbled: the file name is the id
        session.skipped += 1
        session.header = {"type": "session", "session_id": path.stem}
    return session


def _record(raw: bytes, session: LoadedSession) -> dict[str, Any] | None:
    """One line as a record, or None (counted as skipped) when it is not a JSON object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        session.replaced += 1
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("v", 1), int):
        session.skipped += 1
        return None
    return record


MIGRATIONS: list = []
"""Functions turning a record of version N into version N+1, index N-1. Add one per schema change."""


def migrate(record: dict[str, Any]) -> dict[str, Any]:
    version = record.get("v", 1)
    while version < SCHEMA_VERSION:
        record = MIGRATIONS[version - 1](record)
        version += 1
    return record


def session_path(cwd: str, session_id: str, environ: Mapping[str, str] = os.environ) -> Path:
    return sessions_dir(cwd, environ) / f"{session_id}.jsonl"


def latest(cwd: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The most recently written session file of this project, if any. Empty files (a start
    killed before its first write) hold nothing to continue and are passed over, and so is
    anything but a regular file (a link, a FIFO)."""
    files = [p for p in list_sessions(cwd, environ) if _size(p)]
    return files[0] if files else None


def _size(path: Path) -> int | None:
    try:
        return path.lstat().st_size
    except OSError:
        return None


def find(session_id: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """A session file by id (or unique id prefix), searching every project. Only a session id
    is looked for (`ids.is_session_id`): a path, a pattern or `..` finds nothing."""
    if not is_session_id(session_id):
        return None
    exact: list[Path] = []
    prefixed: list[Path] = []
    for folder in _project_folders(data_dir(environ) / "sessions"):
        for name in _names(folder):
            stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else ""
            if stem == session_id:
                exact.append(folder / name)
            elif stem.startswith(session_id):
                prefixed.append(folder / name)
    if exact:
        return exact[0]
    return prefixed[0] if len(prefixed) == 1 else None


def _project_folders(root: Path) -> list[Path]:
    return [root / name for name in _names(root) if (root / name).is_dir() and not (root / name).is_symlink()]


def _names(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def list_sessions(cwd: str, environ: Mapping[str, str] = os.environ) -> list[Path]:
    """This project's session files, newest first: regular files only, so a link (which could lead
    anywhere) or a FIFO (which would block whoever opens it) is never offered to `-c` or `/resume`."""
    folder = sessions_dir(cwd, environ)
    found: list[tuple[float, Path]] = []
    for name in _names(folder):
        if not name.endswith(".jsonl"):
            continue
        try:
            info = (folder / name).lstat()
        except OSError:  # removed meanwhile
            continue
        if stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime, folder / name))
    return [path for _, path in sorted(found, key=lambda pair: pair[0], reverse=True)]
