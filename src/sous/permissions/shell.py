"""What a Bash command really runs, read with a real shell grammar (tree-sitter-bash).

`analyse("cd src && timeout 5 npm test | tee log.txt")` gives every simple command to check one by
one (wrappers looked through per `wrappers`), each with its words as the program receives them
(see `words`), its leading assignments and the directories it may run in (`cd`/`pushd` are
tracked); every file read, written or deleted by a redirection or a modelled program (`commands`);
network redirections (`/dev/tcp/...`); and every command hidden inside `$(...)`, backticks,
`<(...)`, subshells, loops, functions, `bash -c '...'`, `eval '...'`, `env -S '...'`, `watch`,
`xargs` and `find -exec`.

Whatever cannot be known statically is recorded, not guessed: a command name known only at run
time, `eval "$x"`, arithmetic or array subscripts fed by variables (bash runs `$(...)` found
in them), `${!x}` and `${x@P}` make the analysis `opaque` (the caller asks, never allows);
an unknown word stays in its command as `UNKNOWN` so nothing that needs its literal text passes.
A command the grammar cannot parse gives an opaque analysis that still lists what it could read,
so the safety floor checks it too. `analyse` never raises and never runs anything.
"""

from __future__ import annotations

import functools
import os
import re
from itertools import islice
from typing import Any

from sous.records import field, record, replace

from . import commands, syntax
from .hidden_code import HiddenCode
from .targets import Cwds, Target, TargetKind, network
from .words import GLOB_CHARS, UNKNOWN, Chars, Word, ansi_c, double_quoted, expand, unquoted
from .wrappers import RESERVED, RUNNERS, unwrap

SHELLS = {"bash", "sh", "zsh", "dash", "ksh", "mksh", "fish", "busybox"}
_REDIRECTS = ("file_redirect", "heredoc_redirect", "herestring_redirect")
_HIDDEN_CODE = re.compile(rb"`|\$\(")
_LOOPS = ("for_statement", "c_style_for_statement", "while_statement", "until_statement", "select_statement")


@record(frozen=False)
class Command:
    """One simple command, as run."""

    words: list[Word]
    """The program and its arguments, wrappers removed."""
    outer: list[Word] = field(default_factory=list)
    """The words as written, wrappers included (leading assignments excluded)."""
    assigns: list[tuple[str, Word]] = field(default_factory=list)
    """`NAME=value` before the command, through `env`, or inherited from an enclosing `bash -c`."""
    wrappers: list[str] = field(default_factory=list)
    cwds: Cwds = frozenset({"."})
    opaque: str = ""
    """Why no allow rule or read-only verdict may cover this command (empty when they may)."""
    exports: bool = False
    """`export`/`declare -x` with no command: the names reach every later program."""

    name: str = field(init=False, repr=False, compare=False)
    """The program's name (`commands.program`): "" when only run time knows it."""

    def __post_init__(self) -> None:
        self.name = commands.program(self.words)

    def rendered(self, outer: bool = False) -> str:
        """The words' literal values joined by spaces; run-time pieces stay `UNKNOWN`."""
        return " ".join(w.value for w in (self.outer if outer else self.words))

    def typed(self, outer: bool = False) -> str:
        """The words as typed where their value is unknown, their values elsewhere."""
        return " ".join(w.value if w.known else w.text for w in (self.outer if outer else self.words))


@record(frozen=False, kw_only=False)
class Analysis:
    commands: list[Command] = field(default_factory=list)
    """Every simple command, in the order they appear."""
    targets: list[Target] = field(default_factory=list)
    """Files read, written or deleted, by redirections and by the programs `commands` models."""
    network: list[str] = field(default_factory=list)
    """Words that open network connections (`3<>/dev/tcp/host/80`)."""
    opaque: list[str] = field(default_factory=list)
    """Why the command as a whole cannot be allowed without asking."""
    candidates: list[Command] = field(default_factory=list)
    """Commands that might run behind a wrapper that is not looked through (for the floor only)."""

    @property
    def parts(self) -> list[str]:
        return [c.typed() for c in self.commands if c.words]

    @property
    def writes(self) -> list[Target]:
        return [t for t in self.targets if t.kind != "read"]

    @property
    def reads(self) -> list[Target]:
        return [t for t in self.targets if t.kind == "read"]


@functools.cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def analyse(command: str, home: str | None = None, cwd: str | None = None) -> Analysis | None:
    """The commands, files and hazards of `command`; None only for text no shell would take (NUL).

    `home` lets `$HOME` be read (unless the command assigns HOME); `cwd` lets a `cd` into an
    existing directory replace the tracked directory instead of adding to it."""
    if "\x00" in command:
        return None
    home = home if home and not re.search(r"(?<![$\w{])HOME\b", command) else None
    result = Analysis()
    _Walker(result, home=home, cwd=cwd, look=cwd is not None).code(command, depth=0)
    if cwd is not None and result.writes:
        # a command that writes may create the `-x` file a glob then matches: look nothing up
        result = Analysis()
        _Walker(result, home=home, cwd=cwd, look=False).code(command, depth=0)
    return result


class _Walker(HiddenCode):
    def __init__(self, result: Analysis, home: str | None, cwd: str | None, look: bool = False):
        self.result = result
        self.home = home
        self.cwds: Cwds = frozenset({"."})
        self.src = b""
        self.depth = 0
        self.inherited: list[tuple[str, Word]] = []
        self.inherited_opaque = ""
        self.fallible = False
        self.cwd = cwd
        self.look = look
        self.stdin: str | None = None
        """What the command being walked reads on standard input: text, `syntax.STDIN` (known only
        at run time) or None (not redirected)."""
        """May globs be matched against the disk now (see `Word.dashless`)?"""

    # --- entry points ---------------------------------------------------------------------------

    def code(self, text: str, depth: int, assigns: list[tuple[str, Word]] | None = None, opaque: str = "") -> None:
        """Walk shell code (the command itself, or a `bash -c`/`eval` string) in a child scope."""
        if depth > 4:
            self.result.opaque.append("shell code nested too deeply")
            return
        tree = _parser().parse(text.encode())
        saved = (self.src, self.depth, self.inherited, self.inherited_opaque, self.cwds)
        saved_stdin, self.stdin = self.stdin, None
        self.src, self.depth = text.encode(), depth
        self.inherited = self.inherited + (assigns or [])
        self.inherited_opaque = self.inherited_opaque or opaque
        if tree.root_node.has_error:
            self.result.opaque.append("the command cannot be parsed")
            found, redirected = syntax.fallback_words(text)
            self.result.targets += [Target(word=w, cwds=self.cwds, kind=k) for k, w in redirected]
            for words in found:  # what bash may still run, for the floor
                unwrapped = unwrap(words)
                for candidate in [unwrapped.words or words, *unwrapped.candidates]:
                    if candidate:
                        self.result.candidates.append(Command(words=candidate, cwds=self.cwds, opaque="unparsed"))
                        self.result.targets += commands.effects(candidate, self.cwds)
        self.walk(tree.root_node)
        self.src, self.depth, self.inherited, self.inherited_opaque, self.cwds = saved
        self.stdin = saved_stdin
        if depth == 0:
            self.cwds = saved[4]

    def _opaque(self, why: str) -> None:
        self.result.opaque.append(why)

    # --- statements -----------------------------------------------------------------------------

    def walk(self, node: Any) -> None:
        kind = node.type
        if kind == "command":
            self._command(node)
        elif kind in _REDIRECTS:
            self._redirect(node)
        elif kind in ("subshell", "command_substitution", "process_substitution"):
            self._isolated(node.children)
        elif kind == "pipeline":
            saved_stdin, previous = self.stdin, None
            for child in node.children:
                if child.is_named:
                    self.stdin = saved_stdin if previous is None else self._output(previous)
                    previous = child
                self._isolated([child])
            self.stdin = saved_stdin
        elif kind == "redirected_statement":
            saved_stdin = self.stdin
            for child in node.children:
                if child.type == "heredoc_redirect":
                    body = next((c for c in child.children if c.type == "heredoc_body"), None)
                    self.stdin = self._slice(body.start_byte, body.end_byte) if body is not None else ""
                elif (
                    child.type == "file_redirect"
                    and self._slice(child.start_byte, child.end_byte).lstrip("0")[:1] == "<"
                ):
                    self.stdin = syntax.STDIN  # `< FILE`, `0< FILE`, `<> FILE`
            for child in node.children:
                self.walk(child)
            self.stdin = saved_stdin
        elif kind in _LOOPS:
            if kind == "c_style_for_statement":
                self._arithmetic_only(node)
            self._loop(node)
        elif kind == "list" and any(c.type == "||" for c in node.children):
            saved, self.fallible = self.fallible, True  # `cd x || ...` may leave the shell where it was
            for child in node.children:
                self.walk(child)
            self.fallible = saved
        elif kind == "variable_assignment":
            self._record(Command(words=[], assigns=[self._assignment(node)], cwds=self.cwds))
        elif kind == "declaration_command":
            self._declaration(node)
        elif kind == "unset_command":
            self._names(node, [self._word1(c) for c in node.children[1:] if c.is_named])
        elif kind == "test_command":
            self._test(node)
        elif (
            kind == "compound_statement"
            and node.children
            and node.children[0].type == "(("
            or kind in ("arithmetic_expansion",)
        ):
            self._arithmetic(node)
        elif kind == "expansion":
            self._expansion(node)
        elif kind in ("word", "regex", "extglob_pattern") and _HIDDEN_CODE.search(node.text or b""):
            # the grammar leaves `...` inside `${x:-...}`, `${x/a/b}` and after `=~` as a plain
            # word, where bash runs it: read the word again as the argument of `:`
            self._nested(": " + self._slice(node.start_byte, node.end_byte), [], "", self.cwds)
        elif kind == "ERROR":
            for child in node.children:
                self.walk(child)
        else:
            for child in node.children:
                self.walk(child)

    def _isolated(self, children: list[Any]) -> None:
        saved = self.cwds
        for child in children:
            self.walk(child)
        self.cwds = saved

    def _loop(self, node: Any) -> None:
        before_cwds, n_cmd, n_tgt = self.cwds, len(self.result.commands), len(self.result.targets)
        for child in node.children:
            self.walk(child)
        if self.cwds != before_cwds:  # a `cd` in a loop body moves every later iteration: unknown
            del self.result.commands[n_cmd:], self.result.targets[n_tgt:]
            self.cwds = None
            for child in node.children:
                self.walk(child)
            self.cwds = None

    def _candidate(self, words: list[Word], cwds: Cwds) -> None:
        """A command that may run, shown to the safety floor only."""
        self.result.candidates.append(Command(words=words, cwds=cwds))

    def _record(self, command: Command) -> int:
        command.assigns = self.inherited + command.assigns
        command.opaque = command.opaque or self.inherited_opaque
        self.result.commands.append(command)
        return len(self.result.commands) - 1

    # --- words ----------------------------------------------------------------------------------

    def _slice(self, a: int, b: int) -> str:
        return self.src[a:b].decode("utf-8", errors="replace")

    def words(self, node: Any) -> list[Word]:
        """The words one argument node becomes (brace expansion may make several)."""
        return expand(self._chars(node), self._slice(node.start_byte, node.end_byte))

    def _word1(self, node: Any) -> Word:
        found = self.words(node)
        return found[0] if len(found) == 1 else Word(value=UNKNOWN, text=self._slice(node.start_byte, node.end_byte))

    def _chars(self, node: Any, quoted: bool = False) -> Chars:
        """Characters of a word node; run-time pieces are UNKNOWN, flagged unquoted outside "..."."""
        kind = node.type
        text = self._slice(node.start_byte, node.end_byte)
        if kind in ("word", "number", "brace_expression", "variable_name", "test_operator"):
            return unquoted(text)
        if kind == "raw_string":
            return [(c, True) for c in text[1:-1]]
        if kind == "ansi_c_string":
            value = ansi_c(text[2:-1])
            return [(c, True) for c in value] if value is not None else [(UNKNOWN, quoted)]
        if kind in ("string", "translated_string"):
            start = node.start_byte + (2 if kind == "translated_string" else 1)
            return self._pieces(node, start, node.end_byte - 1, double_quoted, quoted=True)
        if kind == "concatenation":
            return self._pieces(node, node.start_byte, node.end_byte, unquoted, quoted=quoted)
        if kind in ("simple_expansion", "expansion") and self.home and text in ("$HOME", "${HOME}"):
            return [(c, True) for c in self.home]
        if kind == "process_substitution":
            self._isolated(node.children)
            return [(c, True) for c in "/dev/fd/63"]
        self.walk(node)  # substitutions, expansions, arithmetic: commands inside are checked too
        return [(UNKNOWN, quoted)]

    def _pieces(self, node: Any, start: int, end: int, lex: Any, quoted: bool) -> Chars:
        out: Chars = []
        at = start
        for child in node.children:
            if child.start_byte < start or child.end_byte > end:
                continue
            if child.start_byte > at:
                out += lex(self._slice(at, child.start_byte))
            if child.type == "string_content":
                out += double_quoted(self._slice(child.start_byte, child.end_byte))
            elif not child.is_named:
                out += lex(self._slice(child.start_byte, child.end_byte))
            else:
                out += self._chars(child, quoted)
            at = child.end_byte
        if at < end:
            out += lex(self._slice(at, end))
        return out

    def _assignment(self, node: Any) -> tuple[str, Word]:
        name_node = node.children[0] if node.children else node
        if name_node.type == "subscript":
            if syntax.subscript_is_code(name_node):
                self._opaque("an array subscript fed by variables")
            self.walk(name_node)
        name = self._slice(name_node.start_byte, name_node.end_byte)
        values = [c for c in node.children[2:] if c.is_named]
        value = self._word1(values[0]) if values else Word(value="", text="")
        for extra in values[1:]:
            self.walk(extra)
        return name.split("[", 1)[0], value

    def _declaration(self, node: Any) -> None:
        keyword = self._slice(node.children[0].start_byte, node.children[0].end_byte)
        words, assigns = [Word(value=keyword, text=keyword)], []
        for child in node.children[1:]:
            if child.type == "variable_assignment":
                name, value = self._assignment(child)
                assigns.append((name, value))
                words.append(Word(value=f"{name}={value.value}", text=self._slice(child.start_byte, child.end_byte)))
            elif child.is_named:
                words.extend(self.words(child))
        flags = "".join(w.value[1:] for w in words[1:] if w.value.startswith(("-", "+")))
        opaque = ""
        if any(f in flags for f in "inAfFpa") or any(not w.known for w in words[1:]):
            opaque = f"`{keyword}` of integer, reference, function or run-time variables"
        names = [w for w in words[1:] if not w.value.startswith(("-", "+"))]
        self._names(node, [Word(value=w.value.split("=", 1)[0], text=w.text) for w in names])
        exported = keyword == "export" or "x" in flags
        for word in names:  # `export NAME` without a value exports it too: judge every name
            name = word.value.split("=", 1)[0]
            if not any(n == name for n, _ in assigns):
                assigns.append((name, Word(value="", text=word.text)))
        if not names:  # `export`, `declare -x` alone print every variable, secrets included
            self._record(Command(words=words, cwds=self.cwds, opaque=opaque, outer=words))
            return
        # a plain declaration is an assignment; rules see it as one (flags other than -x/-r/-g ask)
        self._record(Command(words=[], assigns=assigns, cwds=self.cwds, opaque=opaque, outer=words, exports=exported))

    # --- commands -------------------------------------------------------------------------------

    def _command(self, node: Any) -> None:
        assigns, pieces, redirects = [], [], []
        for child in node.children:
            if child.type == "variable_assignment":
                assigns.append(self._assignment(child))
            elif child.type in _REDIRECTS:
                redirects.append(child)
            elif child.type == "command_name":
                pieces.append(child.children[0] if child.children else child)
            elif child.is_named:
                pieces.append(child)
        # the grammar sometimes ends a word where bash does not (`-'-'\c...` as two nodes):
        # nodes with nothing between them are one word
        groups: list[list[Any]] = []
        for piece in pieces:
            if groups and groups[-1][-1].end_byte == piece.start_byte:
                groups[-1].append(piece)
            else:
                groups.append([piece])
        words: list[Word] = []
        for group in groups:
            if len(group) == 1:
                words.extend(self.words(group[0]))
            else:
                chars = [c for piece in group for c in self._chars(piece)]
                words.extend(expand(chars, self._slice(group[0].start_byte, group[-1].end_byte)))
        if self.look:
            words = [self._dashless(w) if w.glob and w.value[:1] in GLOB_CHARS else w for w in words]
        saved_stdin = self.stdin
        for child in redirects:
            if child.type == "herestring_redirect":
                fed = [self._word1(c) for c in child.children if c.is_named]
                self.stdin = fed[-1].value if fed and fed[-1].known else syntax.STDIN
            elif self._slice(child.start_byte, child.end_byte).lstrip("0123456789")[:1] == "<":
                self.stdin = syntax.STDIN if child.type == "file_redirect" else self.stdin
        self.simple(words, assigns)
        self.stdin = saved_stdin
        for child in redirects:
            self._redirect(child)

    def _dashless(self, word: Word) -> Word:
        """`du -sh *` is fine unless a file named `-x...` is there for `*` to match."""
        if UNKNOWN in word.value or self.cwds is None or self.cwd is None:
            return word
        import glob as globbing  # only for a command with a wildcard

        for d in self.cwds:
            base = os.path.join(self.cwd, self.home + d[1:] if d.startswith("~") and self.home else d)
            names = list(islice(globbing.iglob(os.path.join(base, word.value)), 1000))
            if len(names) >= 1000 or any(os.path.basename(n.rstrip("/")).startswith("-") for n in names):
                return word
        return replace(word, dashless=True)

    def simple(self, outer: list[Word], assigns: list[tuple[str, Word]], opaque: str = "") -> None:
        """Record one simple command (and what its wrappers run), updating the tracked cwd."""
        result = self.result
        if not outer:
            if assigns:
                self._record(Command(words=[], assigns=assigns, cwds=self.cwds, opaque=opaque))
            return
        for word in outer:
            if network(word) and word.value.startswith("/dev/"):
                result.network.append(word.text)
        unwrapped = unwrap(outer)
        opaque = opaque or unwrapped.opaque
        cwds = self.cwds
        if unwrapped.chdir is not None:
            cwds = syntax.cd(cwds, unwrapped.chdir)
        result.targets += [Target(word=w, cwds=cwds, kind="write") for w in unwrapped.writes]
        result.targets += [Target(word=w, cwds=cwds, kind="read") for w in unwrapped.reads]
        all_assigns = assigns + unwrapped.assigns
        for candidate in unwrapped.candidates:
            if candidate and candidate is not unwrapped.words:
                result.candidates.append(Command(words=candidate, cwds=cwds, opaque=opaque or "a tail"))
        if unwrapped.script is not None:
            script = unwrapped.script
            if not script.known:
                self._opaque(f"`{' '.join(unwrapped.wrappers)}` runs code known only at run time")
            else:
                self._nested(script.value, all_assigns, opaque, cwds)
            return
        if not unwrapped.words and all(w.value in RESERVED for w in outer):
            return  # the `}` closing a group the grammar split
        words = unwrapped.words or outer  # `nice` or `env` alone, or a wrapper that was not looked through
        if not words[0].known:
            self._opaque("a command whose name is known only at run time")
            result.candidates.append(Command(words=words, cwds=cwds, opaque="unknown command"))
            return
        name = commands.program(words)
        for code in syntax.settings_code(name, words, all_assigns):
            if code.known:
                self._nested(code.value, [], f"run by `{name}` from its settings", cwds)
            else:
                self._opaque(f"`{name}` runs a command known only at run time from its settings")
        if self._runs_stdin(name, words, all_assigns, opaque, cwds):
            return
        if name in SHELLS and (shell_code := syntax.shell_script(words)) is not None:
            if isinstance(shell_code, str):
                self._opaque(shell_code)
            elif not shell_code.known:
                self._opaque(f"`{name} -c` of code known only at run time")
            else:
                self._nested(shell_code.value, all_assigns, opaque, cwds)
            return
        if name == "trap" or (name in RUNNERS and any(syntax.runs_code(w) for w in words[1:])):
            self._code_operand(command_name=name, words=words, assigns=all_assigns, cwds=cwds)
        if name == "eval":
            if all(w.known for w in words[1:]):
                self._nested(" ".join(w.value for w in words[1:]), all_assigns, opaque, cwds)
            else:
                self._opaque("eval of code known only at run time")
            return
        command = Command(
            words=words, outer=outer, assigns=all_assigns, wrappers=unwrapped.wrappers, cwds=cwds, opaque=opaque
        )
        self._builtin_hazards(command)
        execs = commands.find_execs(words[1:]) if name == "find" else []
        if name == "find" and (execs or any(w.value in commands.FIND_WRITES or w.value == "-delete" for w in words)):
            command.opaque = command.opaque or "`find` that deletes, writes or runs commands: always asked"
        command.opaque = command.opaque or commands.hazard(words)
        owner = self._record(command)
        result.targets += [replace(t, owner=owner) for t in commands.effects(words, cwds)]
        for inner in execs:
            self.simple(inner, [], opaque="run by `find -exec`")
        if name in ("cd", "pushd", "popd", "chdir"):
            self._change_dir(name, words[1:])

    def _nested(self, code: str, assigns: list[tuple[str, Word]], opaque: str, cwds: Cwds) -> None:
        saved = self.cwds
        self.cwds = cwds
        self.code(code, self.depth + 1, assigns, opaque)
        self.cwds = saved

    def _change_dir(self, name: str, rest: list[Word]) -> None:
        operands = [w for w in rest if not (w.known and w.value in ("-L", "-P", "-e", "-@"))]
        if name == "popd" or (operands and operands[0].value in ("-", "+1", "-1")):
            self.cwds = None
            return
        target = operands[0] if operands else Word(value="~", text="~", tilde=True)
        moved = syntax.cd(self.cwds, target)
        # A `cd` that fails leaves the shell where it was: only one into a directory that exists now,
        # outside an `||` list, surely moves it (one made earlier in the same command does not exist
        # yet, so the shell may be in either place, and both are checked).
        certain = moved is not None and not self.fallible and all(self._is_dir(d) for d in moved)
        self.cwds = moved if certain else syntax.cd(self.cwds, target, union=True)

    def _is_dir(self, path: str) -> bool:
        if path.startswith("~"):
            return self.home is not None and os.path.isdir(self.home + path[1:])
        return self.cwd is not None and os.path.isdir(os.path.join(self.cwd, path))

    def _redirect(self, node: Any) -> None:
        if node.type == "heredoc_redirect":
            self._heredoc(node)
        if node.type != "file_redirect":
            for child in node.children:
                self.walk(child)
            return
        operator = next((self._slice(c.start_byte, c.end_byte) for c in node.children if not c.is_named), "")
        destination = node.child_by_field_name("destination")
        if destination is None:
            named = [c for c in node.children if c.is_named and c.type != "file_descriptor"]
            destination = named[-1] if named else None
        if destination is None:
            return
        for word in self.words(destination):
            if operator in (">&", "<&") and word.known and re.fullmatch(r"\d+-?|-", word.value):
                continue  # duplicating or closing a file descriptor
            if operator.endswith("&-"):
                continue
            if network(word):
                self.result.network.append(word.text)
            kinds: list[TargetKind] = (
                ["read", "write"] if operator == "<>" else ["read"] if operator in ("<", "<&") else ["write"]
            )
            self.result.targets += [Target(word=word, cwds=self.cwds, kind=k) for k in kinds]
