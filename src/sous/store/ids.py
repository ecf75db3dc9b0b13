"""Ids in the shape Claude Code uses: session ids and the `uuid` of stream-json lines."""

from __future__ import annotations

import os
import re

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def is_session_id(text: str) -> bool:
    """Whether `text` can name a session file: letters, digits, `-`, `_` and `.` (not first),
    nothing that makes it a path (`/`, `..`), a glob pattern, or a line of its own."""
    return isinstance(text, str) and bool(_SESSION_ID.fullmatch(text)) and ".." not in text


def new_uuid() -> str:
    """A random (version 4) UUID as text, for session ids and stream-json lines. Written out here
    because `import uuid` loads `platform`, a noticeable part of start-up."""
    digits = bytearray(os.urandom(16))
    digits[6] = (digits[6] & 0x0F) | 0x40
    digits[8] = (digits[8] & 0x3F) | 0x80
    h = digits.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
