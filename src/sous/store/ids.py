"""Ids in the shape Claude Code uses: session ids and the `uuid` of stream-json lines."""

from __future__ import annotations

import os


def new_uuid() -> str:
    """A random (version 4) UUID as text, for session ids and stream-json lines. Written out here
    because `import uuid` loads `platform`, a noticeable part of start-up."""
    digits = bytearray(os.urandom(16))
    digits[6] = (digits[6] & 0x0F) | 0x40
    digits[8] = (digits[8] & 0x3F) | 0x80
    h = digits.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
