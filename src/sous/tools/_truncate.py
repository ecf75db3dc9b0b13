"""Output caps that always say what they cut."""

from __future__ import annotations

DEFAULT_LIMIT = 30_000


def head_tail(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """Keep the first and last parts of `text` within `limit` characters, with a note in the
    middle naming how many characters and lines were cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    cut = text[half : len(text) - half]
    note = f"\n\n[... {len(cut)} characters ({cut.count(chr(10))} lines) truncated ...]\n\n"
    return text[:half] + note + text[len(text) - half :]


def head(text: str, limit: int = DEFAULT_LIMIT, hint: str = "") -> str:
    """Keep the first `limit` characters of `text`, with a note of what was cut and `hint`."""
    if len(text) <= limit:
        return text
    rest = text[limit:]
    note = f"\n[... {len(rest)} more characters ({rest.count(chr(10))} lines) truncated{'; ' + hint if hint else ''}]"
    return text[:limit] + note


def paths(items: list[str], limit: int, what: str = "results", total: int | None = None) -> str:
    """Join `items` one per line, keeping at most `limit`, with a note when some were left out
    (`total` is the full count when `items` was already cut)."""
    total = len(items) if total is None else total
    text = "\n".join(items[:limit])
    if total > min(limit, len(items)):
        text += (
            f"\n(Results are truncated: showing {min(limit, len(items))} of {total} {what}. "
            "Use a more specific path or pattern.)"
        )
    return text
