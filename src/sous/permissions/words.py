"""Shell words as bash will see them: their literal value after brace expansion and quote removal.

A permission decision must look at what the program receives, not at what was typed:
`-de''lete`, `{-delete,-true}`, `$'\\x2ddelete'` and `\\-delete` all reach `find` as `-delete`.
A word is built from characters flagged quoted or not (quoted ones are never special), then
brace-expanded (so one typed word may become several), then its quotes are removed.

What only run time knows (a variable, a command substitution, an arithmetic result) is kept as
the `UNKNOWN` character inside the value: `src/$x` has the value "src/\\x00". Such a word is never
"safe": it may hold any text, spaces and leading dashes included.
"""

from __future__ import annotations

import re
from itertools import pairwise

from sous.records import field, record

UNKNOWN = "\x00"
"""Stands in a word's value for text that only run time knows (NUL cannot occur in a real word)."""
GLOB_CHARS = frozenset("*?[")
_MAX_WORDS = 64


@record(kw_only=False)
class Word:
    """One word handed to a program, after brace expansion and quote removal."""

    value: str
    """The literal value; `UNKNOWN` marks each piece known only at run time."""
    text: str
    """The word as typed (for messages and for rules written against the typed form)."""
    glob: bool = False
    """Unquoted `*`, `?` or `[`: the shell may replace the word by file names."""
    tilde: bool = False
    """An unquoted leading `~`: the value starts with the home directory."""
    split: bool = False
    """An unquoted run-time piece: bash may split it into several words, or none."""
    dashless: bool = False
    """A glob whose matches on disk, when the decision is made, all start with something other
    than `-`: it cannot turn into an option."""

    known: bool = field(init=False, repr=False, compare=False)
    """The program receives exactly `value` (no run-time part, no file-name expansion)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "known", UNKNOWN not in self.value and not self.glob)

    @property
    def may_be_option(self) -> bool:
        """Could the program read this word as an option (does it, or may it, start with `-`)?"""
        first = self.value[:1]
        return (
            first == "-"
            or first == UNKNOWN
            or (self.glob and first in GLOB_CHARS and not self.dashless)
            or self.value == ""
        )

    def render(self) -> str:
        """The value as rule matching sees it: run-time pieces stay `UNKNOWN`."""
        return self.value


Chars = list[tuple[str, bool]]
"""A word before expansion: each character with whether it was quoted (an UNKNOWN piece is
flagged unquoted when bash would split it into words)."""


def unquoted(text: str) -> Chars:
    """Characters of unquoted text: a backslash quotes the next character; backslash-newline vanishes."""
    out: Chars = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            if text[i + 1] != "\n":
                out.append((text[i + 1], True))
            i += 2
            continue
        out.append((c, False))
        i += 1
    return out


def double_quoted(text: str) -> Chars:
    """Characters inside "...": backslash quotes only $ ` " \\ and newline."""
    out: Chars = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\\n':
            if text[i + 1] != "\n":
                out.append((text[i + 1], True))
            i += 2
            continue
        out.append((c, True))
        i += 1
    return out


_ANSI = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def ansi_c(body: str) -> str | None:
    """The value of `$'...'` (without `$'` and `'`), or None when it holds an escape we do not model."""
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 == len(body):
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in _ANSI:
            out.append(_ANSI[e])
            i += 2
        elif e in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1 :])
            assert m is not None
            out.append(chr(int(m.group(), 8) & 0xFF))
            i += 1 + len(m.group())
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            m = re.match(f"[0-9a-fA-F]{{1,{width}}}", body[i + 2 :])
            if not m:
                return None
            out.append(chr(int(m.group(), 16)))
            i += 2 + len(m.group())
        elif e == "c" and i + 2 < len(body):
            out.append(chr(ord(body[i + 2]) & 0x1F))
            i += 3
        else:
            out.append("\\" + e)
            i += 2
    text = "".join(out)
    return None if "\x00" in text else text


def expand(chars: Chars, text: str) -> list[Word]:
    """Brace-expand and remove quotes; more than 64 results give one unknown word."""
    if ("{", False) not in chars:
        return [_finish(chars, text)]
    try:
        results = _braces(chars, 0)
    except OverflowError:
        return [Word(value=UNKNOWN, text=text)]
    return [_finish(r, text) for r in results]


def _finish(chars: Chars, text: str) -> Word:
    value = "".join(c for c, _ in chars)
    glob = any(c in GLOB_CHARS and not q for c, q in chars)
    split = any(c == UNKNOWN and not q for c, q in chars)
    tilde = bool(chars) and chars[0] == ("~", False) and (len(chars) == 1 or chars[1][0] == "/")
    if chars and chars[0] == ("~", False) and not tilde:
        value = UNKNOWN + value  # ~user or ~+: another user's home or a directory stack entry
    return Word(value=value, text=text, glob=glob, tilde=tilde, split=split)


def _braces(chars: Chars, budget: int) -> list[Chars]:
    i = 0
    while i < len(chars):
        if chars[i] != ("{", False):
            i += 1
            continue
        depth, commas, close = 0, [], -1
        for j in range(i, len(chars)):
            c, q = chars[j]
            if q:
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    close = j
                    break
            elif c == "," and depth == 1:
                commas.append(j)
        if close < 0:
            return [chars]
        if commas:
            bounds = [i, *commas, close]
            alternatives = [chars[a + 1 : b] for a, b in pairwise(bounds)]
        else:
            sequence = _sequence(chars[i + 1 : close])
            if sequence is None:
                i += 1
                continue
            alternatives = sequence
        out: list[Chars] = []
        for alternative in alternatives:
            out.extend(_braces(chars[:i] + alternative + chars[close + 1 :], budget))
            if len(out) > _MAX_WORDS:
                raise OverflowError
        return out
    return [chars]


def _sequence(inner: Chars) -> list[Chars] | None:
    if any(q for _, q in inner):
        return None
    m = re.fullmatch(r"(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?", "".join(c for c, _ in inner))
    if not m:
        return None
    a, b, step = m.group(1), m.group(2), abs(int(m.group(3) or 1)) or 1
    if a.lstrip("-").isdigit() != b.lstrip("-").isdigit():
        return None
    if a.lstrip("-").isdigit():
        lo, hi = int(a), int(b)
        if abs(hi - lo) // step > _MAX_WORDS:
            raise OverflowError
        values = [str(v) for v in range(lo, hi + (1 if hi >= lo else -1), step if hi >= lo else -step)]
    else:
        lo, hi = ord(a), ord(b)
        values = [chr(v) for v in range(lo, hi + (1 if hi >= lo else -1), step if hi >= lo else -step)]
    return [[(c, True) for c in v] for v in values]
