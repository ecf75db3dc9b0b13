"""Files touched by programs whose words an option table does not describe: `dd if= of=`,
`sort -o`, git's `--output` and the paths it shows, `find -fprint`, `tree -o`, `curl -o`,
pytest's reports and `--basetemp`, `tar -x -C`, `unzip -d`, `rsync`. `commands.effects` uses
`SPECIAL` for these programs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import commands
from .options import Spec, names, parse
from .read_only import READ_ONLY
from .targets import Cwds, Target, TargetKind
from .words import UNKNOWN, Word

_DOT = Word(value=".", text=".")


def _t(words: list[Word], cwds: Cwds, kind: TargetKind) -> list[Target]:
    return [Target(word=w, cwds=cwds, kind=kind) for w in words]


def named_file(path: str, source: Word) -> Word:
    """A file named inside another word (a sed script, `--output=F`). `~/` is read as the home
    folder although sed and git take it literally (a folder named `~`): that asks more, never less."""
    return Word(value=path, text=path, tilde=path == "~" or path.startswith("~/")) if source.known else source


def _dd(rest: list[Word], cwds: Cwds) -> list[Target]:
    out = []
    for word in rest:
        key, eq, value = word.value.partition("=")
        if eq and key in ("if", "of"):
            out.append(
                Target(
                    # bash expands `~` after the `=` of a word that looks like an assignment
                    word=Word(value=value, text=word.text, glob=word.glob, tilde=value == "~" or value[:2] == "~/"),
                    cwds=cwds,
                    kind="read" if key == "if" else "write",
                )
            )
    return out


def _sort(rest: list[Word], cwds: Cwds) -> list[Target]:
    spec = Spec(
        operands="read",
        valued=READ_ONLY["sort"].valued
        | names("-o -T --output --temporary-directory --compress-program --files0-from --random-source"),
        flags=READ_ONLY["sort"].flags,
    )
    parsed = parse(spec, rest)
    return _t(parsed.operands + parsed.values("--files0-from", "--random-source"), cwds, "read") + _t(
        parsed.values("-o", "--output"), cwds, "write"
    )


def _git(rest: list[Word], cwds: Cwds) -> list[Target]:
    """`--output=F` (any subcommand with diff options; git takes `--out` for it) writes F; a word
    known only at run time may be that option; the paths `diff`, `log`, `show` and `blame` show
    (`REV:path` included) are read."""
    sub = next((i for i, w in enumerate(rest) if not w.may_be_option), None)
    if sub is None:
        return []
    reads_paths = rest[sub].value in ("diff", "log", "show", "blame", "whatchanged")
    out = []
    words = rest[sub + 1 :]
    no_index = any(w.value == "--no-index" for w in words)
    i = 0
    while i < len(words):
        word = words[i]
        option, eq, attached = word.value.partition("=")
        i += 1
        if not word.known and word.may_be_option:
            out.append(Target(word=word, cwds=cwds, kind="write"))
        elif option in _GIT_READS or (word.value[:2] in ("-L", "-O", "-X") and option[:2] == word.value[:2]):
            # a file an option reads: `-O order`, `--contents F`, `-L 1,5:F` (lines of F)
            short = option[:2] if option[:2] in ("-L", "-O", "-X") and len(option) > 2 else ""
            named = (
                named_file(word.value[2:], word)
                if short
                else named_file(attached, word)
                if eq
                else (words[i] if i < len(words) else None)
            )
            i += 0 if short or eq else 1
            if named is not None and option.startswith("-L"):
                named = named_file(named.value.rpartition(":")[2], named) if ":" in named.value else None
            if named is not None and named.value:
                out.append(Target(word=named, cwds=cwds, kind="read"))
        elif len(option) >= 4 and "--output".startswith(option):
            named = named_file(attached, word) if eq else (words[i] if i < len(words) else None)
            i += 0 if eq else 1
            if named is not None:
                out.append(Target(word=named, cwds=cwds, kind="write"))
        elif reads_paths and not word.may_be_option and no_index:
            out.append(Target(word=word, cwds=cwds, kind="read", tree="all"))  # two folders compared whole
        elif reads_paths and not word.may_be_option:
            # a revision or a path (paths are bounded); `HEAD:path` and `:path` show the file
            _, colon, path = word.value.partition(":")
            shown = named_file(path, word) if colon and word.known else word
            if shown.value:
                out.append(Target(word=shown, cwds=cwds, kind="read"))
    return out


def _find(rest: list[Word], cwds: Cwds) -> list[Target]:
    parts = commands.find_parts(rest)
    starts = parts[0] if parts else [w for w in rest if not w.may_be_option][:1] or [Word(value=".", text=".")]
    out = _t(starts, cwds, "read")
    out += [
        Target(word=rest[i + 1], cwds=cwds, kind="read") for i, w in enumerate(rest[:-1]) if w.value == "-files0-from"
    ]
    if any(w.value == "-delete" for w in rest):
        out += _t(starts, cwds, "delete")
    for i, word in enumerate(rest[:-1]):
        if word.value in commands.FIND_WRITES:
            out.append(Target(word=rest[i + 1], cwds=cwds, kind="write"))
    return out


def _tree(rest: list[Word], cwds: Cwds) -> list[Target]:
    spec = READ_ONLY["tree"]
    # `--fromfile`: the operands are files whose lines are shown as a tree (their contents are read)
    parsed = parse(
        Spec(operands="list", valued=spec.valued | names("-o"), flags=spec.flags | names("--fromfile")), rest
    )
    return _t(parsed.operands, cwds, "read") + _t(parsed.values("-o"), cwds, "write")


def _curl(rest: list[Word], cwds: Cwds) -> list[Target]:
    out = []
    for i, word in enumerate(rest[:-1]):
        if word.value in ("-o", "--output", "-O", "--output-document"):
            out.append(Target(word=rest[i + 1], cwds=cwds, kind="write"))
        elif word.value in ("-T", "--upload-file", "-K", "--config"):
            out.append(Target(word=rest[i + 1], cwds=cwds, kind="read"))
    return out


_GIT_READS = names("-L -O -X --contents --exclude-from --ignore-revs-file --orderfile")
"""git options whose value is a file git reads (and may print)."""
PYTHON = re.compile(r"python[\d.]*")
_PYTEST_REPORTS = names("--junitxml --junit-xml --result-log --resultlog --report-log --html --json-report-file")


def _pytest(rest: list[Word], cwds: Cwds) -> list[Target]:
    """pytest's reports are written where their options say; `--basetemp=DIR` deletes DIR first;
    `-o cache_dir=DIR` writes there; an option known only at run time may be any of these."""
    out: list[Target] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        i += 1
        if not word.known:
            if word.may_be_option:
                out.append(Target(word=word, cwds=cwds, kind="write"))
            continue
        option, eq, attached = word.value.partition("=")
        if word.value.startswith("-o") and len(word.value) > 2:
            option, eq, attached = "-o", "=", word.value[2:]
        valued = option in _PYTEST_REPORTS or option in ("--basetemp", "-o", "--override-ini", "--cov-report")
        if not valued and not (option == "--debug" and eq):
            continue
        named = named_file(attached, word) if eq else (rest[i] if i < len(rest) else None)
        i += 0 if eq else 1
        if named is None:
            continue
        if option in ("-o", "--override-ini"):
            key, _, value = named.value.partition("=")
            if not named.known or key == "addopts":
                out.append(Target(word=Word(value=UNKNOWN, text=named.text), cwds=cwds, kind="write"))
            elif key == "cache_dir":
                out.append(Target(word=named_file(value, named), cwds=cwds, kind="write"))
        elif option == "--cov-report":
            kind, colon, path = named.value.partition(":")
            if colon and path:
                out.append(Target(word=named_file(path, named), cwds=cwds, kind="write"))
        else:
            out.append(Target(word=named, cwds=cwds, kind="delete" if option == "--basetemp" else "write"))
    return out


def _archive_dir(rest: list[Word], cwds: Cwds, option: str, long: str) -> list[Target]:
    """Where `tar -x` / `unzip` unpack: the folder `-C DIR` / `-d DIR` names, else the current one."""
    for i, word in enumerate(rest):
        value = word.value
        if not word.known and word.may_be_option:
            return [Target(word=word, cwds=cwds, kind="write")]
        if value in (option, long) and i + 1 < len(rest):
            return [Target(word=rest[i + 1], cwds=cwds, kind="write")]
        if value.startswith(long + "="):
            return [Target(word=named_file(value[len(long) + 1 :], word), cwds=cwds, kind="write")]
        if value.startswith(option) and len(value) > 2:
            return [Target(word=named_file(value[2:], word), cwds=cwds, kind="write")]
    return [Target(word=_DOT, cwds=cwds, kind="write")]


def _tar(rest: list[Word], cwds: Cwds) -> list[Target]:
    first = rest[0].value if rest else ""
    extracting = any(
        w.value in ("--extract", "--get") or (w.value[:1] == "-" and w.value[1:2] != "-" and "x" in w.value)
        for w in rest
    ) or (first[:1] not in ("-", "") and "x" in first)
    return _archive_dir(rest, cwds, "-C", "--directory") if extracting else []


def _unzip(rest: list[Word], cwds: Cwds) -> list[Target]:
    return _archive_dir(rest, cwds, "-d", "--exdir")


def _rsync(rest: list[Word], cwds: Cwds) -> list[Target]:
    """rsync writes its last operand (with `--delete`, deletes what is there and not in the source)."""
    operands = [w for w in rest if not w.may_be_option]
    if len(operands) < 2 or ":" in operands[-1].value.split("/", 1)[0]:
        return []  # one operand lists; `host:path` is another machine
    deletes = any(w.value.startswith(("--delete", "--remove-source-files")) for w in rest)
    return [Target(word=operands[-1], cwds=cwds, kind="delete" if deletes else "write")]


def _perl(rest: list[Word], cwds: Cwds) -> list[Target]:
    """`perl -i[SUFFIX]` / `ruby -i[SUFFIX]` rewrite their files and keep backups as `sed -i` does
    (a `*` in SUFFIX is the file's name: `-pi'/tmp/*'` puts the backup in another folder)."""
    suffix: str | None = None
    files: list[Word] = []
    has_code, i = False, 0
    while i < len(rest):
        word, i = rest[i], i + 1
        value = word.value
        if not word.known and word.may_be_option:
            return [Target(word=word, cwds=cwds, kind="write")]
        if value == "--":
            files += rest[i:] if has_code else rest[i + 1 :]
            break
        if not (value.startswith("-") and len(value) > 1) or value.startswith("--"):
            if has_code:
                files.append(word)
            has_code = True  # the first operand is the program file
            continue
        for j, letter in enumerate(value[1:], start=1):
            if letter == "i":
                suffix = value[j + 1 :]
                break
            if letter in "eEIMm":  # takes the rest of the cluster or the next word
                has_code = has_code or letter in "eE"
                i += 0 if value[j + 1 :] else 1
                break
            if letter in "l0xCdD":
                break
    if suffix is None:
        return []
    out = _t(files, cwds, "write")
    for file in files if suffix else []:
        backup = suffix.replace("*", file.value.rsplit("/", 1)[-1]) if "*" in suffix else file.value + suffix
        out.append(Target(word=named_file(backup, file), cwds=cwds, kind="write"))
    return out


SPECIAL: dict[str, Callable[[list[Word], Cwds], list[Target]]] = {
    "perl": _perl,
    "ruby": _perl,
    "tar": _tar,
    "unzip": _unzip,
    "rsync": _rsync,
    "pytest": _pytest,
    "py.test": _pytest,
    "dd": _dd,
    "sort": _sort,
    "git": _git,
    "find": _find,
    "tree": _tree,
    "curl": _curl,
    "wget": _curl,
}
