"""Programs that run another program: what they run, read exactly per wrapper.

`unwrap(words)` removes wrappers one after the other (`timeout 5 nice -n 2 env A=1 make` →
`make`, with `A=1` kept as an assignment) by parsing each wrapper's own options. Where the inner
command cannot be told exactly, or where Claude Code always asks (`sudo`, `setsid`, `watch`,
`flock`...), the result is `opaque`: no allow rule or read-only verdict may look through it, but
the safety floor still checks every command it might run (`candidates`).

`xargs` and `find -exec` run their command with more operands than are written: xargs's come
from stdin, so an `UNKNOWN` word is appended (or put where `-I {}` says).
"""

from __future__ import annotations

from sous.records import field, record

from .options import Spec, names, parse
from .words import UNKNOWN, Word

_SIMPLE: dict[str, Spec] = {
    "timeout": Spec(
        posix=True,
        valued=names("-s -k --signal --kill-after"),
        flags=names("--preserve-status --foreground -v --verbose"),
    ),
    "nice": Spec(posix=True, digits=True, valued=names("-n --adjustment")),
    "nohup": Spec(posix=True),
    "stdbuf": Spec(posix=True, valued=names("-i -o -e --input --output --error")),
    "time": Spec(
        posix=True,
        valued=names("-f -o --format --output"),
        flags=names("-p -a -v -q --append --verbose --quiet --portability"),
    ),
    "command": Spec(posix=True, flags=names("-p")),
    "builtin": Spec(posix=True),
    "noglob": Spec(posix=True),
    "exec": Spec(posix=True, valued=names("-a"), flags=names("-c -l")),
}
"""Wrappers Claude Code looks through; the operand count before the command for each."""
_LEADING_OPERANDS = {"timeout": 1}
RESERVED = {"{", "}", "!", "coproc", "(", ")"}

_ALWAYS_ASK: dict[str, Spec] = {
    "sudo": Spec(
        posix=True,
        valued=names(
            "-u -g -C -D -h -p -r -t -T -U --user --group --close-from --chdir "
            "--host --prompt --role --type --command-timeout --other-user"
        ),
        flags=names(
            "-A -b -E -H -i -K -k -n -P -S -s --preserve-env --preserve-env= --login --shell "
            "--non-interactive --stdin --askpass --background --set-home"
        ),
    ),
    "doas": Spec(posix=True, valued=names("-u -C"), flags=names("-n -s")),
    "setsid": Spec(posix=True, flags=names("-c -f -w --ctty --fork --wait")),
    "ionice": Spec(posix=True, valued=names("-c -n --class --classdata"), flags=names("-t --ignore")),
    "chrt": Spec(
        posix=True,
        valued=names("-T -P -D --sched-runtime --sched-period --sched-deadline"),
        flags=names(
            "-b -d -f -i -o -r -a -m -v -R --batch --deadline --fifo --idle --other --rr "
            "--all-tasks --max --verbose --reset-on-fork"
        ),
    ),
    "taskset": Spec(posix=True, flags=names("-a -c --all-tasks --cpu-list")),
    "flock": Spec(
        posix=True,
        valued=names("-w -E -c --timeout --conflict-exit-code --command"),
        flags=names("-s -x -e -n -u -o -F --shared --exclusive --nonblock --nb --unlock --close --no-fork --verbose"),
    ),
    "watch": Spec(
        posix=True,
        valued=names("-n -q --interval --equexit"),
        flags=names(
            "-b -e -g -t -x -c -p -r -w -d --beep --errexit --chgexit --no-title --exec --color "
            "--no-color --precise --no-wrap --differences --differences="
        ),
    ),
    "strace": Spec(
        posix=True,
        valued=names("-e -o -O -p -P -s -S -u -E -a -b -I -X"),
        flags=names("-c -C -d -D -f -F -i -k -n -q -r -t -T -v -V -w -x -y -z -Z"),
    ),
}
_ALWAYS_ASK["ltrace"] = _ALWAYS_ASK["strace"]
_OPERAND_BEFORE = {"chrt": 1, "taskset": 1, "flock": 1}
RUNNERS = {
    "chroot",
    "unbuffer",
    "pkexec",
    "runuser",
    "su",
    "firejail",
    "nsenter",
    "unshare",
    "prlimit",
    "caffeinate",
    "systemd-run",
    "script",
    "faketime",
    "fakeroot",
    "eatmydata",
    "torsocks",
    "proxychains",
    "proxychains4",
    "valgrind",
    "catchsegv",
    "sg",
    "newgrp",
    "cgexec",
    "numactl",
    "dbus-run-session",
    "xvfb-run",
    "ssh-agent",
    "parallel",
    "busybox",
    "gtimeout",
    "entr",
    "nix-shell",
    "direnv",
    "npx",
    "uvx",
    "pipx",
    "docker",
    "podman",
    "kubectl",
    "ssh",
    "tmux",
    "screen",
    "at",
    "batch",
    "crontab",
}
"""Programs that run a command we do not parse: rules see them as they are (Claude Code does not
strip `npx` or `docker exec`); the floor tries every tail of their words as a command."""


@record(frozen=False, kw_only=False)
class Unwrapped:
    words: list[Word]
    """The command finally run (may be empty: `nice`, `env` alone print something)."""
    wrappers: list[str] = field(default_factory=list)
    assigns: list[tuple[str, Word]] = field(default_factory=list)
    """`env NAME=VALUE` assignments the inner command gets."""
    opaque: str = ""
    """Why no rule or read-only verdict may look through (empty when it may)."""
    candidates: list[list[Word]] = field(default_factory=list)
    """For the floor, when `opaque`: every command that might be run."""
    chdir: Word | None = None
    """`env -C DIR`: the inner command runs there."""
    writes: list[Word] = field(default_factory=list)
    """Files the wrappers themselves write (`time -o F`, `flock F`, `strace -o F`)."""
    reads: list[Word] = field(default_factory=list)
    script: Word | None = None
    """Shell code the wrapper runs (`watch 'cmd'`, `flock F -c 'cmd'`, `sudo -s cmd`)."""


def _name(word: Word) -> str:
    return word.value.rsplit("/", 1)[-1] if word.known else ""


def unwrap(words: list[Word]) -> Unwrapped:
    """Remove every wrapper in front of the command; see the module docstring."""
    out = Unwrapped(words=list(words))
    for _ in range(32):
        words = out.words
        name = _name(words[0]) if words else ""
        if name in RESERVED:  # `time { rm ...; }`, `coproc rm ...`: the grammar hands these on as words
            drop = 2 if name == "coproc" and len(words) > 2 and words[2].value in ("{", "(") else 1
            out.words = words[drop:]
            if not out.words:
                return out
            continue
        if name in _SIMPLE:
            if name == "command" and len(words) > 1 and words[1].value in ("-v", "-V"):
                return out
            _simple(out, name, _SIMPLE[name])
        elif name == "env":
            _env(out)
        elif name == "xargs":
            _xargs(out)
        elif name in _ALWAYS_ASK:
            _always_ask(out, name)
        elif name in RUNNERS:  # a command of its own for the rules; the floor tries every tail
            out.candidates.extend(words[i:] for i in range(1, len(words)) if not words[i].may_be_option)
            return out
        else:
            return out
        if not out.words or out.script is not None:
            return out
    out.opaque = "too many wrappers"
    return out


def _simple(out: Unwrapped, name: str, spec: Spec) -> None:
    parsed = parse(spec, out.words[1:])
    out.wrappers.append(name)
    if parsed.unknown:
        out.opaque = out.opaque or f"`{name}` has options that are not understood"
    out.writes.extend(parsed.values("-o", "--output") if name == "time" else [])
    out.words = parsed.operands[_LEADING_OPERANDS.get(name, 0) :]
    out.candidates.append(out.words)


def _always_ask(out: Unwrapped, name: str) -> None:
    spec = _ALWAYS_ASK[name]
    parsed = parse(spec, out.words[1:])
    out.wrappers.append(name)
    out.opaque = out.opaque or f"`{name}` runs a command: always asked"
    operands = parsed.operands
    if parsed.unknown or (name in ("ionice", "chrt", "taskset") and parsed.has("-p", "--pid")):
        out.candidates.extend(operands[i:] for i in range(len(operands)))
        out.words = []
        return
    skip = _OPERAND_BEFORE.get(name, 0)
    if name == "flock":
        out.writes.extend(operands[:1])
        script = parsed.values("-c", "--command")
        if not script and len(operands) > 2 and operands[1].value in ("-c", "--command"):
            script = [operands[2]]  # `flock FILE -c CODE`: flock reads `-c` after the file too
        if script:
            out.script = script[-1]
            out.words = []
            return
    if name == "chrt" and parsed.has("-m", "--max"):
        skip = 0
    out.words = operands[skip:]
    if name == "strace" or name == "ltrace":
        out.writes.extend(parsed.values("-o"))
    if (
        (name == "watch" and not parsed.has("-x", "--exec")) or (name == "sudo" and parsed.has("-s", "-i"))
    ) and out.words:
        known = all(w.known for w in out.words)
        out.script = Word(
            value=" ".join(w.value for w in out.words) if known else UNKNOWN, text=" ".join(w.text for w in out.words)
        )
        out.words = []
    out.candidates.append(out.words)


def _env(out: Unwrapped) -> None:
    words = out.words[1:]
    out.wrappers.append("env")
    i = 0
    while i < len(words):
        word = words[i]
        value = word.value
        if not word.known:
            if word.may_be_option or "=" in value.split(UNKNOWN, 1)[0] or value.startswith(UNKNOWN):
                out.opaque = out.opaque or "`env` with words known only at run time"
                out.candidates.extend(words[j:] for j in range(i, len(words)))
                out.words = []
                return
            break
        if value == "--":
            i += 1
            break
        if value.startswith("--"):
            name, eq, attached = value.partition("=")
            if name in ("--unset", "--chdir", "--split-string"):
                arg = Word(value=attached, text=word.text) if eq else (words[i + 1] if i + 1 < len(words) else None)
                i += 1 if eq else 2
                if arg is None or not _env_option(out, name[2], arg, words, i):
                    return
                if name == "--split-string":
                    words, i = out.words, 0
                continue
            if name in (
                "--ignore-environment",
                "--null",
                "--debug",
                "--default-signal",
                "--ignore-signal",
                "--block-signal",
                "--list-signal-handling",
            ):
                i += 1
                continue
            return _env_unknown(out, words, i)
        if value.startswith("-") and len(value) > 1:
            j, consumed = 1, False
            while j < len(value):
                c = value[j]
                if c in "i0v":
                    j += 1
                    continue
                if c in "uCS":
                    rest = value[j + 1 :]
                    arg = Word(value=rest, text=word.text) if rest else (words[i + 1] if i + 1 < len(words) else None)
                    i += 1 if rest else 2
                    consumed = True
                    if arg is None or not _env_option(out, {"u": "u", "C": "c", "S": "s"}[c], arg, words, i):
                        return
                    if c == "S":
                        words, i = out.words, 0
                    break
                return _env_unknown(out, words, i)
            if not consumed:
                i += 1
            continue
        name, eq, assigned = value.partition("=")
        if eq and name.isidentifier():
            out.assigns.append((name, Word(value=assigned, text=word.text, glob=word.glob)))
            i += 1
            continue
        break
    out.words = words[i:]
    out.candidates.append(out.words)


def _env_unknown(out: Unwrapped, words: list[Word], i: int) -> None:
    out.opaque = out.opaque or f"`env` option {words[i].text} is not understood"
    out.candidates.extend(words[j:] for j in range(i, len(words)))
    out.words = []


def _env_option(out: Unwrapped, kind: str, arg: Word, words: list[Word], i: int) -> bool:
    """Apply `env -u/-C/-S`; False when the rest cannot be read (then out is opaque)."""
    if kind == "u":
        return True
    if kind == "c":
        out.chdir = arg
        return True
    split = split_string(arg) if arg.known else None
    if split is None:
        out.opaque = out.opaque or "`env -S` with a string that cannot be read"
        out.candidates.append(words[i:])
        out.words = []
        return False
    out.words = split + words[i:]
    return True


def split_string(arg: Word) -> list[Word] | None:
    """`env -S`'s own word splitting (quotes, backslashes, `#` comments); None for `${VAR}` or `\\c`."""
    text, words, current, i, started = arg.value, [], [], 0, False
    quote = ""
    while i < len(text):
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                current.append(c)
        elif c == "\\" and i + 1 < len(text):
            e = text[i + 1]
            if e in "c":
                return None
            current.append({"_": " ", "t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}.get(e, e))
            started = True
            i += 1
        elif c == "$":
            return None
        elif quote == '"':
            if c == '"':
                quote = ""
            else:
                current.append(c)
        elif c in "'\"":
            quote, started = c, True
        elif c in " \t\n":
            if started or current:
                words.append("".join(current))
            current, started = [], False
        elif c == "#" and not current and not started:
            break
        else:
            current.append(c)
        i += 1
    if quote:
        return None
    if started or current:
        words.append("".join(current))
    return [Word(value=w, text=w) for w in words]


_XARGS = Spec(
    posix=True,
    valued=names(
        "-a -d -E -I -L -n -P -s --arg-file --delimiter --max-args --max-procs --max-chars --process-slot-var"
    ),
    optional=names("-e -i -l"),
    flags=names(
        "-0 -o -p -r -t -x --null --open-tty --interactive --no-run-if-empty --verbose --exit "
        "--show-limits --eof --eof= --replace --replace= --max-lines --max-lines="
    ),
)


def _xargs(out: Unwrapped) -> None:
    parsed = parse(_XARGS, out.words[1:])
    out.wrappers.append("xargs")
    if parsed.unknown:
        out.opaque = out.opaque or "`xargs` has options that are not understood"
    out.reads.extend(parsed.values("-a", "--arg-file"))
    replace = None
    for name, value in parsed.options:
        if name == "-I" and value is not None:
            replace = value.value
        elif name in ("-i", "--replace"):
            replace = value.value if value is not None and value.value else "{}"
    words = parsed.operands or [Word(value="echo", text="echo")]
    if replace:
        out.words = [
            Word(value=w.value.replace(replace, UNKNOWN), text=w.text, glob=w.glob) if replace in w.value else w
            for w in words
        ]
    else:
        out.words = [*words, Word(value=UNKNOWN, text="<stdin>")]
    out.candidates.append(out.words)
