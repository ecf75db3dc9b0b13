"""Who may run what: a pure function from (rules, mode, call) to allow / ask / deny.

Order, as in Claude Code: deny rules, then ask rules, then allow rules (any layer's deny beats
any allow); then the permission mode's default for that tool.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from .rules import EDIT_TOOLS, READ_TOOLS, Rule, matches, parse

MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")
ALWAYS_ALLOWED = {"TodoWrite", "TaskOutput"}
READ_ONLY_COMMANDS = {
    "ls", "cat", "echo", "pwd", "head", "tail", "grep", "rg", "find", "wc", "which", "diff", "stat",
    "du", "cd", "true", "false", "test", "[", "file", "tree", "sort", "uniq", "date", "printf", "basename",
    "dirname", "realpath", "env", "whoami", "uname",
}
READ_ONLY_GIT = {"status", "log", "diff", "show", "branch", "rev-parse", "ls-files", "blame", "remote"}
WRAPPERS = {"timeout", "nice", "nohup", "time", "stdbuf", "command", "builtin", "noglob", "xargs"}
_SEPARATORS = {"&&", "||", ";", "|", "|&", "&", ";;", "\n"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    behavior: Literal["allow", "ask", "deny"]
    source: str
    """What decided: `rule:<text>`, `mode:<mode>`, `parse`."""
    reason: str = ""


@dataclass(slots=True, kw_only=True)
class Rules:
    allow: list[Rule] = field(default_factory=list)
    ask: list[Rule] = field(default_factory=list)
    deny: list[Rule] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_lists(cls, allow=(), ask=(), deny=()) -> Rules:
        rules = cls()
        for kind, texts in (("allow", allow), ("ask", ask), ("deny", deny)):
            for text in texts:
                try:
                    getattr(rules, kind).append(parse(text))
                except ValueError as e:
                    rules.problems.append(str(e))
        return rules

    def denied_tools(self) -> set[str]:
        """Tools denied as a whole: they are removed from the model's tool list."""
        return {r.tool for r in self.deny if r.specifier is None and "*" not in r.tool}


def split_command(command: str) -> list[str] | None:
    """Split a shell command into its simple commands, wrappers removed. None when it cannot be
    analysed safely (command substitution, process substitution, unbalanced quotes)."""
    if any(s in command for s in ("$(", "`", "<(", ">(")):
        return None
    try:
        lexer = shlex.shlex(command.replace("\n", " ; "), posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return None
    parts, current = [], []
    for token in tokens:
        if token in _SEPARATORS:
            if current:
                parts.append(current)
            current = []
        else:
            current.append(token)
    if current:
        parts.append(current)
    return [" ".join(_strip_wrappers(p)) for p in parts if _strip_wrappers(p)]


def _strip_wrappers(words: list[str]) -> list[str]:
    words = list(words)
    while words:
        head = words[0]
        if "=" in head and not head.startswith("=") and head.split("=")[0].isidentifier():
            words.pop(0)
        elif head == "env":
            words.pop(0)
        elif head in WRAPPERS:
            words.pop(0)
            while words and (words[0].startswith("-") or words[0].replace(".", "").isdigit()
                             or (head == "timeout" and words[0][:-1].replace(".", "").isdigit())):
                words.pop(0)
        else:
            break
    # drop redirections so "ls > out.txt" is matched as "ls" (the write target is checked separately later)
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w in (">", ">>", "<", "2>", "&>"):
            skip = True
        else:
            out.append(w)
    return out


def is_read_only_command(part: str) -> bool:
    words = part.split()
    if not words:
        return True
    if words[0] == "git":
        return len(words) > 1 and words[1] in READ_ONLY_GIT
    return words[0] in READ_ONLY_COMMANDS and ">" not in part


def decide(rules: Rules, mode: str, tool: str, args: dict[str, Any], *, cwd: str, project_dir: str,
           read_only: bool = False) -> Decision:
    """Decide one call. Pure: reads nothing but its arguments (and path names)."""
    parts: list[str] | None = None
    if tool == "Bash":
        parts = split_command(str(args.get("command", "")))
    for rule in rules.deny:
        if _hits(rule, tool, args, cwd, parts, any_part=True):
            return Decision(behavior="deny", source=f"rule:{rule}", reason=f"denied by the rule {rule}")
    for rule in rules.ask:
        if _hits(rule, tool, args, cwd, parts, any_part=True):
            return Decision(behavior="ask", source=f"rule:{rule}", reason=f"the rule {rule} asks for approval")
    if tool == "Bash" and parts is None:
        return _mode(mode, "ask", "parse", "the command could not be analysed safely")
    if tool == "Bash":
        uncovered = [p for p in parts if not any(matches(r, tool, args, cwd, [p]) for r in rules.allow)]
        if not uncovered:
            return Decision(behavior="allow", source="rule:allow", reason="allowed by the allow rules")
    elif (rule := next((r for r in rules.allow if matches(r, tool, args, cwd)), None)) is not None:
        return Decision(behavior="allow", source=f"rule:{rule}", reason=f"allowed by the rule {rule}")
    if mode == "bypassPermissions":
        return Decision(behavior="allow", source="mode:bypassPermissions")
    if tool in ALWAYS_ALLOWED:
        return Decision(behavior="allow", source="mode:" + mode)
    if tool in READ_TOOLS or (read_only and tool not in EDIT_TOOLS and tool != "Bash"):
        if _inside(args.get("file_path") or args.get("path") or cwd, cwd, project_dir):
            return Decision(behavior="allow", source="mode:" + mode, reason="reading inside the project")
        return _mode(mode, "ask", "mode:" + mode, "reading outside the project")
    if tool == "Bash" and all(is_read_only_command(p) for p in uncovered):
        return Decision(behavior="allow", source="mode:" + mode, reason="read-only command")
    if mode == "plan":
        return Decision(behavior="deny", source="mode:plan", reason="plan mode allows read-only tools only")
    if mode == "acceptEdits" and tool in EDIT_TOOLS and _inside(args.get("file_path", ""), cwd, project_dir):
        return Decision(behavior="allow", source="mode:acceptEdits", reason="edits inside the project are accepted")
    return _mode(mode, "ask", "mode:" + mode, f"{tool} needs approval in {mode} mode")


def _mode(mode: str, behavior: Literal["ask"], source: str, reason: str) -> Decision:
    if mode == "dontAsk":
        return Decision(behavior="deny", source="mode:dontAsk", reason=reason + " (dontAsk mode denies what would ask)")
    return Decision(behavior=behavior, source=source, reason=reason)


def _hits(rule: Rule, tool: str, args: dict[str, Any], cwd: str, parts: list[str] | None, *, any_part: bool) -> bool:
    if tool == "Bash" and parts and rule.specifier is not None:
        return any(matches(rule, tool, args, cwd, [p]) for p in parts)
    return matches(rule, tool, args, cwd, parts)


def _inside(path: str, cwd: str, root: str) -> bool:
    full = os.path.realpath(os.path.join(cwd, os.path.expanduser(str(path))))
    root = os.path.realpath(root)
    return full == root or full.startswith(root + os.sep)
