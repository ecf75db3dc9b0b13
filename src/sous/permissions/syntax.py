"""Small readings of shell syntax that the command walk (`shell`) relies on.

Pure functions over tree-sitter nodes and `Word`s: which `cd` moves where, what `bash -c`
runs, which arithmetic or subscript is fed by variables, and a plain quote-aware lexer for
text the grammar rejects (so that the safety floor still sees what bash may run).
"""

from __future__ import annotations

import os
import re
from typing import Any

from .targets import Cwds, TargetKind
from .words import UNKNOWN, Chars, Word, ansi_c, double_quoted, expand

SHELL_VALUED = {"-o", "+o", "-O", "+O", "--rcfile", "--init-file"}
MAX_CWDS = 8


def runs_code(word: Word) -> bool:
    """`-c`, `-qc`, `--command`: the option after which `su`, `script`, `runuser` take shell code."""
    value = word.value
    return word.known and (
        value.startswith("--command") or (value.startswith("-") and not value.startswith("--") and "c" in value)
    )


def unquoted_delimiter(node: Any) -> bool:
    start = next((c for c in node.children if c.type == "heredoc_start"), None)
    return start is not None and not any(q in start.text.decode("utf-8", "replace") for q in "'\"\\")


def leaves(node: Any) -> list[Any]:
    """The word-level children of a test expression (operators included)."""
    if node.type in (
        "word",
        "string",
        "raw_string",
        "simple_expansion",
        "expansion",
        "concatenation",
        "number",
        "command_substitution",
        "ansi_c_string",
        "test_operator",
        "arithmetic_expansion",
        "translated_string",
        "regex",
        "extglob_pattern",
    ):
        return [node]
    if not node.is_named and node.type not in ("[[", "]]", "[", "]", "(", ")", "&&", "||"):
        return [node]
    out = []
    for child in node.children:
        out.extend(leaves(child))
    return out


def mentions_variables(node: Any) -> bool:
    if node.type in ("variable_name", "simple_expansion", "expansion", "command_substitution", "subscript"):
        return True
    if node.type == "word" and re.search(r"[A-Za-z_]", node.text.decode("utf-8", "replace")):
        return True
    return any(mentions_variables(c) for c in node.children)


def subscript_is_code(node: Any) -> bool:
    index = [c for c in node.children if c.is_named][1:]
    return any(c.type != "number" and c.text.decode("utf-8", "replace") not in ("@", "*") for c in index)


def cd(cwds: Cwds, target: Word, union: bool = False) -> Cwds:
    if cwds is None or not target.known:
        return None
    value = target.value
    if target.tilde:
        value = "~" + value[1:]
    moved = {
        os.path.normpath(value if os.path.isabs(value) or value.startswith("~") else os.path.join(d, value))
        for d in cwds
    }
    out = frozenset(moved | (cwds if union else set()))
    return out if len(out) <= MAX_CWDS else None


def _option_values(cluster: str) -> int:
    """How many words after a shell's option cluster are values: one for each `o`/`O` in it
    (`bash -euo pipefail -c CODE`)."""
    return cluster[1:].count("o") + cluster[1:].count("O") if cluster[1:2] != "-" else 0


def shell_script(words: list[Word]) -> Word | str | None:
    """`bash [options] -c SCRIPT`: the script word; a reason string when the options cannot be read;
    None when the shell runs a file or stdin (an ordinary command)."""
    i, has_c = 1, False
    while i < len(words):
        word = words[i]
        if not word.known:
            return "a shell started with options known only at run time" if word.may_be_option else None
        value = word.value
        if value == "--" or value == "-":
            i += 1
            break
        if value in SHELL_VALUED:
            i += 2
            continue
        if value.startswith("--"):
            i += 1
            continue
        if value[:1] in "-+" and len(value) > 1:
            has_c = has_c or "c" in value[1:]
            i += 1 + _option_values(value)
            continue
        break
    if not has_c:
        return None
    return words[i] if i < len(words) else "a shell `-c` without code"


def fallback_words(text: str) -> tuple[list[list[Word]], list[tuple[TargetKind, Word]]]:
    """Simple commands of text the grammar rejects, read by a plain quote-aware lexer: separators
    `; & | ( ) { }` and newlines split commands; quotes, `$'...'` and backslashes are honoured,
    `$...` is unknown, braces in words are expanded; the word after `<`, `>`, `<>` is a file read
    or written. Used only to let the floor see more."""
    out: list[list[Word]] = []
    redirected: list[tuple[TargetKind, Word]] = []
    words: list[Word] = []
    chars: Chars = []
    pending = ""
    i, n = 0, len(text)

    def end_word() -> None:
        nonlocal chars, pending
        if chars:
            found = expand(chars, "".join(c for c, _ in chars))
            if pending:
                if not (pending.endswith("&") and all(w.value.isdigit() or w.value == "-" for w in found)):
                    kinds: tuple[TargetKind, ...] = (
                        ("read", "write") if pending == "<>" else ("read",) if pending[0] == "<" else ("write",)
                    )
                    redirected.extend((kind, w) for w in found for kind in kinds)
                pending = ""
            else:
                words.extend(found)
            chars = []

    def end_command() -> None:
        nonlocal words
        end_word()
        if words:
            out.append(words)
            words = []

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            chars.append((text[i + 1], True))
            i += 2
        elif c == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            chars += [(ch, True) for ch in text[i + 1 : j]]
            i = j + 1
        elif c == "$" and text.startswith("$'", i):
            j = text.find("'", i + 2)
            j = n if j < 0 else j
            value = ansi_c(text[i + 2 : j])
            chars += [(ch, True) for ch in value] if value is not None else [(UNKNOWN, True)]
            i = j + 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            chars += (
                [(UNKNOWN, True)]
                if "$" in text[i + 1 : j] or "`" in text[i + 1 : j]
                else double_quoted(text[i + 1 : j])
            )
            i = j + 1
        elif c in "$`":
            chars.append((UNKNOWN, False))
            i += 1
            while i < n and (text[i].isalnum() or text[i] in "_{}()"):
                i += 1
        elif c in " \t":
            end_word()
            i += 1
        elif c in ";&|()\n" or (c in "{}" and not chars and (i + 1 == n or text[i + 1] in " \t\n;")):
            end_command()
            i += 1
        elif c in "<>":
            end_word()
            j = i
            while j < n and text[j] in "<>&|":
                j += 1
            pending = text[i:j].replace("|", "")
            if chars == [] and words and words[-1].value.isdigit() and text[i - 1 : i].isdigit():
                words.pop()  # `2>`: the descriptor number is not a word
            i = j
        else:
            chars.append((c, False))
            i += 1
    end_command()
    return out, redirected


STDIN = "\x00"
"""What a command reads on standard input when only run time knows it (a file, another program)."""
_INTERPRETERS = {"python": "-c", "perl": "-e", "ruby": "-e", "node": "-e", "php": "-r", "lua": "-e"}
"""Interpreters that run a program read from standard input, and the option that takes inline code."""


def stdin_code(name: str, words: list[Word]) -> str:
    """Does this command run code it reads from standard input? "shell" (`bash`, `sh -s`, `bash -`,
    `bash /dev/stdin`, `source /dev/stdin`), "pipe" (a shell or `source` reading `/dev/fd/N`, a
    process substitution), the inline-code option of an interpreter reading a program from stdin
    (`python3`, `perl -`), or "" (it does not)."""
    rest = words[1:]
    if name in ("source", "."):
        first = rest[0].value if rest else ""
        return "shell" if first in ("/dev/stdin", "/dev/fd/0") else "pipe" if first.startswith("/dev/fd/") else ""
    if name in ("at", "batch"):  # commands run later, read from stdin unless `-f FILE`
        return "" if any(w.value.startswith("-f") for w in rest) else "shell"
    base = re.sub(r"[\d.]+$", "", name)
    if name not in ("bash", "sh", "zsh", "dash", "ksh", "mksh", "busybox") and base not in _INTERPRETERS:
        return ""
    i, reads = 0, False
    while i < len(rest):
        value = rest[i].value
        if not rest[i].known:
            return ""
        if value in ("-", "--"):
            i += 1
            reads = reads or value == "-"
            break
        if value in SHELL_VALUED and base not in _INTERPRETERS:
            i += 2
            continue
        if value[:1] not in "-+" or len(value) == 1:
            break
        inline = "cmer" if base in _INTERPRETERS else "c"  # `bash -e` is errexit, `perl -e` is code
        if value[1:2] != "-" and any(c in value[1:] for c in inline):
            return ""  # inline code or a module (`-c`, `-m`, `-e`, `-r`): read elsewhere
        reads = reads or (value[1:2] != "-" and "s" in value[1:] and base not in _INTERPRETERS)
        i += 1 + (_option_values(value) if base not in _INTERPRETERS else 0)
    operand = rest[i].value if i < len(rest) else ""
    if operand.startswith("/dev/fd/") and operand != "/dev/fd/0":
        return "pipe"
    if not (reads or operand in ("", "/dev/stdin", "/dev/fd/0")):
        return ""  # a script file
    return _INTERPRETERS.get(base, "shell")


def printed(words: list[Word]) -> str:
    """What `echo`/`printf` with known words print (roughly: escapes and formats are left as
    typed), or `STDIN` when that cannot be told."""
    name = words[0].value.rsplit("/", 1)[-1] if words and words[0].known else ""
    rest = words[1:]
    if name not in ("echo", "printf") or not all(w.known for w in rest):
        return STDIN
    if name == "echo":
        while rest and re.fullmatch(r"-[neE]+", rest[0].value):
            rest = rest[1:]
    return " ".join(w.value for w in rest)


CODE_VARIABLES = frozenset(
    {
        "PAGER",
        "GIT_PAGER",
        "MANPAGER",
        "SYSTEMD_PAGER",
        "EDITOR",
        "VISUAL",
        "GIT_EDITOR",
        "GIT_SEQUENCE_EDITOR",
        "GIT_SSH_COMMAND",
        "GIT_EXTERNAL_DIFF",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
        "SUDO_ASKPASS",
        "LESSOPEN",
        "LESSCLOSE",
        "PROMPT_COMMAND",
        "BROWSER",
    }
)
"""Variables whose value a program runs as a command (`PAGER='rm -rf ~' git log`)."""
_GIT_CODE_KEY = re.compile(
    r"core\.(?:pager|editor|sshcommand|fsmonitor|askpass)|diff\.external|sequence\.editor|gpg\.\w*program"
    r"|pager\..+|alias\..+|credential\..*helper|uploadpack\.packobjectshook|.+\.(?:command|driver|clean|smudge"
    r"|process|textconv|cmd|tool)",
    re.I,
)


def settings_code(name: str, words: list[Word], assigns: list[tuple[str, Word]]) -> list[Word]:
    """Shell code a program will run from its settings: the values of `CODE_VARIABLES` given to
    it, and git's `-c KEY=VALUE` for keys that name commands (`core.pager`, `alias.x=!cmd`...)."""
    out = [value for key, value in assigns if key in CODE_VARIABLES and value.value]
    if name == "git":
        rest = words[1:]
        for i, word in enumerate(rest[:-1]):
            if word.value != "-c":
                if not word.may_be_option:
                    break
                continue
            setting = rest[i + 1]
            key, eq, value = setting.value.partition("=")
            if not setting.known:
                out.append(Word(value=UNKNOWN, text=setting.text))
            elif eq and _GIT_CODE_KEY.fullmatch(key):
                out.append(Word(value=value.removeprefix("!"), text=setting.text))
    return [Word(value=w.value.lstrip("|-") if w.known else w.value, text=w.text) for w in out]
