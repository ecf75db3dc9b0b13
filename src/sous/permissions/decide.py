"""Who may run what: a pure function from (rules, mode, call) to allow / ask / deny.

Order, as in Claude Code: deny rules, then ask rules, then allow rules (any layer's deny beats
any allow); then the permission mode's default for that tool.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from sous.records import field, record

from . import bash_policy, safety, shell
from .grants import Grants
from .rules import EDIT_TOOLS, READ_TOOLS, Rule, call_paths, matches, parse

MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions", "auto")
"""`auto` decides as `default` does; what it would ask goes to a judge (`permissions.auto`)."""
ALWAYS_ALLOWED = {"ToolSearch", "SendMessage", "TodoWrite", "TaskOutput", "Agent"}
"""Launching a sub-agent is free: each of its tool calls is checked on its own."""


@record
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
    agent_id: str = ""
    """That sub-agent's id, as hooks and SendMessage know it; empty for the main agent."""
    cwd: str = ""
    """The folder the call runs in (its relative paths are read from it); set when asking."""


@record(frozen=False)
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
    return analysis.parts if analysis is not None and not analysis.opaque else None


def decide(
    rules: Rules,
    mode: str,
    tool: str,
    args: dict[str, Any],
    *,
    cwd: str,
    project_dir: str,
    read_only: bool = False,
    home: str | None = None,
    grants: Grants | None = None,
    agent: str | None = None,
    sandboxed: bool = False,
    added_dirs: tuple[str, ...] = (),
    shell_home: str | None = None,
) -> Decision:
    """Decide one call. Pure: reads nothing but its arguments (and, on disk, where symlinks lead and
    whether paths exist); a grant that allows is named in the decision, and the caller counts its use.
    `sandboxed`: Bash runs in the sandbox, and a command that nothing else stops is allowed there
    without asking (`sandbox.autoAllowBashIfSandboxed`). `added_dirs`: more working folders
    (`--add-dir`, resolved), read and (in acceptEdits mode) edited as the project is. `shell_home`:
    the HOME a command will run with (a settings `env` may name another): `~` and `$HOME` in it are
    read as that shell will expand them, while the files protected in the home stay `home`'s."""
    home = home or os.path.expanduser("~")
    roots = (project_dir, *added_dirs)
    if tool in READ_TOOLS | EDIT_TOOLS and any("\0" in path for path in _paths(tool, args, cwd)):
        return Decision(behavior="deny", source="parse", reason="a path with a NUL byte names no file")
    if tool == "Bash":
        decision = _decide_bash(
            rules,
            mode,
            args,
            cwd=cwd,
            project_dir=project_dir,
            roots=roots,
            home=home,
            shell_home=shell_home or home,
            grants=grants,
            agent=agent,
            sandboxed=sandboxed,
        )
        if mode == "dontAsk" and decision.behavior == "ask":  # no one to ask: the floor and ask rules deny
            return Decision(
                behavior="deny",
                source=decision.source,
                reason=decision.reason + " (dontAsk mode denies what would ask)",
            )
        return decision
    for rule in rules.deny:
        if _hits(rule, tool, args, cwd, None, any_part=True):
            return Decision(behavior="deny", source=f"rule:{rule}", reason=f"denied by the rule {rule}")
    if tool == "ExitPlanMode":  # leaving plan mode is the person's call, whatever the rules say
        if mode != "plan":
            return Decision(behavior="deny", source=f"mode:{mode}", reason="not in plan mode: no plan to approve")
        return Decision(behavior="ask", source="plan", reason="the plan needs your approval", confirm="plan")
    if mode == "plan" and tool in EDIT_TOOLS:  # as Claude Code: whatever the allow rules and grants say
        files = ", ".join(_paths(tool, args, cwd)) or "a file"
        return Decision(
            behavior="deny",
            source="mode:plan",
            reason=f"cannot write to {files} in plan mode (no edits until the plan is approved)",
        )
    if floor := safety.check(tool, args, None, cwd=cwd, project_dir=roots, mode=mode, home=home):
        return Decision(behavior="ask", source="safety", reason=floor, confirm="typed")
    if grants is not None and (found := grants.find(tool, args, cwd, None, agent)) is not None:
        return Decision(
            behavior="allow",
            source="grant:" + ",".join(f"#{g.id}" for g in found),
            reason="allowed by your earlier answer",
            grant_ids=tuple(g.id for g in found),
        )
    for rule in rules.ask:
        if _hits(rule, tool, args, cwd, None, any_part=True):
            return Decision(behavior="ask", source=f"rule:{rule}", reason=f"the rule {rule} asks for approval")
    if (allowing := next((r for r in rules.allow if matches(r, tool, args, cwd)), None)) is not None:
        return Decision(behavior="allow", source=f"rule:{allowing}", reason=f"allowed by the rule {allowing}")
    if mode == "bypassPermissions":
        return Decision(behavior="allow", source="mode:bypassPermissions")
    if tool in ALWAYS_ALLOWED:
        return Decision(behavior="allow", source="mode:" + mode)
    if tool in READ_TOOLS or (read_only and tool not in EDIT_TOOLS and tool != "Bash"):
        if all(_inside(path, cwd, roots) for path in _paths(tool, args, cwd)):
            return Decision(behavior="allow", source="mode:" + mode, reason="reading inside the project")
        return _mode(mode, "ask", "mode:" + mode, "reading outside the project")
    if mode == "plan":
        return Decision(behavior="deny", source="mode:plan", reason="plan mode allows read-only tools only")
    if mode == "acceptEdits" and tool in EDIT_TOOLS and all(_inside(p, cwd, roots) for p in _paths(tool, args, cwd)):
        return Decision(behavior="allow", source="mode:acceptEdits", reason="edits inside the project are accepted")
    return _mode(mode, "ask", "mode:" + mode, f"{tool} needs approval in {mode} mode")


def _decide_bash(
    rules: Rules,
    mode: str,
    args: dict[str, Any],
    *,
    cwd: str,
    project_dir: str,
    roots: tuple[str, ...],
    home: str,
    shell_home: str,
    grants: Grants | None,
    agent: str | None,
    sandboxed: bool = False,
) -> Decision:
    """A Bash call: rules on every command it runs, Read/Edit rules and bounds on every file it
    touches (inside `roots`: the project and the added folders), the safety floor, then the mode
    (see `bash_policy`). git counts as read-only in the project only: an added folder may be
    another repository, whose config runs programs."""
    raw = str(args.get("command", ""))
    analysis = shell.analyse(raw, home=shell_home, cwd=cwd)
    if analysis is None:
        return _mode(mode, "ask", "parse", "the command cannot be read")
    texts = bash_policy.rule_texts(analysis, raw)
    for rule in rules.deny:
        if bash_policy.hits(rule, texts, raw, cwd):
            return Decision(behavior="deny", source=f"rule:{rule}", reason=f"denied by the rule {rule}")
    reads = {id(t): bash_policy.read_verdict(t, rules, cwd, roots, home) for t in analysis.reads}
    writes = {id(t): bash_policy.write_verdict(t, rules, mode, cwd, roots, home) for t in analysis.writes}
    if "deny" in reads.values() or "deny" in writes.values():
        return Decision(
            behavior="deny",
            source="rule:paths",
            reason="the command touches a file that a Read or Edit deny rule protects",
        )
    if floor := safety.check("Bash", args, analysis, cwd=cwd, project_dir=roots, mode=mode, home=home):
        return Decision(behavior="ask", source="safety", reason=floor, confirm="typed")
    # a grant names command texts: it may not look past variables that change what runs
    parts = (
        analysis.parts
        if not analysis.opaque and all(bash_policy.env_safe(c) and not c.opaque for c in analysis.commands)
        else None
    )
    if grants is not None and parts is not None and (found := grants.find("Bash", args, cwd, parts, agent)) is not None:
        return Decision(
            behavior="allow",
            source="grant:" + ",".join(f"#{g.id}" for g in found),
            reason="allowed by your earlier answer",
            grant_ids=tuple(g.id for g in found),
        )
    for rule in rules.ask:
        if bash_policy.hits(rule, texts, raw, cwd):
            return Decision(behavior="ask", source=f"rule:{rule}", reason=f"the rule {rule} asks for approval")
    if below := [t for t in analysis.reads if reads[id(t)] in ("below", "many")]:
        why = (
            "and a Read rule protects one of them"
            if reads[id(below[0])] == "below"
            else "too many to compare with the Read rules"
        )
        return _mode(mode, "ask", "rule:paths", f"the command reads every file below {below[0]}, {why}")
    if (
        "ask" in reads.values()
        or "ask" in writes.values()
        or ("unknown" in reads.values() and any(r.tool in READ_TOOLS for r in rules.deny))
    ):
        return Decision(behavior="ask", source="rule:paths", reason="the command touches a file a rule asks about")
    if analysis.opaque:
        return _mode(mode, "ask", "parse", f"the command could not be analysed safely: {analysis.opaque[0]}")
    if sandboxed and mode != "plan" and not args.get("dangerouslyDisableSandbox"):
        # Deny and ask rules, Read/Edit rules on the files it touches, the floor and an unreadable
        # command have had their say above; what the sandbox's mounts bound (writes outside the
        # project or to files that run later, credentials, the network) needs no question.
        return Decision(behavior="allow", source="sandbox", reason="runs in the sandbox (autoAllowBashIfSandboxed)")
    if mode == "bypassPermissions":
        return Decision(behavior="allow", source="mode:bypassPermissions")
    covered = bash_policy.covered(rules.allow, analysis.commands, cwd, project_dir, home)
    uncovered = [c for i, c in enumerate(analysis.commands) if i not in covered]
    for target in analysis.writes:  # `Bash(mkdir *)` allows mkdir's own writes inside the project
        if (
            writes[id(target)] == "no"
            and target.owner in covered
            and bash_policy.inside_project(target, cwd, roots, home)
        ):
            writes[id(target)] = "ok"
    problems = _bash_effects(analysis, reads, writes)
    if not uncovered and not problems:
        return Decision(behavior="allow", source="rule:allow", reason="allowed by the allow rules")
    plain = [c for c in uncovered if not bash_policy.read_only(c, cwd, project_dir, home)]
    if not plain and not problems:
        return Decision(behavior="allow", source="mode:" + mode, reason="read-only command")
    if mode == "plan":
        return Decision(behavior="deny", source="mode:plan", reason="plan mode allows read-only tools only")
    if (
        mode == "acceptEdits"
        and not analysis.network
        and "unknown" not in reads.values()
        and "outside" not in reads.values()
        and all(bash_policy.accept_edit(c, analysis, cwd, roots, home) for c in plain)
        and all(v == "ok" for v in writes.values())
    ):
        return Decision(behavior="allow", source="mode:acceptEdits", reason="edits inside the project are accepted")
    if problems:
        return _mode(mode, "ask", "mode:" + mode, problems[0])
    return _mode(mode, "ask", "mode:" + mode, f"Bash needs approval in {mode} mode")


def _bash_effects(analysis: shell.Analysis, reads: dict[int, str], writes: dict[int, str]) -> list[str]:
    """Why the files or connections of a command keep it from running unasked (empty: they don't)."""
    problems = []
    if analysis.network:
        problems.append(f"the command opens a network connection ({analysis.network[0]})")
    for target in analysis.reads:
        if reads[id(target)] == "unknown":
            problems.append(f"the command reads a file known only at run time ({target})")
        elif reads[id(target)] == "outside":
            problems.append(f"the command reads {target}, outside the project")
    for target in analysis.writes:
        if writes[id(target)] != "ok":
            problems.append(f"the command writes to {target}")
    return problems


def _mode(mode: str, behavior: Literal["ask"], source: str, reason: str) -> Decision:
    if mode == "dontAsk":
        return Decision(behavior="deny", source="mode:dontAsk", reason=reason + " (dontAsk mode denies what would ask)")
    return Decision(behavior=behavior, source=source, reason=reason)


def _hits(rule: Rule, tool: str, args: dict[str, Any], cwd: str, parts: list[str] | None, *, any_part: bool) -> bool:
    if tool == "Bash" and parts and rule.specifier is not None:
        return any(matches(rule, tool, args, cwd, [p], deny=True) for p in parts)
    return matches(rule, tool, args, cwd, parts, deny=True)


def _paths(tool: str, args: dict[str, Any], cwd: str) -> list[str]:
    """The paths a file tool touches (`rules.call_paths`); for another read-only tool, its path
    argument or the working directory."""
    if tool in READ_TOOLS | EDIT_TOOLS:
        return call_paths(tool, args, cwd)
    return [str(args.get("file_path") or args.get("path") or cwd)]


def _inside(path: str, cwd: str, roots: tuple[str, ...]) -> bool:
    """Is `path`, symlinks resolved, the project folder (or an added one) or inside it?"""
    full = os.path.realpath(os.path.join(cwd, os.path.expanduser(str(path))))
    project = os.path.realpath(roots[0])
    if full == project or full.startswith(project + os.sep):
        return True
    # added folders were resolved when added (`targets.Roots`); `--add-dir /` means every path
    return any(full == root or full.startswith(root.rstrip(os.sep) + os.sep) for root in roots[1:])
