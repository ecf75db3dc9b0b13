"""Custom commands and skills: Markdown prompts invoked as `/name args` or, for skills, by the model.

Found in `.sous/commands/**/*.md` and `.claude/commands/**/*.md` (the file name is the command;
subfolders only group), and `.sous/skills/<name>/SKILL.md` / `.claude/skills/<name>/SKILL.md`, in
the project and at user level. Personal beats project; a skill beats a command of the same name.

Expansion follows Claude Code: `$ARGUMENTS` (appended as `ARGUMENTS: ...` when absent),
`$ARGUMENTS[N]` and `$N`, named `$name` from `arguments`, `${CLAUDE_SESSION_ID}`,
`${CLAUDE_SKILL_DIR}`, `${CLAUDE_PROJECT_DIR}`, `@path` inclusion and the output of `` !`command` ``
and of ```` ```! ```` fenced blocks.
Positional numbering is 0-based as in current Claude Code; a body that uses `$1` but never `$0`
was written for the older 1-based convention and is read that way.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sous.records import field, record

from . import command_files

_TRUE = {"yes", "on", "1", "true"}
_SHELL = re.compile(r"(?:(?<=\s)|^)!`([^`]+)`", re.MULTILINE)
_SHELL_BLOCK = re.compile(r"^```!\n(.*?)\n```", re.MULTILINE | re.DOTALL)
_INCLUDE = re.compile(r"(?:(?<=\s)|^)@([\w./~-]+\w)")


class ExpansionError(Exception):
    """The command cannot be sent (a `!` command was not allowed or failed)."""


@record(frozen=False, kw_only=False)
class Command:
    name: str
    path: Path
    body: str
    meta: dict[str, Any] = field(default_factory=dict)
    skill: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    """More `${NAME}` placeholders for the body (a plugin's `CLAUDE_PLUGIN_ROOT` and `CLAUDE_PLUGIN_DATA`)."""

    @property
    def description(self) -> str:
        text = str(self.meta.get("description") or "")
        return text or next((line.strip("# ").strip() for line in self.body.splitlines() if line.strip()), "")

    @property
    def allowed_tools(self) -> list[str]:
        value = self.meta.get("allowed-tools") or []
        if isinstance(value, str):
            value = re.findall(r"[\w*]+(?:\([^)]*\))?", value)
        return [str(v) for v in value]

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.meta.get(key)
        return default if value is None else str(value).lower() in _TRUE

    @property
    def model_invocable(self) -> bool:
        return self.skill and not self.flag("disable-model-invocation")

    @property
    def user_invocable(self) -> bool:
        return self.flag("user-invocable", True)


def frontmatter(text: str) -> tuple[dict[str, Any], str]:
    """Split `---` YAML frontmatter from the body, read as Claude Code reads it: real YAML (block
    scalars such as `description: |`, quoted strings, `# comments`, flow and block lists). A head
    that is not valid YAML (typically an unquoted `: ` inside a description) is read again line by
    line, each `key: value` taken as a plain string; a head that is not a mapping is ignored."""
    if not text.startswith("---"):
        return {}, text
    head, sep, body = text[3:].partition("\n---")
    if not sep:
        return {}, text
    body = body.split("\n", 1)[1] if "\n" in body else ""
    import yaml

    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError:
        meta = _lenient(head)
    if not isinstance(meta, dict):
        return {}, body
    return {str(k): ("" if v is None else v) for k, v in meta.items()}, body


def _lenient(head: str) -> dict[str, Any]:
    """Top-level `key: value` lines as strings (quotes and trailing ` # comments` removed) and
    `- item` lines under a key with no value as a list."""
    meta: dict[str, Any] = {}
    key = None
    for line in head.splitlines():
        if m := re.match(r"^([\w-]+):\s*(.*)$", line):
            key, value = m.group(1), re.sub(r"\s+#.*$", "", m.group(2)).strip()
            meta[key] = value.strip("\"'") if value else []
        elif key and (m := re.match(r"^\s+-\s*(.+)$", line)) and isinstance(meta.get(key), list):
            meta[key].append(m.group(1).strip().strip("\"'"))
    return meta


def read(path: Path, name: str, skill: bool, variables: Mapping[str, str] | None = None) -> Command | None:
    """The command or skill in `path`, named `name` (a skill is named by its folder, as in Claude
    Code, whatever its frontmatter `name` says); None when the file cannot be read."""
    try:
        meta, body = frontmatter(path.read_text("utf-8", errors="replace"))
    except OSError:
        return None
    return Command(name=name, path=path, body=body, meta=meta, skill=skill, variables=dict(variables or {}))


def discover(
    project_dir: str, environ: Mapping[str, str] = os.environ, files: tuple[list[Path], list[Path]] | None = None
) -> dict[str, Command]:
    """Every custom command and skill by name; `files` as `command_files.find` listed them, when
    the caller has."""
    command_paths, skill_paths = files if files is not None else command_files.find(project_dir, environ)
    found: dict[str, Command] = {}
    for path in command_paths:  # later wins: personal over project
        if (command := read(path, path.stem, False)) and not (found.get(command.name) and found[command.name].skill):
            found[command.name] = command
    for path in skill_paths:  # skills over commands
        if command := read(path, path.parent.name, True):
            found[command.name] = command
    return found


def is_command_like(line: str) -> bool:
    """`/word args`: a command; `/usr/bin/env is odd` or a dragged `/tmp/shot.png` (a path) is a prompt."""
    return re.match(r"^/[\w:.-]+(\s|$)", line.strip()) is not None


def split_invocation(text: str, commands: Mapping[str, Command]) -> tuple[Command, str] | None:
    """`/name rest` → (command, rest) when `name` is a user-invocable command."""
    match = re.match(r"^/([\w:.-]+)(?:\s+(.*))?$", text.strip(), re.DOTALL)
    if not match or match.group(1) not in commands or not commands[match.group(1)].user_invocable:
        return None
    return commands[match.group(1)], (match.group(2) or "").strip()


def expand(
    command: Command,
    arguments: str,
    *,
    cwd: str,
    session_id: str = "",
    allow_shell: Callable[[str], bool] = lambda cmd: False,
    allow_read: Callable[[str], bool] = lambda path: True,
) -> str:
    """The prompt text of an invocation. Raises ExpansionError when a `!` command may not run.
    An `@path` that `allow_read` refuses (a Read deny rule covers it) stays as written."""
    body = command.body
    try:
        args = shlex.split(arguments)
    except ValueError:
        args = arguments.split()
    one_based = re.search(r"\$(?:ARGUMENTS\[)?0\b", body) is None and re.search(r"\$[1-9]", body) is not None
    names = command.meta.get("arguments") or []
    named = {n: args[i] for i, n in enumerate(names if isinstance(names, list) else []) if i < len(args)}
    had_arguments = "$ARGUMENTS" in body

    def positional(match: re.Match[str]) -> str:
        index = int(match.group(1)) - (1 if one_based else 0)
        return args[index] if 0 <= index < len(args) else ""

    text = re.sub(r"\$ARGUMENTS\[(\d+)\]", positional, body)
    text = text.replace("$ARGUMENTS", arguments)
    text = re.sub(r"\$(\d+)\b", positional, text)
    for key, value in named.items():
        text = re.sub(rf"\${re.escape(key)}\b", value, text)
    skill_dir = str(command.path.parent)
    for var, value in (
        ("CLAUDE_SESSION_ID", session_id),
        ("CLAUDE_SKILL_DIR", skill_dir),
        ("CLAUDE_PROJECT_DIR", cwd),
        ("SOUS_PROJECT_DIR", cwd),
        *command.variables.items(),
    ):
        text = text.replace("${" + var + "}", value)
    text = _SHELL_BLOCK.sub(lambda m: _shell(m.group(1).strip(), cwd, allow_shell), text)
    text = _SHELL.sub(lambda m: _shell(m.group(1), cwd, allow_shell), text)
    text = _INCLUDE.sub(lambda m: _include(m.group(0), m.group(1), cwd, allow_read), text)
    if arguments and not had_arguments and not named and not re.search(r"\$\d", body):
        text = f"{text.rstrip()}\n\nARGUMENTS: {arguments}"
    return text.strip()


def _shell(cmd: str, cwd: str, allow: Callable[[str], bool]) -> str:
    if not allow(cmd):
        raise ExpansionError(
            f"`!{cmd}` is not allowed: add Bash({cmd}) to the command's allowed-tools or to the permission rules"
        )
    run = subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, timeout=120)
    if run.returncode not in (0, 1) or (run.returncode == 1 and run.stderr.strip()):
        raise ExpansionError(f"`!{cmd}` failed with exit code {run.returncode}: {run.stderr.strip()[:300]}")
    return run.stdout.rstrip("\n")


def _include(original: str, name: str, cwd: str, allow_read: Callable[[str], bool]) -> str:
    path = Path(cwd) / os.path.expanduser(name)
    if not path.is_file() or not allow_read(str(path)):
        return original  # an @mention that is not a file (or may not be read) stays as written
    try:
        return f"{original}\n```\n{path.read_text('utf-8', errors='replace').rstrip()}\n```"
    except OSError:
        return original


def skill_tool(
    commands: Mapping[str, Command],
    allow_shell: Callable[[Command, str, Any], bool],
    allow_read: Callable[[str, Any], bool] = lambda path, ctx: True,
) -> Any:
    """The `Skill` tool: lists model-invocable skills by name and description only; a call loads
    one skill's instructions into the conversation (progressive disclosure). `allow_shell(command,
    shell_command, ctx)` says whether a `!`shell`` placeholder may run in the calling tool context,
    `allow_read(path, ctx)` whether an `@path` may be included."""
    from sous.core import ToolContext, ToolResult
    from sous.tools import builtin

    skills = {name: c for name, c in commands.items() if c.model_invocable}
    listing = "\n".join(f"- {name}: {c.description[:200]}" for name, c in sorted(skills.items()))

    async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        command = skills.get(args["skill"].lstrip("/"))
        if command is None:
            return ToolResult(
                content=f"Unknown skill {args['skill']!r}. Available: {', '.join(sorted(skills))}", is_error=True
            )
        try:
            text = expand(
                command,
                args.get("args") or "",
                cwd=ctx.cwd,
                allow_shell=lambda cmd: allow_shell(command, cmd, ctx),
                allow_read=lambda path: allow_read(path, ctx),
            )
        except ExpansionError as e:
            return ToolResult(content=str(e), is_error=True)
        return ToolResult(
            content=f"Skill {command.name} is loaded; follow its instructions:\n\n{text}",
            data={"skill": command.name, "path": str(command.path)},
        )

    schema = {
        "type": "object",
        "properties": {
            "skill": {"type": "string", "description": "The skill's name"},
            "args": {"type": "string", "description": "Arguments for the skill, if it takes any"},
        },
        "required": ["skill"],
    }
    description = (
        "Loads a skill: instructions for a kind of task, to follow once loaded. Use one when the task "
        f"matches its description.\nAvailable skills:\n{listing}"
    )
    return builtin("Skill", schema, run, description=description) if skills else None
