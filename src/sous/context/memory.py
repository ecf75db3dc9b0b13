"""Memory files: the instructions people keep in CLAUDE.md, AGENTS.md and SOUS.md.

Loaded at session start, user level first, then every folder from the repository root down to
the working directory (root first), each level's `*.local.md` after its shared files, then the
project's unscoped `.claude/rules/*.md` / `.sous/rules/*.md`. Both AGENTS.md and CLAUDE.md load
when both exist, once each (a symlink of one to the other loads once). `@path` imports are
followed up to 4 hops, relative to the importing file, never inside code, cycles skipped.
Files in subfolders (nested memory) and rules with `paths:` frontmatter load later, when a tool
first touches a file they cover: `MemoryMiddleware` adds them to that tool's result.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any

from sous import paths
from sous.core import PassThrough, Text, ToolCall, ToolResultMessage
from sous.records import field, record

NAMES = ("CLAUDE.md", os.path.join(".claude", "CLAUDE.md"), "AGENTS.md", "SOUS.md", os.path.join(".sous", "SOUS.md"))
LOCAL_NAMES = ("CLAUDE.local.md", "AGENTS.local.md", "SOUS.local.md")
RULE_DIRS = (os.path.join(".claude", "rules"), os.path.join(".sous", "rules"))
MAX_BYTES = 4 * 1024 * 1024
MAX_HOPS = 4
FILE_TOOLS = {
    "Read": "file_path",
    "Edit": "file_path",
    "Write": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}

HEADER = (
    "Codebase and user instructions are shown below. Adhere to them: they override default "
    "behaviour and must be followed exactly as written."
)
_IMPORT = re.compile(r"(?<![\w`])@((?:~|\.{1,2})?/?[\w.\-/~]+)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FENCE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


@record(frozen=False, kw_only=False)
class MemoryFile:
    path: Path
    scope: str
    """"user", "project", "local", "rule" or "nested"."""
    text: str


@record(frozen=False, kw_only=False)
class Memory:
    files: list[MemoryFile] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def add(self, path: Path, scope: str, hops: int = 0) -> None:
        """Load `path` (and its imports) unless it was loaded already or is unusable."""
        try:
            real = os.path.realpath(path)
            if real in self.seen or not path.is_file() or path.stat().st_size > MAX_BYTES:
                return
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            return
        self.seen.add(real)
        text = _COMMENT.sub("", text).strip()
        self.files.append(MemoryFile(path=path, scope=scope, text=text))
        if hops < MAX_HOPS:
            for target in imports(text, path.parent):
                self.add(target, scope, hops + 1)

    def render(self, files: list[MemoryFile] | None = None) -> str:
        chosen = self.files if files is None else files
        parts = [f"Contents of {f.path} ({_DESCRIPTIONS[f.scope]}):\n\n{f.text}" for f in chosen if f.text]
        return f"{HEADER}\n\n" + "\n\n".join(parts) if parts else ""


_DESCRIPTIONS = {
    "user": "user's private global instructions for all projects",
    "project": "project instructions, checked into the codebase",
    "local": "user's private project instructions, not checked in",
    "rule": "project rules",
    "nested": "instructions for this part of the codebase",
}


def imports(text: str, base: Path) -> list[Path]:
    """The files named by `@path` in `text`, outside code spans and blocks."""
    found = []
    for match in _IMPORT.finditer(_FENCE.sub("", text)):
        raw = match.group(1).rstrip(".,;:)")
        path = Path(os.path.normpath(os.path.expanduser(raw) if raw.startswith("~") else base / raw))
        if path.suffix or path.is_file():
            found.append(path)
    return found


def frontmatter_paths(text: str) -> list[str] | None:
    """The `paths:` globs of a rule file's frontmatter, or None when it applies everywhere."""
    if not text.startswith("---"):
        return None
    head = text[3:].split("\n---", 1)[0]
    match = re.search(r"^paths:[ \t]*(.*)$((?:\n[ \t]*-[ \t]*.*)*)", head, re.MULTILINE)
    if not match:
        return None
    inline, listed = match.group(1).strip(), match.group(2)
    globs = re.findall(r"[\"']?([^\"',\[\]]+)[\"']?", inline) + re.findall(r"-\s*[\"']?([^\"'\n]+)[\"']?", listed)
    return [g.strip() for g in globs if g.strip()] or None


def _levels(cwd: Path, root: Path) -> list[Path]:
    levels = [cwd]
    while levels[-1] != root and levels[-1].parent != levels[-1]:
        levels.append(levels[-1].parent)
    return list(reversed(levels))


def load(
    cwd: str, project_root: str | None = None, environ: Any = os.environ
) -> tuple[Memory, list[tuple[list[str], Path]]]:
    """The memory to send at session start, and the path-scoped rules to load later."""
    memory = Memory()
    home = Path(environ.get("HOME") or Path.home())
    for path in (
        home / ".claude" / "CLAUDE.md",
        paths.config_dir(environ) / "AGENTS.md",
        paths.config_dir(environ) / "SOUS.md",
    ):
        memory.add(path, "user")
    for folder in (home / ".claude" / "rules", paths.config_dir(environ) / "rules"):
        for rule in sorted(folder.glob("*.md")) if folder.is_dir() else []:
            memory.add(rule, "user")
    here = Path(cwd)
    for level in _levels(here, Path(project_root) if project_root else here):
        for name in NAMES:
            memory.add(level / name, "project")
        for name in LOCAL_NAMES:
            memory.add(level / name, "local")
    scoped: list[tuple[list[str], Path]] = []
    base = Path(project_root or cwd)
    for rules_dir in RULE_DIRS:
        for rule in sorted((base / rules_dir).rglob("*.md")) if (base / rules_dir).is_dir() else []:
            try:
                globs = frontmatter_paths(rule.read_text("utf-8", errors="replace"))
            except OSError:
                continue
            if globs is None:
                memory.add(rule, "rule")
            else:
                scoped.append((globs, rule))
    return memory, scoped


def load_added(memory: Memory, folders: list[str], environ: Any = os.environ) -> None:
    """The memory files of the added working folders (`--add-dir`), which Claude Code reads only
    with `CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD=1`: a folder lent for its files is not
    asked to steer the model."""
    if str(environ.get("CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD", "")).strip().lower() not in ("1", "true"):
        return
    for folder in folders:
        for name in NAMES:
            memory.add(Path(folder) / name, "project")
        for name in LOCAL_NAMES:
            memory.add(Path(folder) / name, "local")


class MemoryMiddleware(PassThrough):
    """Adds nested memory files and path-scoped rules to the result of the first tool call that
    touches a file they cover."""

    def __init__(self, memory: Memory, scoped: list[tuple[list[str], Path]], project_dir: str):
        self.memory = memory
        self.scoped = scoped
        self.project_dir = Path(project_dir)

    def _newly_relevant(self, target: Path) -> list[MemoryFile]:
        before = len(self.memory.files)
        try:
            relative = target.relative_to(self.project_dir)
        except ValueError:
            return []
        folder = self.project_dir
        for part in relative.parts[:-1]:
            folder = folder / part
            for name in (*NAMES, *LOCAL_NAMES):
                self.memory.add(folder / name, "nested")
        for globs, rule in self.scoped:
            if any(
                fnmatch.fnmatch(str(relative), g) or fnmatch.fnmatch(str(relative), g.removeprefix("**/"))
                for g in globs
            ):
                self.memory.add(rule, "rule")
        return self.memory.files[before:]

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        key = FILE_TOOLS.get(call.name)
        if key is None or result.is_error or not isinstance(call.arguments.get(key), str):
            return result
        data = result.data if isinstance(result.data, dict) else {}
        target = (data.get("file") or {}).get("filePath") or data.get("filePath") or call.arguments[key]
        added = self._newly_relevant(Path(os.path.abspath(os.path.join(self.project_dir, target))))
        if not added:
            return result
        note = f"<system-reminder>\n{self.memory.render(added)}\n</system-reminder>"
        return ToolResultMessage(
            tool_call_id=result.tool_call_id,
            tool_name=result.tool_name,
            content=(*result.content, Text(text="\n\n" + note)),
            is_error=result.is_error,
            data=result.data,
            id=result.id,
        )
