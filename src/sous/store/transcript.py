"""Session files: append-only JSONL, one per session, written as things happen.

Line 1 is a header `{"v": 1, "type": "session", "session_id", "cwd", "model", "created", ...}`.
Every later line is `{"v": 1, "type": "message", "id", "parent_id", "ts", "message": {...}}` or a
record of another kind (`"result"`, `"notice"`). Each line is flushed when written, so a crash or
`kill -9` loses nothing already shown. A reader skips a torn last line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sous.core import Message
from sous.paths import data_dir, sessions_dir

from .codec import from_dict, to_dict

SCHEMA_VERSION = 1


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


class TranscriptWriter:
    """Appends records to one session file. Not thread-safe; one writer per session."""

    def __init__(self, path: Path, last_id: str | None = None):
        self.path = path
        self.last_id = last_id
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the session's life

    @classmethod
    def create(cls, path: Path, *, session_id: str, cwd: str, model: str, **extra: Any) -> TranscriptWriter:
        writer = cls(path)
        writer.write({"type": "session", "session_id": session_id, "cwd": cwd, "model": model,
                      "created": _now(), **extra})
        return writer

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps({"v": SCHEMA_VERSION, **record}, ensure_ascii=False) + "\n")
        self._file.flush()

    def message(self, message: Message) -> None:
        self.write({"type": "message", "id": message.id, "parent_id": self.last_id, "ts": _now(),
                    "message": to_dict(message)})
        self.last_id = message.id

    def close(self) -> None:
        self._file.close()


@dataclass(slots=True, kw_only=True)
class LoadedSession:
    path: Path
    header: dict[str, Any]
    messages: list[Message] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    """Every non-message record (results, notices), in file order."""

    @property
    def session_id(self) -> str:
        return self.header.get("session_id") or self.path.stem


def load(path: Path) -> LoadedSession:
    """Read a session file. Lines that do not parse (a torn last write) are skipped; a file
    without a valid header raises ValueError."""
    header: dict[str, Any] | None = None
    session = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            record = migrate(record)
            if header is None:
                if record.get("type") != "session":
                    raise ValueError(f"{path}: not a sous session file")
                header = record
                session = LoadedSession(path=path, header=header)
            elif record.get("type") == "message":
                session.messages.append(from_dict(record["message"]))
            elif record.get("type") == "compact":  # the summary that follows replaces what came before
                session.messages.clear()
                session.records.append(record)
            elif record.get("type") == "rewind":  # the conversation went back to before this message
                ids = [m.id for m in session.messages]
                if record.get("message_id") in ids:
                    del session.messages[ids.index(record["message_id"]):]
                session.records.append(record)
            else:
                session.records.append(record)
    if session is None:
        raise ValueError(f"{path}: empty session file")
    return session


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
    """The most recently written session file of this project, if any."""
    folder = sessions_dir(cwd, environ)
    files = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    return files[0] if files else None


def find(session_id: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """A session file by id (or unique id prefix), searching every project."""
    root = data_dir(environ) / "sessions"
    exact = list(root.glob(f"*/{session_id}.jsonl"))
    if exact:
        return exact[0]
    matches = list(root.glob(f"*/{session_id}*.jsonl"))
    return matches[0] if len(matches) == 1 else None


def list_sessions(cwd: str, environ: Mapping[str, str] = os.environ) -> list[Path]:
    folder = sessions_dir(cwd, environ)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
