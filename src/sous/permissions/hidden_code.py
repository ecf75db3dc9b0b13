"""The part of the command walk (`shell`) that finds code bash evaluates later or elsewhere.

Arithmetic and array subscripts fed by variables, `${!x}` and `${x@P}` run `$(...)` found in
values (the analysis becomes opaque); here-documents expand substitutions; `trap 'CODE'` and
`su -c 'CODE'` run CODE later; a shell given its code on standard input (a here-document, a
here-string, `echo '...' |`) runs it. `HiddenCode` is mixed into the walker and uses its state.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import commands, syntax
from .targets import Cwds
from .words import Word

if TYPE_CHECKING:
    from .shell import Analysis, Command


class HiddenCode:
    result: Analysis
    cwds: Cwds
    stdin: str | None

    if TYPE_CHECKING:

        def walk(self, node: Any) -> None: ...
        def words(self, node: Any) -> list[Word]: ...
        def _slice(self, a: int, b: int) -> str: ...
        def _opaque(self, why: str) -> None: ...
        def _nested(self, code: str, assigns: list[tuple[str, Word]], opaque: str, cwds: Cwds) -> None: ...
        def _candidate(self, words: list[Word], cwds: Cwds) -> None: ...

    def _arithmetic_only(self, node: Any) -> None:
        if any(syntax.mentions_variables(c) for c in node.children if c.type not in ("do_group", "compound_statement")):
            self._opaque("arithmetic on variables (bash runs `$(...)` found in their values)")

    def _arithmetic(self, node: Any) -> None:
        if syntax.mentions_variables(node):
            self._opaque("arithmetic on variables (bash runs `$(...)` found in their values)")
        for child in node.children:
            self.walk(child)

    def _expansion(self, node: Any) -> None:
        kinds = [c.type for c in node.children]
        texts = [self._slice(c.start_byte, c.end_byte) for c in node.children]
        if len(kinds) > 1 and kinds[1] == "!":
            self._opaque("an indirect expansion `${!x}`")
        if "@" in texts and any(t in ("P", "E", "A", "K", "a", "k") for t in texts[texts.index("@") + 1 :]):
            self._opaque("a prompt or quoting expansion `${x@P}`")
        for child in node.children:
            if child.type == "subscript" and syntax.subscript_is_code(child):
                self._opaque("an array subscript fed by variables")
            self.walk(child)

    def _names(self, node: Any, names: list[Word]) -> None:
        """Builtins that take variable names evaluate a subscript in them as arithmetic."""
        for name in names:
            if not name.known or re.search(r"\[(?!\s*[0-9@*]+\s*\])", name.value):
                self._opaque(f"a variable name with a subscript or known only at run time: {name.text}")
        for child in node.children:
            self.walk(child)

    def _test(self, node: Any) -> None:
        words = []
        for child in syntax.leaves(node):
            words.extend(
                self.words(child)
                if child.is_named
                else [Word(value=self._slice(child.start_byte, child.end_byte), text="")]
            )
        inner = [w for w in words if w.value not in ("[[", "]]", "[", "]")]
        if not commands.arithmetic_safe_test(inner, double_bracket=node.children[0].type == "[["):
            self._opaque("a test whose operands bash evaluates as arithmetic")

    def _heredoc(self, node: Any) -> None:
        """An unquoted here-document expands `$(...)`, backticks and `${...}` in its body."""
        if not syntax.unquoted_delimiter(node):
            return
        for body in (c for c in node.children if c.type == "heredoc_body"):
            text = self._slice(body.start_byte, body.end_byte)
            if any(m in text for m in ("`", "$(", "${", "$[")):
                self._nested(': "' + text.replace('"', '\\"') + '"', [], "", self.cwds)

    def _runs_stdin(
        self, name: str, words: list[Word], assigns: list[tuple[str, Word]], opaque: str, cwds: Cwds
    ) -> bool:
        """A shell reading its code from a here-document, a here-string or `echo '...' |` runs that
        code: read it as `bash -c` is (True: handled). Code only run time knows asks; an
        interpreter's is shown to the floor as inline code."""
        reads = syntax.stdin_code(name, words)
        if not reads or (self.stdin is None and reads != "pipe"):
            return False
        if reads == "pipe" or self.stdin == syntax.STDIN or self.stdin is None:
            if reads in ("shell", "pipe"):
                self._opaque(f"`{name}` runs code from standard input that cannot be read")
            return False
        if reads == "shell":
            self._nested(self.stdin, assigns, opaque, cwds)
            return name not in ("source", ".")
        inline = Word(value=self.stdin, text=self.stdin)
        self._candidate([words[0], Word(value=reads, text=reads), inline], cwds)
        return False

    def _output(self, node: Any) -> str:
        """What a pipeline stage writes to the next one, as far as it can be told (`syntax.printed`)."""
        if node.type != "command":
            return syntax.STDIN
        words = [
            w
            for c in node.children
            if c.type in ("command_name", "word", "raw_string", "string")
            for w in self.words(c.children[0] if c.type == "command_name" and c.children else c)
        ]
        if words and words[0].value == "cat" and len(words) == 1 and self.stdin not in (None, syntax.STDIN):
            return self.stdin
        return syntax.printed(words)

    def _code_operand(
        self, *, command_name: str, words: list[Word], assigns: list[tuple[str, Word]], cwds: Cwds
    ) -> None:
        """`trap 'CODE' SIG` and `su -c 'CODE'` run shell code later or elsewhere: read it too."""
        rest = words[1:]
        if command_name == "trap":
            code = next((w for w in rest if not (w.known and w.value.startswith("-"))), None)
        else:
            at = next(i for i, w in enumerate(rest) if syntax.runs_code(w))
            value = rest[at].value
            if value.startswith("--command="):
                code = Word(value=value.split("=", 1)[1], text=rest[at].text)
            else:
                code = rest[at + 1] if at + 1 < len(rest) else None
        if code is None:
            return
        if not code.known:
            self._opaque(f"`{command_name}` runs code known only at run time")
        else:
            self._nested(code.value, assigns, f"run by `{command_name}`", cwds)

    def _builtin_hazards(self, command: Command) -> None:
        name, rest = command.name, command.words[1:]
        if name == "let":
            command.opaque = "`let` evaluates arithmetic"
            self._opaque("arithmetic with `let`")
        elif name in ("test", "["):
            if not commands.arithmetic_safe_test(rest):
                self._opaque("a test whose operands bash evaluates as arithmetic")
        elif name in ("read", "mapfile", "readarray", "unset", "getopts", "wait"):
            self._check_names([w for w in rest if not w.value.startswith("-")] if name != "getopts" else rest[1:2])
        elif name == "printf":
            for i, word in enumerate(rest[:-1]):
                if word.value.startswith("-") and "v" in word.value:
                    self._check_names([rest[i + 1]])
            if rest and not rest[0].known:
                self._opaque("printf with a format known only at run time")

    def _check_names(self, names: list[Word]) -> None:
        for name in names:
            if not name.known or re.search(r"\[(?!\s*[0-9@*]+\s*\])", name.value):
                self._opaque(f"a variable name with a subscript or known only at run time: {name.text}")
