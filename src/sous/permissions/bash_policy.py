"""How rules, the read-only set and file bounds apply to an analysed Bash command.

- A command matches an allow rule on its words' literal values (after quote removal and brace
  expansion); a piece known only at run time matches only a rule's `*`, never its literal text.
- A command with `NAME=value` in front (or through `env`) matches an allow rule, or counts as
  read-only, only when every name is on `SAFE_ENV`: `GIT_CONFIG_*`, `LD_PRELOAD`, `PATH`,
  `PAGER`, `LESSOPEN`... change what a "harmless" program runs. Deny and ask rules look past
  any assignment.
- Every file a command reads must pass the Read rules and the project bound, whatever allowed
  the command (`Bash(cat *)` does not reach `~/.ssh`); every file it writes or deletes needs
  what an Edit would; network redirections and files known only at run time are asked about.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from typing import Any

from . import commands
from .rules import EDIT_TOOLS, READ_TOOLS, Rule, command_matches, matches, real_path_matcher
from .shell import Analysis, Command
from .targets import Roots, Target, inside, is_root, resolve
from .words import Word

SAFE_ENV = frozenset(
    {
        "LANG",
        "LANGUAGE",
        "TZ",
        "NO_COLOR",
        "FORCE_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "TERM",
        "COLORTERM",
        "CI",
        "DEBUG",
        "COLUMNS",
        "LINES",
        "NODE_ENV",
        "RUST_BACKTRACE",
        "RUST_LOG",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONIOENCODING",
        "PYTHONHASHSEED",
        "TIMEFORMAT",
        "SOURCE_DATE_EPOCH",
    }
)
"""Variables that may stand before an allowed command: they change messages, never programs."""
ACCEPT_EDITS = frozenset({"mkdir", "touch", "rm", "rmdir", "mv", "cp", "sed"})
"""What acceptEdits runs without asking when every file it touches is inside the project."""


def safe_assignment(name: str, *, standalone: bool) -> bool:
    """May `name=...` stand before an allowed command (or alone, when `standalone`)?"""
    if name in SAFE_ENV or name.startswith("LC_"):
        return True
    # a plain lower-case shell variable does not reach programs unless exported (proxies aside)
    return standalone and re.fullmatch(r"[a-z_][a-z0-9_]*", name) is not None and "proxy" not in name


def env_safe(command: Command) -> bool:
    standalone = not command.words and not command.exports
    return all(safe_assignment(name, standalone=standalone) for name, _ in command.assigns)


@functools.lru_cache(maxsize=512)
def _spec_words(spec: str) -> str:
    """A rule written with quotes (`Bash(git commit -m "fix it")`) compares as the words it names."""
    if not any(q in spec for q in "'\"\\"):
        return spec
    try:
        return " ".join(shlex.split(spec))
    except ValueError:
        return spec


def covered(rules: list[Rule], commands_: list[Command], cwd: str, project_dir: str, home: str) -> set[int]:
    """Indexes of the commands some allow rule covers for every value their unknown pieces may
    take: a rule matches the words' literal values, where a run-time piece (`UNKNOWN`) can only
    fall in a `*`; commands that are opaque, have unsafe assignments, or run git in another
    repository are never covered (a bare `Bash` rule covers everything else)."""
    bash = [r for r in rules if r.tool == "Bash"]
    if any(r.specifier is None for r in bash):
        return set(range(len(commands_)))
    specs = [_spec_words(r.specifier) for r in bash if r.specifier is not None]
    out = set()
    for i, command in enumerate(commands_):
        if command.opaque or not env_safe(command) or not command.words:
            continue
        text = command.rendered()
        if any(command_matches(spec, text) for spec in specs) and _git_at_home(command, cwd, project_dir, home):
            out.add(i)
    return out


def _git_at_home(command: Command, cwd: str, project_dir: str, home: str) -> bool:
    """git in another repository runs that repository's config (core.fsmonitor, hooks, pagers)."""
    if command.name != "git":
        return True
    bases = resolve(Target(word=_DOT, cwds=command.cwds, kind="read"), cwd, home)
    return bases is not None and all(inside(p, project_dir) for p in bases)


def rule_texts(analysis: Analysis, raw: str) -> list[str]:
    """Every form deny and ask rules are tried on: each command's values and typed text, with and
    without its wrappers (hidden and candidate commands included), and the raw command when it
    is a single command."""
    everything = [c for c in analysis.commands + analysis.candidates if c.words]
    texts = {raw} if len(everything) <= 1 else set()
    for command in everything:
        texts.update((command.rendered(), command.typed()))
        if command.outer:
            texts.update((command.rendered(outer=True), command.typed(outer=True)))
        if command.name and command.words[0].value != command.name:
            # `/bin/rm x` and `./bin/../rm x` run rm: a deny rule for `rm` holds
            texts.update(command.name + text[len(command.words[0].value) :] for text in (command.rendered(),))
    return list(texts)


def hits(rule: Rule, texts: list[str], raw: str, cwd: str) -> bool:
    """Does a deny/ask rule catch any of `texts` (see `rule_texts`)?"""
    if rule.tool != "Bash" and "*" not in rule.tool:
        return False
    if rule.specifier is None:
        return matches(rule, "Bash", {"command": raw}, cwd)
    spec = _spec_words(rule.specifier)
    return any(command_matches(spec, text) or command_matches(rule.specifier, text) for text in texts)


def read_only(command: Command, cwd: str, project_dir: str, home: str) -> bool:
    """Only looks, with the environment it is given, from where it runs."""
    if command.opaque or not env_safe(command):
        return False
    if not command.words:
        return True
    if not commands.read_only(command.words):
        return False
    return _git_at_home(command, cwd, project_dir, home)


def read_verdict(target: Target, rules: Any, cwd: str, project_dir: Roots, home: str) -> str:
    """ "deny", "ask" (a Read ask rule or outside the project or unknown) or "ok" for one file read."""
    found = resolve(target, cwd, home)
    if found is None:
        return "unknown"
    verdict = "ok"
    for path in found:
        if any(_path_rule(rule, "Read", path, cwd, deny=True) for rule in rules.deny):
            return "deny"
        if any(_path_rule(rule, "Read", path, cwd, deny=True) for rule in rules.ask):
            verdict = "ask"
        elif (
            verdict == "ok"
            and not inside(path, project_dir)
            and not any(_path_rule(rule, "Read", path, cwd) for rule in rules.allow)
        ):
            verdict = "outside"
    if target.tree and verdict == "ok":  # (a folder outside the project is asked about anyway)
        for path in found:
            try:
                below = _protected_below(path, target.tree, rules, cwd)
            except OSError:  # a link or folder that cannot be looked at: what is below is unknown
                below = "many"
            if below is not None:
                return below
    return verdict


TREE_LIMIT = 20000
"""How many entries below a folder are compared with the Read rules before giving up (and asking)."""


def _protected_below(folder: str, tree: str, rules: Any, cwd: str) -> str | None:
    """ "below" when a file under `folder` is one a Read deny or ask rule names (a recursive
    reader would read it), "many" when there are too many to look at, else None."""
    guarding = [r for r in (*rules.deny, *rules.ask) if r.specifier is not None and (r.tool in READ_TOOLS)]
    if not guarding or not os.path.isdir(folder):
        return None
    protected = real_path_matcher([r.specifier for r in guarding if r.specifier is not None], cwd)
    seen = 0
    # links to folders are followed (`grep -R`, `cp -rL` do): a loop ends at TREE_LIMIT
    for shown, dirs, files in os.walk(folder, followlinks=True):
        root = os.path.realpath(shown)
        if tree == "visible":
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".")]
        seen += len(dirs) + len(files)
        if seen > TREE_LIMIT:
            return "many"
        for name in files:  # what is read is files (a rule naming a folder does not cover its files)
            path = os.path.join(root, name)
            linked = os.path.islink(path)
            if protected(path) or (linked and any(_path_rule(r, "Read", path, cwd, deny=True) for r in guarding)):
                return "below"
    return None


def write_verdict(target: Target, rules: Any, mode: str, cwd: str, project_dir: Roots, home: str) -> str:
    """ "deny" (an Edit deny rule), "ask" (an Edit ask rule), "ok" or "no" for one file written."""
    found = resolve(target, cwd, home)
    if found is None:
        return "no"
    verdict = "ok"
    for path in found:
        if any(_path_rule(rule, "Edit", path, cwd, deny=True) for rule in rules.deny):
            return "deny"
        if any(_path_rule(rule, "Edit", path, cwd, deny=True) for rule in rules.ask):
            verdict = "ask"
        elif (
            verdict == "ok"
            and not any(_path_rule(rule, "Edit", path, cwd) for rule in rules.allow)
            and not (mode == "acceptEdits" and inside(path, project_dir))
        ):
            verdict = "no"
    return verdict


def inside_project(target: Target, cwd: str, project_dir: Roots, home: str) -> bool:
    found = resolve(target, cwd, home)
    return found is not None and all(inside(p, project_dir) for p in found)


def _path_rule(rule: Rule, family: str, path: str, cwd: str, *, deny: bool = False) -> bool:
    """Does a Read or Edit rule cover `path`? Deny and ask rules (`deny=True`) hold when they name
    the path as given or where its symlinks lead; allow rules need both (see `rules.matches`)."""
    if family == "Read" and rule.tool not in READ_TOOLS and rule.tool not in EDIT_TOOLS:
        return False
    if family == "Edit" and rule.tool not in EDIT_TOOLS:
        return False
    if rule.tool in EDIT_TOOLS and family == "Read" and rule.specifier is None:
        return False
    return matches(rule, family, {"file_path": path}, cwd, deny=deny)


def accept_edit(command: Command, analysis: Analysis, cwd: str, project_dir: Roots, home: str) -> bool:
    """acceptEdits runs `mkdir touch rm rmdir mv cp sed` whose files all lie inside the project or
    an added folder, never a whole one (sed only with plain substitution or deletion scripts:
    `w FILE` writes and `e` runs)."""
    if command.opaque or not env_safe(command) or command.name not in ACCEPT_EDITS:
        return False
    if command.name == "sed" and not commands.plain_sed(command.words[1:]):
        return False
    mine = commands.effects(command.words, command.cwds)
    for target in mine:
        found = resolve(target, cwd, home)
        if found is None or not all(inside(p, project_dir) and not is_root(p, project_dir) for p in found):
            return False
    return bool(mine)


_DOT = Word(value=".", text=".")
