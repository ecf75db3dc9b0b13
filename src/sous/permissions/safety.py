"""The safety floor: what asks for a typed confirmation in every mode, bypassPermissions included.

- a recursive delete (`rm -r`, `rm --rec`, `find -delete`, `find -exec rm`, `xargs rm -r`),
  `chmod -R` or `chown -R`/`chgrp -R` that reaches outside the project, the project folder
  itself, or the home directory, or whose target is known only at run time;
- overwriting or deleting an existing file outside the project (Write/Edit, a redirection, or
  any program that writes: `tee`, `cp`, `mv`, `dd of=`, `sed -i`, `truncate`...), writing a file
  known only at run time, and, outside bypass mode, any write outside the project;
- writing protected files anywhere (see `protected`): files that run or grant later without a
  prompt — `.git/` internals, shell start-up files, `.mcp.json`, the `.claude/` and `.sous/`
  folders, `~/.ssh/` — whatever the writer (the file tools, or a command's written files);
- inline interpreter code that deletes, writes or runs programs (`python3 -c`, `perl -e`,
  `node -e`, `awk '{system(...)}'`, or the same fed on stdin): what it touches cannot be read;
- changing what cron runs later (`crontab FILE`, `crontab -`, `-e`, `-r`); `at` and `batch`
  are read as the shell code they queue.

Commands are seen through every wrapper (`sudo`, `setsid`, `nohup`, `xargs`, `env -S`, `find
-exec`, `bash -c`), paths from where `cd`/`pushd` left the shell, with `~`, `$HOME` and globs
expanded (see `shell` and `targets`).

Only an allow rule cannot lift it; the person can, by typing the confirmation.
"""

from __future__ import annotations

import os
import re
from typing import Any

from sous import paths

from .commands import find_parts, hazard, plain_sed
from .options import Spec, long_form, names, parse
from .rules import EDIT_TOOLS
from .shell import Analysis, Command
from .targets import Roots, Target, inside, is_root, resolve
from .words import UNKNOWN, Word

SHELL_STARTUP = paths.SHELL_STARTUP | {"config.fish"}  # fish's, under ~/.config/fish
SETTINGS_FOLDERS = {".sous", ".claude"}
RUNS_LATER = {
    ".mcp.json": "starts MCP servers at the next start",
    ".claude.json": "holds MCP servers",
    ".envrc": "is run by direnv on entering the folder",
    ".gitconfig": "is git configuration",
}


def _resolve(path: str, cwd: str, home: str) -> str:
    """Where a file tool's path leads: the tools drop `..` from the path as written before they
    open it (`tools._files.resolve`), so `link/..` is the link's own folder, not its target's parent."""
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    return os.path.realpath(os.path.abspath(os.path.join(cwd, path)))


def _inside(path: str, root: str) -> bool:
    root = os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def protected(path: str, home: str, *, state_dir: str | None = None) -> str | None:
    """Why writing `path` (absolute, symlinks already resolved) is protected, or None.

    Protected are the files whose content runs or grants later, with no prompt: `.git/` internals
    (hooks, config), git's user config, shell start-up files, `~/.ssh/`, the `.claude/` and
    `.sous/` folders anywhere (settings, hooks, agents, commands and skills: a command's
    `allowed-tools` grants permissions when run, its `!` lines run at expansion), `.mcp.json`,
    `~/.claude.json`, `.envrc` (direnv runs it on `cd`), `.vscode/tasks.json` (tasks may run when
    the folder opens), `.husky/` (git hooks by another name) and sous's own state folder
    (`state_dir`, default `$SOUS_HOME` or `~/.sous`: project trust lives there). Worktrees that
    Claude Code keeps under `.claude/worktrees/NAME/` are projects of their own: the rest of
    their path is checked the same way."""
    parts = path.split(os.sep)
    name = parts[-1]
    real_home = os.path.realpath(home)
    if ".git" in parts[:-1] or name == ".git":
        return f"{path} is inside a .git folder"
    if name in SHELL_STARTUP and (os.path.dirname(path) == real_home or "fish" in parts):
        return f"{path} is a shell start-up file"
    scan = parts[:-1]
    for i in range(len(parts) - 4, -1, -1):
        if parts[i] == ".claude" and parts[i + 1] == "worktrees":
            scan = parts[i + 3 : -1]
            break
    if folder := next((part for part in scan if part in SETTINGS_FOLDERS), None) or (name in SETTINGS_FOLDERS and name):
        return f"{path} is in a {folder} folder, whose files configure what runs and what is allowed"
    if name in RUNS_LATER:
        return f"{path} {RUNS_LATER[name]}"
    if name == "tasks.json" and len(parts) > 1 and parts[-2] == ".vscode":
        return f"{path} defines editor tasks, which may run when the folder is opened"
    if ".husky" in parts[:-1]:
        return f"{path} is a git hook (husky)"
    for folder, why in (
        (".ssh", "holds SSH keys and the keys allowed to log in"),
        (os.path.join(".config", "git"), "is git's user configuration"),
    ):
        if _inside(path, os.path.join(real_home, folder)):
            return f"{path} {why}"
    state = os.path.realpath(state_dir if state_dir is not None else str(paths.config_dir()))
    if _inside(path, state):
        return f"{path} is in sous's own settings folder"
    return None


def _write_problem(path: str, cwd: str, project: Roots, home: str, mode: str) -> str | None:
    """Writing goes where the symlinks lead, so the resolved path decides; the path as given is
    checked for protection too (a link named `.mcp.json` is still read as one)."""
    resolved = _resolve(path, cwd, home)
    given = os.path.abspath(os.path.join(cwd, home + path[1:] if path == "~" or path.startswith("~/") else path))
    if why := protected(resolved, home) or protected(given, home):
        return why
    if inside(resolved, project):
        return None
    if os.path.exists(resolved):
        return f"it overwrites {path}, outside the project"
    if mode != "bypassPermissions":
        return f"it writes {path}, outside the project"
    return None


def check(
    tool: str, args: dict[str, Any], analysis: Analysis | None, *, cwd: str, project_dir: Roots, mode: str, home: str
) -> str | None:
    """The reason this call needs a typed confirmation, or None. `project_dir` may be the project
    and the added working folders (`--add-dir`): writes inside any of them are the project's."""
    if tool in EDIT_TOOLS:
        path = args.get("file_path") or args.get("notebook_path")
        return _write_problem(path, cwd, project_dir, home, mode) if isinstance(path, str) and path else None
    if tool != "Bash" or analysis is None:
        return None
    links = any(c.name in ("ln", "mv", "cp") for c in analysis.commands)
    for command in analysis.commands + analysis.candidates:
        if why := _command_problem(command, cwd, project_dir, home, links):
            return why
    makers = {i for i, c in enumerate(analysis.commands) if _makes_links(c)}
    for target in analysis.writes:
        if why := _target_problem(target, cwd, project_dir, home, mode):
            return f"the command writes a file: {why}"
        if makers and target.owner not in makers:
            # `ln -s ~/.bashrc x; echo y > x`: where x leads is decided after this check
            return f"the command writes {target} after it makes links, which may lead anywhere"
    return None


def _makes_links(command: Command) -> bool:
    """`ln`, `cp -s`/`cp -l`: the command makes links that later writes in the same command may follow."""
    if command.name == "ln":
        return True
    flags = {w.value for w in command.words[1:] if w.known}
    return command.name == "cp" and bool(flags & {"-s", "-l", "--link", "--symbolic-link"})


def _command_problem(command: Command, cwd: str, project: Roots, home: str, links: bool) -> str | None:
    words = command.words
    if not words:
        return None
    name = command.name if words[0].known else "rm"  # a name known only at run time may be rm
    shown = " ".join(w.text for w in words)
    if name in _DELETERS or name in _OWNERSHIP:
        spec = _DELETERS.get(name) or _OWNERSHIP_SPEC
        parsed = parse(spec, words[1:])
        flags = {long_form(n, spec.flags) for n, _ in parsed.options}
        flags |= {long_form(w.value, _LONG_RECURSIVE) for w in parsed.unknown if w.known}  # `--rec`, `--recur`
        recursive = bool(flags & _RECURSIVE) or (name == "rm" and any(not w.known for w in parsed.unknown))
        if recursive or name == "rmdir":
            targets = parsed.operands + [w for w in parsed.unknown if not w.known]
            for word in targets[1 if name in _OWNERSHIP and "--reference" not in flags else 0 :]:
                if why := _reach(word, command, cwd, project, home, whole_project=True):
                    return f"`{shown}`: a recursive {name} where {why}"
            if links and name == "rm" and recursive:
                return f"`{shown}`: a recursive delete after the command makes links or moves files"
    if name == "find":
        rest = words[1:]
        parts = find_parts(rest)
        starts = parts[0] if parts else [w for w in rest if not w.may_be_option] or [Word(value=".", text=".")]
        if any(w.value == "-delete" for w in rest) or (parts is None and any(not w.known for w in rest)):
            for word in starts:
                if why := _reach(word, command, cwd, project, home, whole_project=False):
                    return f"`{shown}`: find deletes or runs commands where {why}"
    if name == "crontab" and not any(w.value in ("-l", "-V") for w in words[1:]):
        return f"`{shown}`: it changes the commands cron runs later, which cannot be checked"
    if name == "git" and (why := _git_clean(command, cwd, project, home)):
        return f"`{shown}`: {why}"
    if (
        name == "sed"
        and not plain_sed(words[1:])
        and (_SED_WRITES.search(" ".join(w.value for w in words[1:])) or "script runs" in hazard(words))
    ):
        return f"`{shown}`: a sed script that may write files or run commands"
    code = _inline_code(name, words[1:])
    if code is not None and _DESTRUCTIVE.search(code):
        return f"`{name}` runs inline code that may delete, write or run programs, which cannot be checked"
    return None


def _git_clean(command: Command, cwd: str, project: Roots, home: str) -> str | None:
    """`git clean -f` deletes every untracked file below its paths (or where `-C DIR` says)."""
    rest = command.words[1:]
    place: Word | None = None
    i = 0
    while i < len(rest) and rest[i].may_be_option:
        if rest[i].value == "-C" and i + 1 < len(rest):
            place, i = rest[i + 1], i + 2
            continue
        if not rest[i].known:
            return "git with options known only at run time may delete files"
        i += 1
    if i == len(rest) or rest[i].value != "clean":
        return None
    given = [w.value for w in rest[i + 1 :] if w.known and w.value.startswith("-")]
    forced = any(v == "--force" or (v[:2] != "--" and "f" in v) for v in given)
    if not forced or any(v in ("-n", "--dry-run") for v in given):
        return None  # git refuses to clean without -f (clean.requireForce), or only lists
    paths = [w for w in rest[i + 1 :] if not w.may_be_option] or [Word(value=".", text=".")]
    if place is not None:
        if not place.known:
            return "git clean in a folder known only at run time"
        paths = [Word(value=os.path.join(place.value, p.value), text=p.text, tilde=place.tilde) for p in paths]
    for word in paths:
        if why := _reach(word, command, cwd, project, home, whole_project=False):
            return f"git clean deletes untracked files where {why}"
    return None


def _reach(word: Word, command: Command, cwd: str, project: Roots, home: str, *, whole_project: bool) -> str | None:
    """Why a recursive operation on `word` reaches too far, or None."""
    paths = resolve(Target(word=word, cwds=command.cwds, kind="delete"), cwd, home)
    if paths is None:
        return f"{word.text} is only known at run time"
    for path in paths:
        if path in (os.path.realpath(home), os.sep):
            return f"{word.text} is {'your home directory' if path != os.sep else 'the root directory'}"
        if is_root(path, project):
            if whole_project:
                main = project if isinstance(project, str) else project[0]
                whole = "the whole project" if is_root(path, main) else "a whole added working folder"
                return f"{word.text} is {whole}"
            continue
        if not inside(path, project):
            return f"{word.text} is outside the project"
    return None


def _target_problem(target: Target, cwd: str, project: Roots, home: str, mode: str) -> str | None:
    paths = resolve(target, cwd, home)
    if paths is None:
        return f"{target} is known only at run time"
    for path in paths:
        if why := protected(path, home):
            return why
        if inside(path, project):
            continue
        verb = "deletes" if target.kind == "delete" else "overwrites"
        if os.path.lexists(path) or target.synthetic:
            return f"it {verb} {target}, outside the project"
        if mode != "bypassPermissions":
            return f"it writes {target}, outside the project"
    return None


def _inline_code(name: str, rest: list[Word]) -> str | None:
    """The inline program of an interpreter (`python3 -c CODE`, `awk 'PROGRAM'`), or None."""
    base = re.sub(r"[\d.]+$", "", name)
    if base in ("awk", "gawk", "mawk", "nawk"):
        operands = [w for w in rest if not w.may_be_option]
        has_file = any(w.value in ("-f", "--file") for w in rest)
        if not operands or has_file:
            return None
        return operands[0].value
    flags = _INLINE.get(base)
    if flags is None:
        return None
    for i, word in enumerate(rest):
        if word.value in flags or (
            word.value[:1] == "-" and not word.value.startswith("--") and any(f"-{c}" in flags for c in word.value[1:])
        ):
            code = rest[i + 1] if i + 1 < len(rest) else None
            return UNKNOWN if code is None or not code.known else code.value
    return None


_SED_WRITES = re.compile(r"(?:^|[;}\n\s])\s*\d*,?\d*[wWe](?:\s|$)|/[gIip0-9]*[we]|\x00")
_RECURSIVE = {"-r", "-R", "--recursive"}
_LONG_RECURSIVE = frozenset({"--recursive"})
_OWNERSHIP = {"chmod", "chown", "chgrp"}
_DELETERS = {
    "rm": Spec(
        flags=names(
            "-f -i -I -r -R -d -v --force --interactive --recursive --dir --verbose "
            "--one-file-system --no-preserve-root --preserve-root"
        )
    ),
    "rmdir": Spec(flags=names("-p -v --parents --verbose --ignore-fail-on-non-empty")),
}
_OWNERSHIP_SPEC = Spec(
    valued=names("--reference --from"),
    flags=names(
        "-R -c -f -v -h -H -L -P --recursive --changes --silent --quiet --verbose "
        "--no-dereference --dereference --preserve-root --no-preserve-root"
    ),
)
_INLINE = {
    "python": {"-c"},
    "perl": {"-e", "-E"},
    "ruby": {"-e"},
    "node": {"-e", "--eval", "-p", "--print"},
    "nodejs": {"-e", "--eval", "-p", "--print"},
    "php": {"-r"},
    "lua": {"-e"},
    "Rscript": {"-e"},
    "bun": {"-e", "--eval"},
    "deno": {"eval"},
    "osascript": {"-e"},
    "pwsh": {"-c", "-Command"},
    "tclsh": set(),
    "julia": {"-e"},
}
_DESTRUCTIVE = re.compile(
    r"\x00|rmtree|unlink|rmdir|remove|rename|replace\(|truncate|\bsystem\b|popen|\bexec|spawn|subprocess|shutil"
    r"|\bos\.(?:kill|chmod|chown|makedirs|mkdir|write|open)|open\([^)]*['\"][wax+]|\bFile\.|FileUtils|writeFile"
    r"|appendFile|rmSync|\bfs\.|Deno\.|child_process|\brm\b|print[^;{}]*[^>]>[^=]|\|\s*\"|\"\s*\||getline|`"
    r"|\bqx\b|\bdel\b|delete"
)
"""Inline code that may delete, write or run programs (or is unknown: `\x00`)."""
