"""What a sed script does besides printing: the files its `r`/`R` read and its `w`/`W`/`s///w`
write, and whether it runs commands (`e`, `s///e`).

GNU sed reads an address (`1`, `$`, `/re/I`, `\\%re%`, `first~step`, `addr,+N`, `addr,~N`), any
number of `!`, then a one-letter command, in any of these positions, inside `{...}` blocks too:
a regular expression here or a check of the text after `w` is not enough (`$e cmd`, `1!e cmd`,
`1~2w F` all evade one). A script this reader does not follow is `unreadable`, and callers ask.
"""

from __future__ import annotations

import re

from sous.records import field, record

_PLAIN = set("=dDgGhHnNpPxzF}")
"""Commands that only print or move text between buffers (`l`, `q`, `Q`, `L` take a number)."""
_NUMBERED = set("lqQL")
_LABELLED = set("btT:")
_TEXT = set("aic")
_FILE_READ = set("rR")
_FILE_WRITE = set("wW")
_ADDRESS = re.compile(r"\d+(?:~\d+)?|\$")


@record(frozen=False)
class SedScript:
    reads: list[str] = field(default_factory=list)
    """Files the script reads (`r FILE`, `R FILE`)."""
    writes: list[str] = field(default_factory=list)
    """Files the script writes (`w FILE`, `W FILE`, `s/a/b/w FILE`)."""
    runs: bool = False
    """The script runs shell commands (`e`, `s///e`)."""
    unreadable: bool = False
    """The script holds something this reader does not follow: treat it as running anything."""


def read_script(script: str) -> SedScript:
    """What `script` (one `-e` or the script operand) reads, writes or runs. Never raises."""
    out = SedScript()
    reader = _Reader(script, out)
    try:
        reader.commands()
    except _Unreadable:
        out.unreadable = True
    return out


class _Unreadable(Exception):
    pass


class _Reader:
    def __init__(self, text: str, out: SedScript) -> None:
        self.text, self.at, self.out = text, 0, out

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def skip_blanks(self, newlines: bool = False) -> None:
        while self.peek() and (self.peek() in " \t" or (newlines and self.peek() in "\n;")):
            self.at += 1

    def rest_of_line(self) -> str:
        end = self.text.find("\n", self.at)
        end = len(self.text) if end < 0 else end
        value, self.at = self.text[self.at : end], end
        return value

    def delimited(self, delimiter: str) -> None:
        """Move past a regular expression or replacement ending at `delimiter` (backslash escapes)."""
        if delimiter in ("", "\n", "\\"):
            raise _Unreadable
        while True:
            c = self.peek()
            if not c:
                raise _Unreadable
            self.at += 1
            if c == "\\":
                if not self.peek():
                    raise _Unreadable
                self.at += 1
            elif c == delimiter:
                return
            elif c == "[" and delimiter != "[":  # a bracket expression may hold the delimiter
                start = self.at + (self.text[self.at : self.at + 1] == "^")
                close = self.text.find("]", start + (self.text[start : start + 1] == "]"))
                if close < 0:
                    raise _Unreadable
                self.at = close + 1

    def address(self) -> bool:
        c = self.peek()
        if c == "/" or c == "\\":
            self.at += 1
            if c == "\\":
                c = self.peek()
                self.at += 1
            self.delimited(c)
            while self.peek() in ("I", "M") and self.peek():
                self.at += 1
            return True
        found = _ADDRESS.match(self.text, self.at)
        if found:
            self.at = found.end()
            return True
        return False

    def commands(self) -> None:
        while True:
            self.skip_blanks(newlines=True)
            if not self.peek():
                return
            if self.peek() == "#":
                self.rest_of_line()
                continue
            if self.address():
                self.skip_blanks()
                if self.peek() == ",":
                    self.at += 1
                    self.skip_blanks()
                    if self.peek() in ("+", "~"):
                        self.at += 1
                    if not self.address():
                        raise _Unreadable
            self.skip_blanks()
            while self.peek() == "!":
                self.at += 1
                self.skip_blanks()
            self.command()

    def command(self) -> None:
        c = self.peek()
        self.at += 1
        if c == "{" or c in _PLAIN:
            return
        if c in _NUMBERED:
            self.skip_blanks()
            while self.peek().isdigit():
                self.at += 1
        elif c in _LABELLED:
            while self.peek() and self.peek() not in ";\n":
                self.at += 1
        elif c in _TEXT:
            while self.peek():  # text to the end of the line, lines continued by a trailing backslash
                line = self.rest_of_line()
                if not line.endswith("\\") or not self.peek():
                    return
                self.at += 1
        elif c in _FILE_READ or c in _FILE_WRITE:
            self.skip_blanks()
            name = self.rest_of_line()
            if not name:
                raise _Unreadable
            (self.out.reads if c in _FILE_READ else self.out.writes).append(name)
        elif c == "e":
            self.out.runs = True
            self.rest_of_line()
        elif c == "v":
            while self.peek() and self.peek() not in ";\n}":
                self.at += 1
        elif c == "y":
            delimiter = self.peek()
            self.at += 1
            self.delimited(delimiter)
            self.delimited(delimiter)
        elif c == "s":
            self.substitution()
        else:
            raise _Unreadable

    def substitution(self) -> None:
        delimiter = self.peek()
        self.at += 1
        self.delimited(delimiter)
        self.delimited(delimiter)
        while (c := self.peek()) and c in "gpiImMe0123456789w":
            self.at += 1
            if c == "e":
                self.out.runs = True
            elif c == "w":
                self.skip_blanks()
                name = self.rest_of_line()
                if not name:
                    raise _Unreadable
                self.out.writes.append(name)
                return
        self.skip_blanks()
        if self.peek() and self.peek() not in ";\n}#":
            raise _Unreadable
