"""Reading a program's options the way getopt does, against a per-program table.

`parse(spec, words)` splits the words after the program name into options (with their values) and
operands. Short options cluster (`-la`), a short option taking a value takes the rest of its
cluster or the next word (`-n5`, `-n 5`), long options take `=value` or the next word, `--` ends
the options, and GNU programs accept options after operands. A word the table does not know, or
one whose value only run time knows while it may start with `-`, is reported in `unknown`.
"""

from __future__ import annotations

from sous.records import field, record

from .words import UNKNOWN, Word


def names(text: str) -> frozenset[str]:
    """`"-a -b --all"` → a set of option names."""
    return frozenset(text.split())


@record
class Spec:
    """What a program's options and operands are. Only listed options are understood."""

    flags: frozenset[str] = frozenset()
    """Options without a value; a long one written `--color=` may also carry `=value`."""
    valued: frozenset[str] = frozenset()
    """Options that take a value (`-n 5`, `-n5`, `--lines=5`, `--lines 5`)."""
    optional: frozenset[str] = frozenset()
    """Short options whose value, if any, is attached (`sed -i.bak`, `xargs -i{}`)."""
    reads: frozenset[str] = frozenset()
    """Valued options whose value is a file the program reads."""
    writes: frozenset[str] = frozenset()
    """Valued options whose value is a file the program writes."""
    operands: str = "none"
    """What operands are: "read" (files read), "list" (directories listed), "none" (not files)."""
    pattern_first: bool = False
    """The first operand is a pattern, unless one of `pattern_options` was given (grep, rg, sed, awk, jq)."""
    pattern_options: frozenset[str] = frozenset()
    harmless: bool = False
    """Every option of the program only changes what it prints: unknown options do no harm."""
    digits: bool = False
    """`-5` is a number option (`head -5`, `grep -3`)."""
    posix: bool = False
    """Options end at the first operand (builtins and POSIX tools)."""
    max_operands: int | None = None
    """More operands than this are outputs (`uniq IN OUT`)."""


@record(frozen=False, kw_only=False)
class Parsed:
    options: list[tuple[str, Word | None]] = field(default_factory=list)
    operands: list[Word] = field(default_factory=list)
    unknown: list[Word] = field(default_factory=list)
    """Options the table does not know, or words that may be options but cannot be known."""

    def has(self, *wanted: str) -> bool:
        return any(name in wanted for name, _ in self.options)

    def values(self, *wanted: str) -> list[Word]:
        return [value for name, value in self.options if name in wanted and value is not None]


def parse(spec: Spec, words: list[Word]) -> Parsed:
    out = Parsed()
    i, done = 0, False
    while i < len(words):
        word = words[i]
        i += 1
        value = word.value
        if done or not word.may_be_option or value == "-" or (value == "" and word.known):  # `''` is an operand
            out.operands.append(word)
            done = done or spec.posix
            continue
        if value == "--" and word.known:
            done = True
            continue
        if not word.known and not _glob_in_value(word):
            out.unknown.append(word)
            continue
        if value.startswith("--"):
            name, eq, attached = value.partition("=")
            if name in spec.valued:
                if eq:
                    out.options.append((name, Word(value=attached, text=word.text)))
                elif i < len(words):
                    out.options.append((name, words[i]))
                    i += 1
                else:
                    out.unknown.append(word)
            elif name in spec.flags and (not eq or name + "=" in spec.flags):
                out.options.append((name, Word(value=attached, text=word.text) if eq else None))
            else:
                # getopt_long takes `--outp` for `--output`: a file it names is still read or
                # written (the word stays unknown, so nothing is read-only because of it; a value
                # in the next word stays an operand too, in case the program reads it as one)
                full = _abbreviates(name, spec)
                if full is not None and (eq or i < len(words)):
                    out.options.append((full, Word(value=attached, text=word.text) if eq else words[i]))
                out.unknown.append(word)
            continue
        if spec.digits and value[1:].isdigit():
            out.options.append(("-#", Word(value=value[1:], text=word.text)))
            continue
        j = 1
        while j < len(value):
            name = "-" + value[j]
            rest = value[j + 1 :]
            if name in spec.valued:
                if rest:
                    out.options.append((name, Word(value=rest, text=word.text)))
                elif i < len(words):
                    out.options.append((name, words[i]))
                    i += 1
                else:
                    out.unknown.append(word)
                break
            if name in spec.optional:
                out.options.append((name, Word(value=rest, text=word.text) if rest else None))
                break
            if name in spec.flags:
                out.options.append((name, None))
                j += 1
                continue
            if spec.digits and value[j:].isdigit():
                out.options.append(("-#", Word(value=value[j:], text=word.text)))
                break
            out.unknown.append(word)
            break
    return out


def _abbreviates(name: str, spec: Spec) -> str | None:
    """The one valued option of `spec` that `name` may abbreviate (no flag of it may match)."""
    if len(name) < 4:
        return None
    valued = [v for v in spec.valued if v.startswith("--") and v.startswith(name)]
    flags = [f for f in spec.flags if f.startswith(name)]
    return valued[0] if len(valued) == 1 and not flags else None


def _glob_in_value(word: Word) -> bool:
    """`--exclude=*.pyc`: a glob can only expand to names starting `--exclude=`: the same option."""
    value = word.value
    first = min((value.find(c) for c in "*?[" if c in value), default=len(value))
    return word.glob and UNKNOWN not in value and value.startswith("--") and "=" in value[:first]


def long_form(value: str, choices: frozenset[str]) -> str:
    """getopt_long's unambiguous abbreviations: `--rec` → `--recursive` (exact names win)."""
    name = value.split("=", 1)[0]
    if not name.startswith("--") or name in choices:
        return name
    found = [c for c in choices if c.startswith(name)]
    return found[0] if len(found) == 1 else name
