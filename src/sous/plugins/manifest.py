"""One plugin folder: its manifest and where its components are.

A plugin is a folder with `.claude-plugin/plugin.json` (`name` required; `version`,
`description`, `author`...; the file may be left out) and components at its root: `commands/`, `agents/`,
`skills/<folder>/SKILL.md`, `hooks/hooks.json`, `.mcp.json`, `output-styles/`. The manifest may
name more command, agent and skill paths (they add to the default folders) and give `hooks` and
`mcpServers` as a path or inline. Every path must stay inside the plugin's folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sous.records import field, record

MANIFEST = Path(".claude-plugin") / "plugin.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""What a plugin may be called: its name becomes part of command, agent and tool names."""


@record
class Plugin:
    """A plugin that is in use for a session."""

    name: str
    root: Path
    id: str
    """`name@marketplace` (`name@inline` for `--plugin-dir`)."""
    version: str = ""
    manifest: dict[str, Any] = field(default_factory=dict, compare=False)
    data_dir: Path | None = None
    """`CLAUDE_PLUGIN_DATA`: the plugin's folder for its own state (created when its code runs)."""
    runs_code: bool = True
    """Its hooks and MCP servers may start: the person enabled it (install, enable, `--plugin-dir`)."""

    def variables(self) -> dict[str, str]:
        """`CLAUDE_PLUGIN_ROOT` and `CLAUDE_PLUGIN_DATA`, for placeholders and hook environments."""
        return {"CLAUDE_PLUGIN_ROOT": str(self.root), "CLAUDE_PLUGIN_DATA": str(self.data_dir or "")}


COMPONENTS = ("commands", "agents", "skills", "hooks", ".mcp.json", "output-styles")


def read_manifest(root: Path, name: str | None = None) -> tuple[dict[str, Any] | None, str]:
    """(the manifest, "") or (None, one line saying why the folder is not a usable plugin). The
    manifest is optional, as in Claude Code: without one a folder holding components is a plugin
    called `name` (its installed name), or else after the folder."""
    path = root / MANIFEST
    if not root.is_dir():
        return None, f"{root}: not a folder"
    try:
        data = json.loads(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except FileNotFoundError:
        if not any((root / part).exists() for part in COMPONENTS):
            return None, f"{root}: not a plugin (no {MANIFEST}, and none of {', '.join(COMPONENTS)})"
        data = {"name": name or root.name}
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        return None, f"{path}: cannot be read as JSON ({type(e).__name__})"
    if not isinstance(data, dict):
        return None, f"{path}: expected a JSON object"
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        return None, f"{path}: needs a \"name\" of letters, digits, '.', '_' or '-'"
    return data, ""


def inside(root: Path, relative: Any) -> Path | None:
    """`root/relative` when `relative` is a string path that stays inside `root`, else None."""
    if not isinstance(relative, str) or not relative.strip() or Path(relative).is_absolute():
        return None
    target = (root / relative).resolve()
    return target if target.is_relative_to(root.resolve()) else None


def files_inside(root: Path, paths: list[Path], problems: list[str]) -> list[Path]:
    """`paths` without the files a symlink leads out of the plugin's folder (each named in `problems`):
    a plugin must not bring a file of the person's (`~/.netrc`) in as a command or an agent."""
    kept = []
    for path in paths:
        if path.resolve().is_relative_to(root.resolve()):
            kept.append(path)
        else:
            problems.append(f"{path}: a symlink that leads outside the plugin; ignored")
    return kept


def component_paths(root: Path, manifest: dict[str, Any], key: str, default: str) -> tuple[list[Path], list[str]]:
    """The default folder (when it exists) and the manifest's extra paths for `key`; problems for
    paths that leave the plugin or do not exist."""
    found, problems = [], []
    if (root / default).exists():
        if inside(root, default) is None:
            problems.append(f"{root / default}: a symlink that leads outside the plugin; ignored")
        else:
            found.append(root / default)
    extra = manifest.get(key)
    for item in [extra] if isinstance(extra, str) else extra if isinstance(extra, list) else []:
        path = inside(root, item)
        if path is None:
            problems.append(f"{root / MANIFEST}: {key}: {item!r} is not a path inside the plugin; ignored")
        elif not path.exists():
            problems.append(f"{root / MANIFEST}: {key}: {item} does not exist; ignored")
        elif path not in found:
            found.append(path)
    return found, problems


def json_component(root: Path, manifest: dict[str, Any], key: str, default: str) -> tuple[list[Any], list[str]]:
    """`hooks` or `mcpServers`: the default file's JSON, then the manifest's (inline or a path)."""
    values: list[Any] = []
    problems: list[str] = []
    sources: list[Any] = [default] if (root / default).is_file() else []
    given = manifest.get(key)
    sources += [given] if isinstance(given, (str, dict)) else given if isinstance(given, list) else []
    for source in dict.fromkeys(json.dumps(s) for s in sources):
        item = json.loads(source)
        if isinstance(item, dict):
            values.append(item)
            continue
        path = inside(root, item)
        if path is None or not path.is_file():
            problems.append(f"{root}: {key}: {item!r} is not a file inside the plugin; ignored")
            continue
        try:
            value = json.loads(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
            problems.append(f"{path}: cannot be read as JSON ({type(e).__name__}); ignored")
            continue
        if isinstance(value, dict):
            values.append(value)
        else:
            problems.append(f"{path}: expected a JSON object; ignored")
    return values, problems
