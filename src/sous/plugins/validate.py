"""`sous plugin validate PATH`: every problem a plugin or marketplace folder has, one line each."""

from __future__ import annotations

from pathlib import Path

from . import agents, commands, hooks, mcp_servers
from .manifest import Plugin, read_manifest
from .marketplace import CATALOGUE, fetch_source, read_catalogue
from .store import PluginError


def validate(path: Path) -> tuple[list[str], str]:
    """(problems, what was checked: "plugin NAME" or "marketplace NAME"). Never raises for bad input."""
    root = path.expanduser().resolve()
    if (root / CATALOGUE).exists():
        return _marketplace(root)
    problems = _plugin(root)
    manifest, _ = read_manifest(root)
    return problems, f"plugin {manifest['name']}" if manifest else f"{root}"


def _plugin(root: Path) -> list[str]:
    manifest, problem = read_manifest(root)
    if manifest is None:
        return [problem]
    plugin = Plugin(name=manifest["name"], root=root, id=f"{manifest['name']}@inline", manifest=manifest)
    problems = commands(plugin)[1] + agents(plugin)[1]
    values, more = hooks(plugin)
    problems += more
    from sous import hooks as hook_config

    for value in values:
        problems += hook_config.load(value, where=f"{root.name} hooks").problems
    servers, more = mcp_servers(plugin)
    problems += more
    for name, raw in servers.items():
        if not isinstance(raw, dict) or not (isinstance(raw.get("command"), str) or isinstance(raw.get("url"), str)):
            problems.append(f"{root}: MCP server {name!r} needs a command or a url")
    return problems


def _marketplace(root: Path) -> tuple[list[str], str]:
    try:
        catalogue = read_catalogue(root)
    except PluginError as e:
        return [str(e)], f"{root}"
    problems = []
    seen: set[str] = set()
    for i, entry in enumerate(catalogue["plugins"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f"{root / CATALOGUE}: plugins[{i}] needs a name")
            continue
        if entry["name"] in seen:
            problems.append(f"{root / CATALOGUE}: plugin {entry['name']!r} is listed twice")
        seen.add(entry["name"])
        if not isinstance(entry.get("source"), str):
            continue  # a git source: checked when it is installed
        try:
            folder = fetch_source(entry, root, catalogue, root)
        except PluginError as e:
            problems.append(str(e))
            continue
        problems += _plugin(folder)
    return problems, f"marketplace {catalogue['name']}"
