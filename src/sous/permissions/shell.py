"""What a Bash command really runs, read with a real shell grammar (tree-sitter-bash).

`analyse("cd src && timeout 5 npm test | tee log.txt")` gives the simple commands to check one by
one (`cd src`, `npm test`, `tee log.txt`; wrappers such as `timeout`, `nice`, `env VAR=x`, `xargs`
looked through), the files written by redirections, and every command hidden inside `$(...)`,
backticks, `<(...)`, subshells, loops, functions, `bash -c '...'` and `eval '...'`. Anything the
grammar cannot read, or whose command name is only known at run time (`$CMD`, `eval "$x"`), makes
it return None: the caller must then ask, never allow (fail closed).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

WRAPPERS = {"timeout", "nice", "nohup", "time", "stdbuf", "command", "builtin", "noglob", "xargs", "env", "exec"}
SHELLS = {"bash", "sh", "zsh", "dash", "ksh"}
_WRAPPER_VALUE_OPTIONS = {"nice": {"-n"}, "timeout": {"-s", "-k", "--signal", "--kill-after"},
                          "xargs": {"-n", "-P", "-I", "-L", "-d", "-s", "-E"}, "stdbuf": {"-i", "-o", "-e"},
                          "env": {"-u", "-C", "-S"}}
_NO_WRITE = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}


@dataclass(slots=True)
class Analysis:
    commands: list[list[str]] = field(default_factory=list)
    """Each simple command as words, wrappers removed, in the order they appear."""
    writes: list[str] = field(default_factory=list)
    """Files that output redirections write (`>`, `>>`, `&>`, `tee FILE` is a command, not here)."""

    @property
    def parts(self) -> list[str]:
        return [" ".join(words) for words in self.commands]


class _Unsafe(Exception):
    pass


@functools.cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def analyse(command: str, depth: int = 0) -> Analysis | None:
    """The simple commands and written files of `command`, or None when it cannot be known."""
    if depth > 3 or "\x00" in command:
        return None
    tree = _parser().parse(command.encode())
    if tree.root_node.has_error:
        return None
    result = Analysis()
    try:
        _walk(tree.root_node, result, depth)
    except _Unsafe:
        return None
    return result


def _text(node: Any) -> str:
    return node.text.decode("utf-8", errors="replace")


def _word(node: Any, result: Analysis, depth: int) -> str:
    """The literal value of a word-like node; commands inside it are analysed too."""
    kind = node.type
    if kind in ("word", "number"):
        return _text(node).replace("\\", "")
    if kind == "raw_string":
        return _text(node)[1:-1]
    if kind in ("command_substitution", "process_substitution"):
        for child in node.children:
            _walk(child, result, depth)
        return _text(node)
    for child in node.children:  # strings, concatenations, expansions: look inside for commands
        if child.is_named:
            _word(child, result, depth)
    return _text(node)[1:-1] if kind == "string" else _text(node)


def _dynamic(node: Any) -> bool:
    return node.type not in ("word", "raw_string", "string", "number", "concatenation") or any(
        c.type in ("simple_expansion", "expansion", "command_substitution") for c in node.children)


def _walk(node: Any, result: Analysis, depth: int) -> None:
    kind = node.type
    if kind == "command":
        _command(node, result, depth)
        return
    if kind in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
        _redirect(node, result, depth)
        return
    for child in node.children:
        _walk(child, result, depth)


def _redirect(node: Any, result: Analysis, depth: int) -> None:
    operator = next((_text(c) for c in node.children if not c.is_named), "")
    destination = node.child_by_field_name("destination")
    if destination is None:
        for child in node.children:
            _walk(child, result, depth)
        return
    target = _word(destination, result, depth)
    if ">" in operator and not operator.endswith("&") and not target.startswith("&") and target not in _NO_WRITE:
        if _dynamic(destination):
            raise _Unsafe("a redirection to a path known only at run time")
        result.writes.append(target)


def _command(node: Any, result: Analysis, depth: int) -> None:
    words: list[str] = []
    name = node.child_by_field_name("name")
    for child in node.children:
        if child.type == "variable_assignment":
            for value in child.children[2:]:
                _word(value, result, depth)
        elif child.type in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
            _redirect(child, result, depth)
        elif child.type == "command_name":
            inner = child.children[0] if child.children else child
            if _dynamic(inner):
                raise _Unsafe("a command whose name is known only at run time")
            words.append(_word(inner, result, depth))
        elif child.is_named:
            words.append(_word(child, result, depth))
    if name is None and not words:
        return
    words = strip_wrappers(words) or words  # a bare `env` or `time` is a command of its own
    head = words[0].rsplit("/", 1)[-1]
    if head == "eval" or (head in SHELLS and "-c" in words):
        script = words[-1] if head == "eval" else (words[words.index("-c") + 1] if words.index("-c") + 1 < len(words) else "")
        inner = analyse(script, depth + 1) if script else None
        if inner is None or (head == "eval" and _has_dynamic_arg(node)):
            raise _Unsafe(f"{head} of a script that cannot be read")
        result.commands.extend(inner.commands)
        result.writes.extend(inner.writes)
        return
    result.commands.append(words)


def _has_dynamic_arg(node: Any) -> bool:
    return any(c.is_named and c.type not in ("command_name", "word", "raw_string") and _dynamic(c) for c in node.children)


def strip_wrappers(words: list[str]) -> list[str]:
    """`timeout 5 nice -n 2 env A=1 npm test` → `npm test`."""
    words = list(words)
    while words:
        head = words[0].rsplit("/", 1)[-1]
        if "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
            words.pop(0)
            continue
        if head not in WRAPPERS:
            break
        words.pop(0)
        takes_value = _WRAPPER_VALUE_OPTIONS.get(head, set())
        while words and (words[0].startswith("-") or (head == "timeout" and words[0][:1].isdigit())
                         or "=" in words[0] and head == "env"):
            option = words.pop(0)
            if option in takes_value and words:
                words.pop(0)
    return words
