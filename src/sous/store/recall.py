"""Recall: searching the text of one project's past sessions.

Every session file of a project lives in one folder (`sous.paths.sessions_dir`); this module reads
them as plain text (what the person typed, what the model answered, what the tools returned),
including the parts a compaction or a rewind later dropped from the conversation, and finds the
messages holding the words asked for. The SessionSearch tool and `/resume`'s search box both use
it. It only ever reads, only the one folder it is given, only regular files directly in it
(never a link, a FIFO or another project's folder), and only so much of each (`MAX_FILE_BYTES`).
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from sous.records import field, record

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Read at most this much of one session file (the start: the first prompts, the summaries)."""
MAX_SESSIONS = 500
"""Search at most this many sessions, the newest first."""
MAX_TEXT_CHARS = 20_000
"""Keep at most this much of one message's text (a long tool output is searched by its start)."""
SUMMARY_MARK = "This session continues from an earlier conversation that was compacted."


@record
class Entry:
    """One message of a past session, as text."""

    role: str
    """"user", "assistant" or "tool" (then `tool` names the tool)."""
    text: str
    ts: str = ""
    tool: str = ""


@record
class PastSession:
    """A past session read as text: its id, when it was last written, and its messages."""

    path: Path
    session_id: str
    modified: float
    """The file's last write (seconds since the epoch)."""
    entries: tuple[Entry, ...] = ()
    truncated: bool = False
    """The file was longer than `MAX_FILE_BYTES`; only its start was read."""
    haystack: str = ""
    """Every entry's text, lower-cased: what `matches` looks in (made once, searched at every key)."""

    @property
    def first_prompt(self) -> str:
        """The person's first prompt (a compaction summary is passed over), on one line."""
        for entry in self.entries:
            if (
                entry.role == "user"
                and entry.text.strip()
                and not entry.text.startswith(("<system-reminder>", SUMMARY_MARK))
            ):
                return " ".join(entry.text.split())
        return ""

    @property
    def summary(self) -> str:
        """The latest compaction summary in the file, or ""."""
        for entry in reversed(self.entries):
            if entry.role == "user" and entry.text.startswith(SUMMARY_MARK):
                return entry.text
        return ""

    @property
    def messages(self) -> int:
        return sum(entry.role in ("user", "assistant") for entry in self.entries)

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.modified))

    def matches(self, terms: Sequence[str]) -> bool:
        """Every term appears somewhere in the session (its prompts, answers, tool results)."""
        return all(term in self.haystack for term in terms)


@record
class Hit:
    """One message matching a search, with an excerpt around the first word found."""

    session_id: str
    date: str
    role: str
    excerpt: str
    score: int
    """How many of the search's terms the message holds."""
    first_prompt: str = ""
    tool: str = ""


@record(frozen=False)
class Found:
    hits: list[Hit] = field(default_factory=list)
    sessions_searched: int = 0
    complete: bool = True
    """False when only part of the hits matched every term (the rest hold some of them)."""


def terms(query: str) -> list[str]:
    """The words of a query, lower-cased; "quoted words" stay one term."""
    found = [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', query.lower())]
    return [t.strip() for t in found if t.strip()][:20]


def session_files(folder: Path, *, exclude: Iterable[str] = ()) -> list[Path]:
    """The session files directly in `folder`, newest first, regular files only (no links)."""
    skip = set(exclude)
    found: list[tuple[float, Path]] = []
    try:
        with os.scandir(folder) as listing:
            for item in listing:
                if not item.name.endswith(".jsonl") or item.name[: -len(".jsonl")] in skip:
                    continue
                try:
                    info = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    found.append((info.st_mtime, Path(item.path)))
    except OSError:  # no sessions yet, or not readable
        return []
    return [path for _, path in sorted(found, key=lambda pair: pair[0], reverse=True)]


def read(path: Path) -> PastSession | None:
    """A session file as text, or None when it cannot be read (gone, not a regular file, no
    sous record in it). Lines that are not sous records are skipped, as the loader does."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with open(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        data = f.read(MAX_FILE_BYTES + 1)
    truncated = len(data) > MAX_FILE_BYTES
    session_id, entries = path.stem, []
    for raw in data[:MAX_FILE_BYTES].splitlines():
        try:
            record = json.loads(raw.decode("utf-8", errors="replace"))
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("type") == "session" and isinstance(record.get("session_id"), str):
            session_id = record["session_id"]
        elif record.get("type") == "message" and (entry := _entry(record.get("message"), record.get("ts"))):
            entries.append(entry)
    return PastSession(
        path=path,
        session_id=session_id,
        modified=info.st_mtime,
        entries=tuple(entries),
        truncated=truncated,
        haystack="\n".join(e.text for e in entries).lower(),
    )


def _entry(message: object, ts: object) -> Entry | None:
    if not isinstance(message, dict):
        return None
    role = message.get("role")
    if role not in ("user", "assistant", "tool"):
        return None
    blocks = message.get("content")
    texts = (
        [
            b["text"]
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
        if isinstance(blocks, list)
        else []
    )
    text = "".join(texts)[:MAX_TEXT_CHARS]
    if not text.strip():
        return None
    tool = message.get("tool_name") if role == "tool" else ""
    return Entry(role=role, text=text, ts=ts if isinstance(ts, str) else "", tool=tool if isinstance(tool, str) else "")


def past_sessions(folder: Path, *, exclude: Iterable[str] = (), limit: int = MAX_SESSIONS) -> list[PastSession]:
    """The readable sessions of `folder` (newest first), at most `limit` of them."""
    out = []
    for path in session_files(folder, exclude=exclude)[:limit]:
        if (session := read(path)) is not None and session.entries:
            out.append(session)
    return out


def search(
    folder: Path, query: str, *, exclude: Iterable[str] = (), session_id: str = "", max_results: int = 10
) -> Found:
    """The messages of `folder`'s sessions holding the query's terms: those holding all of them,
    newest session first; when none does, those holding the most of them (`complete` is then
    False). `session_id` (or a prefix of it) limits the search to that session."""
    wanted = terms(query)
    found = Found()
    if not wanted:
        return found
    partial: list[Hit] = []
    for session in past_sessions(folder, exclude=exclude):
        if session_id and not session.session_id.startswith(session_id):
            continue
        found.sessions_searched += 1
        for entry in session.entries:
            lowered = entry.text.lower()
            score = sum(term in lowered for term in wanted)
            if not score:
                continue
            hit = Hit(
                session_id=session.session_id,
                date=_date(entry.ts) or session.date,
                role=entry.role,
                excerpt=excerpt(entry.text, wanted),
                score=score,
                first_prompt=session.first_prompt[:100],
                tool=entry.tool,
            )
            (found.hits if score == len(wanted) else partial).append(hit)
        if len(found.hits) >= max_results:
            break
    if not found.hits:
        found.complete = False
        found.hits = sorted(partial, key=lambda h: -h.score)
    found.hits = found.hits[:max_results]
    return found


def excerpt(text: str, wanted: Sequence[str], width: int = 320) -> str:
    """The part of `text` around the first term found, on one line, about `width` characters."""
    lowered = text.lower()
    positions = [p for p in (lowered.find(t) for t in wanted) if p >= 0]
    at = min(positions) if positions else 0
    start = max(0, at - width // 3)
    end = min(len(text), start + width)
    piece = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


def _date(ts: str) -> str:
    """ "2026-11-30T14:02:11.123Z" → "2026-11-30 14:02" (UTC, as written)."""
    return f"{ts[:10]} {ts[11:16]} UTC" if len(ts) >= 16 and ts[4] == "-" and ts[10] == "T" else ""
