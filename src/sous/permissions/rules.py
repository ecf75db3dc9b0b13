"""Permission rules in Claude Code's syntax: `Tool` or `Tool(specifier)`.

    Bash(npm run test *)   prefix/wildcard match on the command; `*` matches anything
    Bash(npm test:*)       legacy form of `Bash(npm test *)`
    Read(./secrets/**)     gitignore-style path glob (Read rules cover Read, Glob, Grep;
    Edit(src/**)           Edit rules cover Edit, Write, MultiEdit)
    WebFetch(domain:x.com) host match
    mcp__server            every tool of an MCP server
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

READ_TOOLS = {"Read", "Glob", "Grep"}
EDIT_TOOLS = {"Edit", "Write", "MultiEdit", "NotebookEdit"}
ALIASES = {"Task": "Agent"}


@dataclass(frozen=True, slots=True)
class Rule:
    tool: str
    specifier: str | None
    text: str

    def __str__(self) -> str:
        return self.text


_RULE = re.compile(r"^\s*([A-Za-z0-9_*\-]+)\s*(?:\((.*)\))?\s*$", re.S)


def parse(text: str) -> Rule:
    """Parse one rule; raises ValueError for text that is not a rule."""
    m = _RULE.match(text)
    if not m:
        raise ValueError(f"not a permission rule: {text!r}")
    tool, spec = m.group(1), m.group(2)
    if spec is not None and spec.strip() in ("", "*"):
        spec = None
    return Rule(ALIASES.get(tool, tool), spec, text.strip())


def matches(rule: Rule, tool: str, args: dict[str, Any], cwd: str, command_parts: list[str] | None = None) -> bool:
    """Does `rule` cover this call? `command_parts` is the Bash command split into simple commands."""
    tool = ALIASES.get(tool, tool)
    if not _tool_matches(rule.tool, tool):
        return False
    if rule.specifier is None:
        return True
    spec = rule.specifier
    if tool == "Bash":
        parts = command_parts if command_parts is not None else [args.get("command", "")]
        return bool(parts) and all(command_matches(spec, p) for p in parts)
    if tool in READ_TOOLS | EDIT_TOOLS:
        path = args.get("file_path") or args.get("path") or args.get("notebook_path") or cwd
        return path_matches(spec, path, cwd)
    if tool == "WebFetch" and spec.startswith("domain:"):
        from urllib.parse import urlsplit

        host = (urlsplit(str(args.get("url", ""))).hostname or "").lower()
        want = spec[len("domain:"):].lower()
        return host.endswith(want[1:]) if want.startswith("*.") else host == want
    if tool == "Agent":
        return fnmatch.fnmatchcase(str(args.get("subagent_type", "general-purpose")), spec)
    return False


def _tool_matches(pattern: str, tool: str) -> bool:
    if pattern == tool:
        return True
    if pattern.startswith("mcp__") and "__" not in pattern[5:]:
        return tool.startswith(pattern + "__")
    if pattern in READ_TOOLS and tool in READ_TOOLS:
        return pattern == "Read"  # a Read(...) rule covers Glob and Grep paths too
    if pattern == "Edit" and tool in EDIT_TOOLS:
        return True
    return "*" in pattern and fnmatch.fnmatchcase(tool, pattern)


@lru_cache(maxsize=512)
def _command_regex(spec: str) -> re.Pattern[str]:
    if spec.endswith(":*"):
        spec = spec[:-2] + " *"
    out = []
    for i, chunk in enumerate(spec.split("*")):
        if i:
            # "ls *" means "ls" alone or "ls <args>": the space before * is optional at the end.
            if out and out[-1].endswith(r"\ ") and i == len(spec.split("*")) - 1 and chunk == "":
                out[-1] = out[-1][:-2] + r"(?:\ .*)?"
                continue
            out.append(".*")
        out.append(re.escape(chunk))
    return re.compile("".join(out), re.S)


def command_matches(spec: str, command: str) -> bool:
    return _command_regex(spec).fullmatch(command.strip()) is not None


def path_matches(spec: str, path: str, cwd: str) -> bool:
    """gitignore-style: `//abs`, `~/home`, `/relative-to-project`, `./x` or `x` relative to cwd;
    a pattern without a slash matches at any depth."""
    path = os.path.abspath(os.path.join(cwd, os.path.expanduser(path)))
    if spec.startswith("//"):
        pattern = spec[1:]
    elif spec.startswith("~/"):
        pattern = os.path.expanduser(spec)
    elif spec.startswith("/"):
        pattern = os.path.join(cwd, spec[1:])
    elif "/" not in spec.rstrip("/"):
        pattern = os.path.join(cwd, "**", spec)
    else:
        pattern = os.path.join(cwd, spec[2:] if spec.startswith("./") else spec)
    return _glob_regex(pattern).fullmatch(path) is not None


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("/**/", i):
            out.append("(?:/.*)?/")
            i += 4
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
