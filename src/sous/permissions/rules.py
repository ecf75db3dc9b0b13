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
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sous.records import record

READ_TOOLS = {"Read", "Glob", "Grep"}
EDIT_TOOLS = {"Edit", "Write", "MultiEdit", "NotebookEdit"}
ALIASES = {"Task": "Agent"}


@record(kw_only=False)
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


def split_flags(values: Sequence[str]) -> list[str]:
    """`--allowedTools "Bash(git *) Read,Edit"`: split on commas and spaces outside parentheses.
    Raises ValueError for a piece that is not a rule."""
    out: list[str] = []
    for value in values:
        depth, current = 0, ""
        for ch in value:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if ch in ", " and depth == 0:
                if current:
                    out.append(current)
                current = ""
            else:
                current += ch
        if current:
            out.append(current)
    for rule in out:
        parse(rule)
    return out


def matches(
    rule: Rule, tool: str, args: dict[str, Any], cwd: str, command_parts: list[str] | None = None, *, deny: bool = False
) -> bool:
    """Does `rule` cover this call? `command_parts` is the Bash command split into simple commands.

    For file tools the rule is tried on every path the call touches (`call_paths`), each both as
    given and with its symlinks resolved. `deny=True` (deny and ask rules) covers the call when
    any of those matches; otherwise (allow rules, grants) every one of them must match, so an
    allowed link cannot lead to a file the rules do not allow."""
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
        targets = call_paths(tool, args, cwd)
        if deny:
            return any(path_matches(spec, t, cwd, deny=True) for t in targets)
        return all(path_matches(spec, t, cwd) for t in targets)
    if tool == "WebFetch" and spec.startswith("domain:"):
        from urllib.parse import urlsplit

        host = (urlsplit(str(args.get("url", ""))).hostname or "").lower()
        want = spec[len("domain:") :].lower()
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
    out: list[str] = []
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


def call_paths(tool: str, args: dict[str, Any], cwd: str) -> list[str]:
    """The absolute paths (symlinks not yet resolved) a file tool call reads or writes: what rules
    and project bounds are checked on. Glob: the folder it really searches (its pattern's fixed
    leading folders included, as the tool uses them); a `..` after a wildcard counts as the root
    folder, since where it leads cannot be known. Grep: its `path`, and the fixed folders of a
    `glob` that is absolute or climbs. A missing path is the working directory."""
    tool = ALIASES.get(tool, tool)
    if tool == "Glob":
        from sous.tools.glob import split_pattern

        root, rest = split_pattern(str(args.get("pattern") or ""), _absolute(str(args.get("path") or "."), cwd))
        return [os.sep if ".." in rest.split("/") else os.path.normpath(os.path.join(root, _fixed_prefix(rest)))]
    if tool == "Grep":
        from sous.tools.grep import split_globs

        root = _absolute(str(args.get("path") or "."), cwd)
        out = [root]
        for glob in split_globs(str(args.get("glob") or "")):
            glob = os.path.expanduser(glob.lstrip("!"))
            if glob.startswith("/") or ".." in glob.split("/"):
                prefix = _fixed_prefix(glob)
                climbs = ".." in glob[len(prefix) :].split("/")
                out.append(os.sep if climbs else os.path.normpath(os.path.join(root, prefix)))
        return out
    path = args.get("file_path") or args.get("notebook_path") or args.get("path") or cwd
    return [_absolute(str(path), cwd)]


def read_denied(deny: list[Rule], cwd: str) -> Callable[[str], bool] | None:
    """A test for the files that `Read(...)` deny rules keep from being read, for Glob and Grep to
    leave out of what they list or show (the rules cover Glob and Grep, and a search over a folder
    must not return a denied file's lines); None when there are no such rules. The test takes an
    absolute path, or one relative to `cwd`."""
    specs = [r.specifier for r in deny if r.specifier is not None and r.tool == "Read"]
    if not specs:
        return None
    return lambda path: any(path_matches(spec, path, cwd, deny=True) for spec in specs)


def _absolute(path: str, cwd: str) -> str:
    return os.path.abspath(os.path.join(cwd, os.path.expanduser(path)))


def _fixed_prefix(pattern: str) -> str:
    """The leading folders of a glob pattern that hold no wildcard (`src/a` of `src/a/**/*.py`;
    nothing of `x.py`, which a glob matches at any depth)."""
    parts = pattern.split("/")
    fixed = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[{")), len(parts) - 1)
    return "/".join(parts[:fixed]) or ("/" if pattern.startswith("/") else "")


def path_matches(spec: str, path: str, cwd: str, *, deny: bool = False) -> bool:
    """gitignore-style: `//abs`, `~/home`, `/relative-to-project`, `./x` or `x` relative to cwd;
    a pattern without a slash matches at any depth.

    The path is tried as given and with its symlinks resolved (the rule's anchor too, so a
    project reached through a linked folder still matches): `deny=True` is true when either
    matches, otherwise both must (Claude Code: "allow needs both link and target to match; deny
    if either matches")."""
    if "\0" in path:  # names no file; no allow covers it, and a deny or ask rule does
        return deny
    given = os.path.abspath(os.path.join(cwd, os.path.expanduser(path)))
    real = os.path.realpath(given)
    pattern = _anchor(spec, cwd)
    hits = [_glob_regex(pattern).fullmatch(given) is not None]
    if real != given or _real_anchor(pattern) != pattern:
        hits.append(
            _glob_regex(_real_anchor(pattern)).fullmatch(real) is not None
            or _glob_regex(pattern).fullmatch(real) is not None
        )
    return any(hits) if deny else all(hits)


def real_path_matcher(specs: list[str], cwd: str) -> Callable[[str], bool]:
    """A fast `path_matches(spec, path, cwd, deny=True)` over several specs, for an absolute path
    that is already real (no symlink in it): the patterns are compiled once, no path is resolved."""
    patterns = [_anchor(spec, cwd) for spec in specs]
    regexes = [_glob_regex(p) for p in patterns] + [_glob_regex(_real_anchor(p)) for p in patterns]
    return lambda path: any(r.fullmatch(path) is not None for r in regexes)


def _anchor(spec: str, cwd: str) -> str:
    if spec.startswith("//"):
        return spec[1:]
    if spec.startswith("~/"):
        return os.path.expanduser(spec)
    if spec.startswith("/"):
        return os.path.join(cwd, spec[1:])
    if "/" not in spec.rstrip("/"):
        return os.path.join(cwd, "**", spec)
    return os.path.join(cwd, spec[2:] if spec.startswith("./") else spec)


def _real_anchor(pattern: str) -> str:
    """`pattern` with the symlinks of its fixed leading folders resolved."""
    prefix = _fixed_prefix(pattern)
    if not prefix or prefix == "/":
        return pattern
    real = os.path.realpath(prefix)
    return real + pattern[len(prefix) :] if real != prefix else pattern


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
