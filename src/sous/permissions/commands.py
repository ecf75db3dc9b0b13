"""What individual programs do with their words: whether a command only reads, and the files it touches.

A command is read-only only when its program is in `READ_ONLY` (the tables, in `read_only`) and
every option it was given is in that program's table (unknown option → not read-only: it is asked
about); `find` is read here, `-exec` and the writing actions keeping it out.

`effects(words, cwds)` lists the files a command reads, writes or deletes, for every program
modelled here, read-only or not: the decision bounds reads by the project and the Read rules,
and the safety floor checks every write, whichever program makes it.
"""

from __future__ import annotations

import re

from sous.records import replace

from .options import Parsed, Spec, names, parse
from .program_files import PYTHON, SPECIAL, named_file
from .read_only import GIT, GIT_GLOBAL, READ_ONLY
from .sed import read_script
from .targets import Cwds, Target, TargetKind, TreeKind
from .words import UNKNOWN, Word

_FIND_VALUED = names(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -size "
    "-mtime -mmin -atime -amin -ctime -cmin -newer -anewer -cnewer -perm -user -group -uid -gid "
    "-links -inum -samefile -maxdepth -mindepth -printf -regextype -lname -ilname -used -fstype"
)
_FIND_FLAGS = names(
    "-print -print0 -ls -prune -depth -not ! -a -o -and -or ( ) , -true -false -follow -xdev "
    "-mount -readable -writable -executable -nouser -nogroup -daystart -quit -empty -noleaf "
    "-ignore_readdir_race -noignore_readdir_race -nowarn -warn"
)
FIND_EXEC = names("-exec -execdir -ok -okdir")
FIND_WRITES = names("-fprint -fprint0 -fprintf -fls")


def program(words: list[Word]) -> str:
    """The program's name: `/usr/bin/rm` → `rm`; "" when it is known only at run time."""
    if not words or not words[0].known:
        return ""
    return words[0].value.rsplit("/", 1)[-1]


def read_only(words: list[Word]) -> bool:
    """Does this command (wrappers already removed) only look, whatever its words turn out to be?"""
    name = program(words)
    rest = words[1:]
    if name == "git":
        return _git_read_only(rest)
    if name == "find":
        return find_parts(rest) is not None and not _find_acts(rest)
    if name == "exec":  # `exec 2>&1` alone changes only descriptors (its redirections are checked)
        return len(words) == 1
    if name == "command":  # `command -v x` prints where x is
        return bool(rest) and rest[0].known and rest[0].value in ("-v", "-V") and all(w.known for w in rest)
    spec = READ_ONLY.get(name)
    if spec is None:
        return False
    parsed = parse(spec, rest)
    if parsed.unknown and not spec.harmless:
        return False
    if spec.max_operands is not None and len(_operands(spec, parsed)) > spec.max_operands:
        return False
    if name in ("test", "["):
        return arithmetic_safe_test(rest)
    if name == "printf":
        return bool(rest) and not rest[0].may_be_option
    if name == "date":
        return all(w.value.startswith("+") for w in parsed.operands)
    if name in ("cd", "pushd", "popd"):
        return len(parsed.operands) <= 1
    return True


def _operands(spec: Spec, parsed: Parsed) -> list[Word]:
    operands = parsed.operands
    if spec.pattern_first and not parsed.has(*spec.pattern_options) and not parsed.unknown:
        operands = operands[1:]
    return operands


def _git_read_only(rest: list[Word]) -> bool:
    i = 0
    while i < len(rest) and rest[i].may_be_option:
        if not rest[i].known or rest[i].value not in GIT_GLOBAL.flags:
            return False
        i += 1
    if i == len(rest) or not rest[i].known:
        return False
    spec = GIT.get(rest[i].value)
    if spec is None:
        return False
    parsed = parse(spec, rest[i + 1 :])
    if parsed.unknown and not spec.harmless:
        return False
    return spec.max_operands is None or len(parsed.operands) <= spec.max_operands


def find_parts(rest: list[Word]) -> tuple[list[Word], list[Word]] | None:
    """`find`'s starting points and expression; None when a word of the expression is not known."""
    i = 0
    while i < len(rest) and rest[i].known and rest[i].value in ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3"):
        i += 1
    starts = []
    while i < len(rest) and not rest[i].may_be_option and rest[i].value not in ("(", "!", ","):
        starts.append(rest[i])
        i += 1
    expression = rest[i:]
    j = 0
    while j < len(expression):
        word = expression[j]
        if not word.known:
            return None
        value = word.value
        if value in _FIND_VALUED or re.fullmatch(r"-newer[aBcmt][aBcmt]", value):
            j += 2
        elif value in _FIND_FLAGS:
            j += 1
        elif value in FIND_EXEC:
            j += 1
            while j < len(expression) and expression[j].value not in (";", "+"):
                j += 1
            j += 1
        elif value in FIND_WRITES or value in ("-delete", "-files0-from"):
            j += 1 + (value != "-delete")
        else:
            return None
    return starts or [Word(value=".", text=".")], expression


def _find_acts(rest: list[Word]) -> bool:
    return any(w.value in FIND_EXEC | FIND_WRITES | {"-delete", "-files0-from"} for w in rest)


def find_execs(rest: list[Word]) -> list[list[Word]]:
    """The commands `find -exec CMD ... ;` runs, once per starting point, `{}` standing for the
    files found below it (`START/*`, a glob; unknown when the starting point is)."""
    parts = find_parts(rest)
    starts = parts[0] if parts else [Word(value=UNKNOWN, text="?")]
    out, i = [], 0
    while i < len(rest):
        if rest[i].value in FIND_EXEC:
            j = i + 1
            while j < len(rest) and rest[j].value not in (";", "+"):
                j += 1
            for start in starts:
                found = start.value.rstrip("/") + "/*" if start.known else UNKNOWN
                out.append(
                    [
                        Word(
                            value=w.value.replace("{}", found),
                            text=w.text,
                            glob=start.known,
                            tilde=start.tilde and w.value.startswith("{}"),
                        )
                        if "{}" in w.value
                        else w
                        for w in rest[i + 1 : j]
                    ]
                )
            i = j
        i += 1
    return out


_ARITH_TEST = {"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}


def arithmetic_safe_test(rest: list[Word], double_bracket: bool = False) -> bool:
    """`test`/`[` evaluate the operands of -eq, -lt... and the name of `-v` as arithmetic, where
    `a[$(cmd)]` runs cmd: those operands must be plain integers / names without subscripts, and
    no unknown word may stand where it could become an operator."""
    words = [w for w in rest if w.value != "]"]
    for i, word in enumerate(words):
        if not word.known:
            before = words[i - 1].value if i else ""
            after = words[i + 1].value if i + 1 < len(words) else ""
            if before in _ARITH_TEST or after in _ARITH_TEST or before in ("-v", "-R"):
                return False
            if double_bracket:  # inside [[ ]] no expansion becomes an operator or several words
                continue
            if word.glob or word.split:
                return False
            if len(words) > 1 and before in ("", "!", "(", "-a", "-o") and not re.fullmatch(r"[=!<>]=?|==|-\w+", after):
                return False  # an unknown word could be read as an operator, `-v` included
        elif word.value in _ARITH_TEST:
            for other in (words[i - 1] if i else None, words[i + 1] if i + 1 < len(words) else None):
                if other is None or not re.fullmatch(r"\s*[-+]?\d+\s*", other.value):
                    return False
        elif word.value in ("-v", "-R") and i + 1 < len(words) and "[" in words[i + 1].value:
            return False
    return True


# --- files touched ------------------------------------------------------------------------------


def _t(words: list[Word], cwds: Cwds, kind: TargetKind, tree: TreeKind = "") -> list[Target]:
    return [Target(word=w, cwds=cwds, kind=kind, tree=tree) for w in words]


def _recursion(name: str, parsed: Parsed) -> TreeKind:
    """Do this reader's operands stand for every file below them (see `Target.tree`)?"""
    if name == "rg":
        if parsed.has("--files", "--type-list"):
            return ""  # names only
        shows_hidden = parsed.has("--hidden", "-.", "-u", "--unrestricted", "--no-ignore-dot")
        return "all" if shows_hidden else "visible"
    if name == "grep":
        recursive = parsed.has("-r", "-R", "--recursive", "--dereference-recursive")
        directories = [w.value for w in parsed.values("-d", "--directories")]
        return "all" if recursive or "recurse" in directories else ""
    if name == "diff":
        return "all" if parsed.has("-r", "--recursive") else ""
    return ""


_WRITERS: dict[str, Spec] = {
    "tee": Spec(flags=names("-a -i -p --append --ignore-interrupts --output-error --output-error=")),
    "cp": Spec(
        valued=names("-t -S --target-directory --suffix --sparse --reflink --backup --preserve --no-preserve"),
        flags=names(
            "-a -b -d -f -i -H -l -L -n -P -p -R -r -s -T -u -v -x --archive --force "
            "--interactive --link --dereference --no-clobber --no-dereference --recursive "
            "--symbolic-link --no-target-directory --update --verbose --parents --remove-destination "
            "--strip-trailing-slashes --attributes-only --one-file-system"
        ),
    ),
    "truncate": Spec(valued=names("-s -r --size --reference"), flags=names("-c -o --no-create --io-blocks")),
    "touch": Spec(
        valued=names("-d -t -r --date --reference --time"), flags=names("-a -c -m -h -f --no-create --no-dereference")
    ),
    "mkdir": Spec(valued=names("-m --mode --context"), flags=names("-p -v -Z --parents --verbose")),
    "rm": Spec(
        flags=names(
            "-f -i -I -r -R -d -v --force --interactive --interactive= --recursive --dir --verbose "
            "--one-file-system --no-preserve-root --preserve-root --preserve-root="
        )
    ),
    "sed": Spec(
        pattern_first=True,
        pattern_options=names("-e -f --expression --file"),
        optional=names("-i"),
        valued=names("-e -f -l --expression --file --line-length"),
        reads=names("-f --file"),
        flags=names(
            "-n -E -r -s -u -z --quiet --silent --regexp-extended --separate --unbuffered "
            "--null-data --posix --debug --sandbox --in-place --in-place= --follow-symlinks"
        ),
    ),
}
for _name in ("mv", "install", "ln"):
    _WRITERS[_name] = Spec(
        valued=_WRITERS["cp"].valued | names("-m -o -g --mode --owner --group"),
        flags=_WRITERS["cp"].flags | names("-s -D -c -C --symbolic --relative -r"),
    )
for _name in ("rmdir", "unlink", "shred"):
    _WRITERS[_name] = Spec(
        valued=names("-n -s --iterations --size --random-source"),
        flags=names(
            "-p -v -f -u -z -x --parents --verbose --ignore-fail-on-non-empty --force --remove --remove= --zero --exact"
        ),
    )
for _name in ("chmod", "chown", "chgrp"):
    _WRITERS[_name] = Spec(
        valued=names("--reference --from"),
        flags=names(
            "-R -c -f -v -h -H -L -P --recursive --changes --silent --quiet --verbose "
            "--no-dereference --dereference --preserve-root --no-preserve-root"
        ),
    )
_READERS_EXTRA: dict[str, Spec] = {
    "less": Spec(operands="read", harmless=True),
    "more": Spec(operands="read", harmless=True),
    "jq": Spec(
        operands="read",
        pattern_first=True,
        valued=names("--arg --argjson --slurpfile --rawfile --indent -L --from-file -f"),
        reads=names("--slurpfile --rawfile --from-file -f"),
        harmless=True,
    ),
    "awk": Spec(
        operands="read",
        pattern_first=True,
        pattern_options=names("-f --file"),
        harmless=True,
        valued=names("-f -v -F --file --assign --field-separator"),
        reads=names("-f --file"),
    ),
    "zcat": Spec(operands="read", harmless=True),
    "rev": Spec(operands="read", harmless=True),
    "paste": Spec(operands="read", harmless=True, valued=names("-d --delimiters")),
    "column": Spec(operands="read", harmless=True, valued=names("-s -t -c -o -N -W -R -H")),
    "fold": Spec(operands="read", harmless=True, valued=names("-w --width")),
    "hexdump": Spec(operands="read", harmless=True, valued=names("-n -s -e -f")),
    "hd": Spec(operands="read", harmless=True),
    "base32": Spec(operands="read", harmless=True, valued=names("-w --wrap")),
    "source": Spec(operands="read", harmless=True),
    ".": Spec(operands="read", harmless=True),
}
for _name in ("gawk", "mawk", "nawk"):
    _READERS_EXTRA[_name] = _READERS_EXTRA["awk"]


def effects(words: list[Word], cwds: Cwds) -> list[Target]:
    """Files this command reads, writes or deletes, as far as its program is modelled here."""
    name = program(words)
    rest = words[1:]
    if PYTHON.fullmatch(name) and rest[:2] and rest[0].value == "-m" and rest[1].value == "pytest":
        name, rest = "pytest", rest[2:]
    handler = SPECIAL.get(name)
    if handler is not None:
        return handler(rest, cwds)
    spec = READ_ONLY.get(name) or _READERS_EXTRA.get(name)
    if spec is not None:
        parsed = parse(spec, rest)
        operands = _operands(spec, parsed)
        out = _t(parsed.values(*spec.reads), cwds, "read")
        if spec.operands in ("read", "list"):
            out += _t([w for w in parsed.unknown if not w.known], cwds, "read")  # may be a file, too
            if not operands and _reads_cwd(name, spec, parsed):
                operands = [_DOT]
            limit = spec.max_operands if spec.max_operands is not None else len(operands)
            out += _t(operands[:limit], cwds, "read", _recursion(name, parsed)) + _t(operands[limit:], cwds, "write")
        return out
    spec = _WRITERS.get(name)
    if spec is None:
        return []
    parsed = parse(spec, rest)
    operands = parsed.operands
    out = _t(parsed.values(*spec.reads), cwds, "read")
    # a word known only at run time may be any operand, the destination included
    out += _t(
        [w for w in parsed.unknown if not w.known],
        cwds,
        "delete" if name in ("rm", "rmdir", "unlink", "mv") else "write",
    )
    if name in ("cp", "mv", "install", "ln"):
        target_dir = parsed.values("-t", "--target-directory")
        dest: Word | None
        if target_dir:
            sources, dest = operands, target_dir[-1]
        elif len(operands) >= 2 or name != "ln":
            sources, dest = operands[:-1], (operands[-1] if operands else None)
        else:
            sources, dest = operands, Word(value=".", text=".")
        symbolic = parsed.has("-s", "--symbolic")
        if name == "ln" and symbolic:  # the link's target is not opened; only the link is written
            sources = []
        out += _t(sources, cwds, "delete" if name == "mv" else "read")
        # what is moved, copied with its folders, or hard-linked can be read where it lands
        recursive = parsed.has("-r", "-R", "-a", "--recursive", "--archive")
        if name == "mv":
            out += _t(sources, cwds, "read", "all")
        elif name == "cp" and recursive:
            out = [replace(t, tree="all") if t.kind == "read" and t.word in sources else t for t in out]
        if dest is not None:
            out += _t([dest], cwds, "write")
            if dest.known and not dest.glob:
                for src in sources or operands[:-1]:
                    base = src.value.rstrip("/").rsplit("/", 1)[-1]
                    if base and UNKNOWN not in base:
                        inner = dest.value.rstrip("/") + "/" + base
                        out.append(
                            Target(word=Word(value=inner, text=inner, tilde=dest.tilde), cwds=cwds, kind="write")
                        )
        return out
    if name in ("chmod", "chown", "chgrp"):
        operands = operands if parsed.has("--reference") else operands[1:]
        return out + _t(operands, cwds, "write")
    if name == "sed":
        files = _operands(spec, parsed)
        in_place = parsed.has("-i", "--in-place")
        for script in sed_scripts(parsed):
            found = read_script(script.value) if script.known else None
            if found is not None:
                out += _t([named_file(f, script) for f in found.reads], cwds, "read")
                out += _t([named_file(f, script) for f in found.writes], cwds, "write")
        return (
            out
            + _t(files, cwds, "read")
            + (_t(files, cwds, "write") + _sed_backups(parsed, files, cwds) if in_place else [])
        )
    if name in ("rm", "rmdir", "unlink") or (name == "shred" and parsed.has("-u", "--remove")):
        return out + _t(operands, cwds, "delete")
    return out + _t(operands, cwds, "write")


_DOT = Word(value=".", text=".")


def _reads_cwd(name: str, spec: Spec, parsed: Parsed) -> bool:
    """Without operands, `ls`, `du`, `tree`, `rg` and `grep -r` read the directory they run in."""
    if spec.operands == "list" or name == "rg":
        return True
    return name == "grep" and parsed.has("-r", "-R", "--recursive", "--dereference-recursive")


_PLAIN_SED = re.compile(
    r"(?:\d*,?\d*[dp]|s(.)(?:(?!\1)[^\\\n]|\\.)*\1(?:(?!\1)[^\\\n]|\\.)*\1[gIip0-9]*)"
    r"(?:\s*;\s*(?:\d*,?\d*[dp]|s(.)(?:(?!\2)[^\\\n]|\\.)*\2(?:(?!\2)[^\\\n]|\\.)*\2"
    r"[gIip0-9]*))*"
)


def _sed_backups(parsed: Parsed, files: list[Word], cwds: Cwds) -> list[Target]:
    """`sed -i SUFFIX` keeps the original as FILE+SUFFIX, or, when SUFFIX has a `*`, as SUFFIX with
    each `*` replaced by the file's name (`-i'../*'`, `-i'/tmp/*'`: another folder)."""
    out = []
    for suffix in parsed.values("-i", "--in-place"):
        if not suffix.value:
            continue
        for file in files:
            if not (file.known and suffix.known):
                out.append(Target(word=Word(value=UNKNOWN, text=suffix.text), cwds=cwds, kind="write"))
            elif "*" in suffix.value:
                backup = suffix.value.replace("*", file.value.rstrip("/").rsplit("/", 1)[-1])
                out.append(Target(word=named_file(backup, suffix), cwds=cwds, kind="write"))
            else:
                out.append(Target(word=Word(value=file.value + suffix.value, text=file.text), cwds=cwds, kind="write"))
    return out


def sed_scripts(parsed: Parsed) -> list[Word]:
    """sed's scripts: the `-e` values, or else the first operand."""
    return parsed.values("-e", "--expression") or parsed.operands[:1]


def hazard(words: list[Word]) -> str:
    """Why no allow rule may cover this command although its program is allowed (empty: none):
    `Bash(sed -n *)` is not meant to run `sed -n '1e CMD'`, nor `Bash(npm test *)` another
    project's scripts or a shell of the command's choosing."""
    name, rest = program(words), words[1:]
    if name == "sed":
        parsed = parse(_WRITERS["sed"], rest)
        if parsed.has("-f", "--file") or parsed.unknown:
            return "`sed` with a script file or options that are not understood: always asked"
        for script in sed_scripts(parsed):
            found = read_script(script.value) if script.known else None
            if found is None or found.runs or found.unreadable:
                return "`sed` whose script runs commands or cannot be read: always asked"
    runs_pytest = name == "pytest" or (PYTHON.fullmatch(name) and [w.value for w in rest[:2]] == ["-m", "pytest"])
    if runs_pytest and any(w.value.startswith("--pastebin") for w in rest):
        return "`pytest --pastebin` sends test output to a web service: always asked"
    if name in ("make", "gmake") and (why := _make_elsewhere(rest)):
        return f"`{name}` with {why}, which changes what it runs: always asked"
    if name in ("npm", "pnpm", "yarn", "npx", "bun"):
        for word in rest:
            if word.known and word.value == "--":
                break
            option = word.value.split("=", 1)[0]
            if not word.known and word.may_be_option or option in _NPM_ELSEWHERE:
                return f"`{name}` with {word.text}, which changes what it runs: always asked"
    return ""


_MAKE_ELSEWHERE = names("-f --file --makefile -C --directory --eval -E -I --include-dir")
_MAKE_RUNS = frozenset({"SHELL", ".SHELLFLAGS", "MAKEFLAGS", "MAKE", "MAKEFILES", "GNUMAKEFLAGS"})


def _make_elsewhere(rest: list[Word]) -> str:
    """`make -f FILE`, `-C DIR`, `--eval`, `SHELL=...` or a variable set to anything but a number
    (`CC=rm`): another makefile, folder, shell or program decides what the recipes run."""
    for word in rest:
        if not word.known:
            return word.text
        option = word.value.split("=", 1)[0]
        if option in _MAKE_ELSEWHERE or (option[:2] in ("-f", "-C", "-E", "-I") and not option.startswith("--")):
            return word.text
        name, eq, value = word.value.partition("=")
        # a value may name the program a recipe runs (`CC=rm`); a number (`V=1`, `J=4`) cannot
        if eq and (name.isidentifier() or name in _MAKE_RUNS) and (name in _MAKE_RUNS or not value.isdigit()):
            return word.text
    return ""


_NPM_ELSEWHERE = names(
    "--prefix -C --dir --script-shell --shell --userconfig --globalconfig --node-options --cwd --config"
)
"""npm/pnpm/yarn options that pick another project, another shell, or other settings."""


def plain_sed(rest: list[Word]) -> bool:
    """Are all of sed's scripts plain substitutions or deletions (no `w FILE`, `r`, `e`, `s///w`)?"""
    parsed = parse(_WRITERS["sed"], rest)
    if parsed.unknown or parsed.has("-f", "--file"):
        return False
    scripts = parsed.values("-e", "--expression") or parsed.operands[:1]
    return bool(scripts) and all(w.known and _PLAIN_SED.fullmatch(w.value.strip()) for w in scripts)
