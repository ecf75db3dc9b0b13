"""Who may run what: a pure function from (rules, mode, call) to allow / ask / deny.

Order, as in Claude Code: deny rules, then ask rules, then allow rules (any layer's deny beats
any allow); then the permission mode's default for that tool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from . import safety, shell
from .grants import Grants
from .rules import EDIT_TOOLS, READ_TOOLS, Rule, matches, parse

MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")
ALWAYS_ALLOWED = {"ToolSearch", "SendMessage", "TodoWrite", "TaskOutput", "Agent"}
"""Launching a sub-agent is free: each of its tool calls is checked on its own."""
READ_ONLY_COMMANDS = {
    "ls", "cat", "echo", "pwd", "head", "tail", "grep", "rg", "find", "wc", "which", "diff", "stat",
    "du", "cd", "true", "false", "test", "[", "file", "tree", "sort", "uniq", "date", "printf", "basename",
    "dirname", "realpath", "whoami", "uname", "less", "more", "nl", "id", "hostname", "type", "ps",
}
READ_ONLY_GIT = {"status", "log", "diff", "show", "branch", "rev-parse", "ls-files", "blame", "remote"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    behavior: Literal["allow", "ask", "deny"]
    source: str
    """What decided: `rule:<text>`, `mode:<mode>`, `parse`, `safety`, `hook`, `user`."""
    reason: str = ""
    confirm: str = ""
    """"typed" when the person must type the confirmation (the safety floor), not press a key;
    "plan" for a plan to approve (the answer may name the mode to go on in)."""
    grant_ids: tuple[int, ...] = ()
    agent: str = ""
    """Which sub-agent is asking ("Explore: find the config"); empty for the main agent."""


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
    """The simple commands of a shell command, wrappers removed (see `shell.analyse`); None when
    it cannot be read safely."""
    analysis = shell.analyse(command)
    return analysis.parts if analysis is not None else None


def is_read_only_command(words: list[str]) -> bool:
    """Commands that only look: `ls`, `git status`, `find` without -delete/-exec, ..."""
    if not words:
        return True
    head, rest = words[0].rsplit("/", 1)[-1], words[1:]
    if head == "git":
        sub = rest[0] if rest else ""
        if sub == "branch":
            return all(w in ("-a", "-r", "-v", "-vv", "--list", "--show-current", "--all") for w in rest[1:])
        if sub == "remote":
            return all(w in ("-v", "--verbose") for w in rest[1:])
        return sub in READ_ONLY_GIT
    if head == "find":
        return not any(w.startswith(("-delete", "-exec", "-ok", "-fprint", "-fls")) for w in rest)
    if head == "env":
        return False  # prints every variable, secrets included
    if head == "sort":
        return not any(w.startswith(("-o", "--output")) for w in rest)
    return head in READ_ONLY_COMMANDS


def decide(rules: Rules, mode: str, tool: str, args: dict[str, Any], *, cwd: str, project_dir: str,
           read_only: bool = False, home: str | None = None, grants: Grants | None = None,
           agent: str | None = None, sandboxed: bool = False) -> Decision:
    """Decide one call. Pure: reads nothing but its arguments (and whether paths exist); a grant
    that allows is named in the decision, and the caller counts its use. `sandboxed`: Bash runs in
    the sandbox and a command that nothing else stops is allowed there without asking
    (`sandbox.autoAllowBashIfSandboxed`)."""
    analysis = shell.analyse(str(args.get("command", ""))) if tool == "Bash" else None
    parts = analysis.parts if analysis is not None else None
    for rule in rules.deny:
        if _hits(rule, tool, args, cwd, parts, any_part=True):
            return Decision(behavior="deny", source=f"rule:{rule}", reason=f"denied by the rule {rule}")
    if tool == "ExitPlanMode":  # leaving plan mode is the person's call, whatever the rules say
        if mode != "plan":
            return Decision(behavior="deny", source=f"mode:{mode}", reason="not in plan mode: no plan to approve")
        return Decision(behavior="ask", source="plan", reason="the plan needs your approval", confirm="plan")
    if floor := safety.check(tool, args, analysis, cwd=cwd, project_dir=project_dir, mode=mode,
                             home=home or os.path.expanduser("~")):
        return Decision(behavior="ask", source="safety", reason=floor, confirm="typed")
    if grants is not None and (tool != "Bash" or analysis is not None) and \
            (found := grants.find(tool, args, cwd, parts, agent)) is not None:
        return Decision(behavior="allow", source="grant:" + ",".join(f"#{g.id}" for g in found),
                        reason="allowed by your earlier answer", grant_ids=tuple(g.id for g in found))
    for rule in rules.ask:
        if _hits(rule, tool, args, cwd, parts, any_part=True):
            return Decision(behavior="ask", source=f"rule:{rule}", reason=f"the rule {rule} asks for approval")
    if tool == "Bash" and analysis is None:
        return _mode(mode, "ask", "parse", "the command could not be analysed safely")
    if tool == "Bash":
        assert analysis is not None
        uncovered = [w for w in analysis.commands if not any(matches(r, tool, args, cwd, [" ".join(w)]) for r in rules.allow)]
        writes_ok = all(_write_allowed(path, rules, mode, cwd, project_dir) for path in analysis.writes)
        if not uncovered and writes_ok:
            return Decision(behavior="allow", source="rule:allow", reason="allowed by the allow rules")
    elif (rule := next((r for r in rules.allow if matches(r, tool, args, cwd)), None)) is not None:
        return Decision(behavior="allow", source=f"rule:{rule}", reason=f"allowed by the rule {rule}")
    if tool == "Bash" and sandboxed and mode != "plan" and not args.get("dangerouslyDisableSandbox"):
        # Deny and ask rules, the floor and an unreadable command have had their say above; what
        # the sandbox's mounts bound (writes outside the project or to files that run later,
        # credentials) needs no question. Read and Edit deny rules still hold for paths named.
        assert analysis is not None
        if not _names_denied_path(rules, analysis, cwd):
            return Decision(behavior="allow", source="sandbox", reason="runs in the sandbox (autoAllowBashIfSandboxed)")
    if mode == "bypassPermissions":
        return Decision(behavior="allow", source="mode:bypassPermissions")
    if tool in ALWAYS_ALLOWED:
        return Decision(behavior="allow", source="mode:" + mode)
    if tool in READ_TOOLS or (read_only and tool not in EDIT_TOOLS and tool != "Bash"):
        if _inside(args.get("file_path") or args.get("path") or cwd, cwd, project_dir):
            return Decision(behavior="allow", source="mode:" + mode, reason="reading inside the project")
        return _mode(mode, "ask", "mode:" + mode, "reading outside the project")
    if tool == "Bash" and all(is_read_only_command(w) for w in uncovered) and writes_ok:
        return Decision(behavior="allow", source="mode:" + mode, reason="read-only command")
    if mode == "plan":
        return Decision(behavior="deny", source="mode:plan", reason="plan mode allows read-only tools only")
    if mode == "acceptEdits" and tool in EDIT_TOOLS and _inside(args.get("file_path", ""), cwd, project_dir):
        return Decision(behavior="allow", source="mode:acceptEdits", reason="edits inside the project are accepted")
    if tool == "Bash" and not writes_ok:
        return _mode(mode, "ask", "mode:" + mode, "the command writes to files")
    return _mode(mode, "ask", "mode:" + mode, f"{tool} needs approval in {mode} mode")


def _names_denied_path(rules: Rules, analysis: shell.Analysis, cwd: str) -> bool:
    """Whether a word of the command, or a file it redirects to, is a path a Read or Edit deny
    rule covers (the sandbox does not know those rules)."""
    path_rules = [r for r in rules.deny if r.specifier and (r.tool in READ_TOOLS or r.tool in EDIT_TOOLS)]
    if not path_rules:
        return False
    words = [w.split("=", 1)[-1] for words in analysis.commands for w in words[1:]] + list(analysis.writes)
    return any(matches(r, "Read" if r.tool in READ_TOOLS else "Edit", {"file_path": w}, cwd)
               for r in path_rules for w in words if w and not w.startswith("-"))


def _write_allowed(path: str, rules: Rules, mode: str, cwd: str, project_dir: str) -> bool:
    """A redirection writes a file: allowed as an Edit of it would be."""
    if mode == "bypassPermissions":
        return True
    if any(matches(r, "Edit", {"file_path": path}, cwd) for r in rules.allow if r.tool in EDIT_TOOLS):
        return True
    return mode == "acceptEdits" and _inside(path, cwd, project_dir)


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
