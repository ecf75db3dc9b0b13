"""Plugins: Claude Code's packaged setups (commands, agents, skills, hooks, MCP servers) in a session.

A plugin is used when it is installed (`installed_plugins.json`, for every project or for this one)
and `enabledPlugins["name@marketplace"]` is true in the merged settings, or when it is given with
`--plugin-dir` for one run. A disabled plugin has no effect at all. Its parts are namespaced as in
Claude Code: commands `/plugin:command` (a subfolder adds `:folder`), agents `plugin:name`, skills
`plugin:folder`, MCP servers `plugin_<plugin>_<server>`.

Hooks and MCP servers are programs. They run only when the person enabled the plugin: in their
own settings (`~/.claude/settings.json`, `~/.sous/settings.json`, `--settings`), by installing or
enabling it for this project (a record in `~/.claude/plugins/`, which a repository cannot write),
or with `--plugin-dir`. A plugin turned on only by a project's own files gets its prompts (commands,
agents, skills) but not its programs, as with the project's own hooks before `sous trust`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sous.records import field, record, replace

from . import store
from .manifest import Plugin, component_paths, files_inside, json_component, read_manifest

__all__ = ["Found", "Plugin", "agents", "commands", "discover", "hooks", "mcp_servers", "style_folders"]


@record(frozen=False, kw_only=False)
class Found:
    plugins: list[Plugin] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One line per plugin or part that could not be used."""
    withheld: list[str] = field(default_factory=list)
    """Ids of plugins whose hooks and MCP servers were left out (enabled only by the project's files)."""


def discover(
    cwd: str,
    enabled: Any,
    *,
    plugin_dirs: Sequence[str] = (),
    bare: bool = False,
    user_layers: Sequence[Mapping[str, Any]] = (),
    environ: Mapping[str, str] = os.environ,
) -> Found:
    """The plugins in use: those of `--plugin-dir` (kept with `bare`), then every installed plugin
    that the merged `enabledPlugins` (`enabled`) turns on. Never raises."""
    found = Found()
    for folder in plugin_dirs:
        root = Path(folder).expanduser().resolve()
        manifest, problem = read_manifest(root)
        if manifest is None:
            found.problems.append(f"--plugin-dir {problem}")
            continue
        _add(found, root, manifest, f"{manifest['name']}@inline", True, environ)
    if bare:
        return found
    if enabled is not None and not isinstance(enabled, dict):
        found.problems.append('enabledPlugins: expected an object of "name@marketplace": true; ignored')
        return found
    try:
        records = store.installed(environ)
    except store.PluginError as e:
        found.problems.append(str(e))
        return found
    users = {k for layer in user_layers for k, v in _enabled(layer).items() if v is True}
    for plugin_id, value in (enabled or {}).items():
        if value is not True:
            continue
        mine = [r for r in records.get(plugin_id, []) if store.record_applies(r, cwd)]
        if not mine:
            found.problems.append(
                f"plugin {plugin_id} is enabled but not installed here: sous plugin install {plugin_id}"
            )
            continue
        root = Path(mine[0]["installPath"])
        manifest, problem = read_manifest(root, plugin_id.partition("@")[0])
        if manifest is None:
            found.problems.append(f"plugin {plugin_id}: {problem}; reinstall it: sous plugin install {plugin_id}")
            continue
        consent = plugin_id in users or any(r.get("scope") in ("project", "local") for r in mine)
        _add(found, root, manifest, plugin_id, consent, environ, version=str(mine[0].get("version") or ""))
    return found


def _enabled(layer: Mapping[str, Any]) -> dict[str, Any]:
    section = layer.get("enabledPlugins")
    return section if isinstance(section, dict) else {}


def _add(
    found: Found,
    root: Path,
    manifest: dict[str, Any],
    plugin_id: str,
    consent: bool,
    environ: Mapping[str, str],
    version: str = "",
) -> None:
    name = manifest["name"]
    if any(p.name == name for p in found.plugins):
        found.problems.append(f"plugin {plugin_id}: another plugin named {name!r} is already in use; skipped")
        return
    plugin = Plugin(
        name=name,
        root=root,
        id=plugin_id,
        version=version or str(manifest.get("version") or ""),
        manifest=manifest,
        data_dir=store.data_dir(plugin_id, environ),
        runs_code=consent,
    )
    if not consent and (hooks(plugin)[0] or mcp_servers(plugin)[0]):
        found.withheld.append(plugin_id)
    found.plugins.append(plugin)


def commands(plugin: Plugin) -> tuple[dict[str, Any], list[str]]:
    """The plugin's commands (`plugin:sub:name`) and skills (`plugin:folder`), and problems. Those
    of a plugin whose programs may not run lose their `allowed-tools`: they grant nothing."""
    from sous.context.commands import read

    found: dict[str, Any] = {}
    folders, problems = component_paths(plugin.root, plugin.manifest, "commands", "commands")
    variables = plugin.variables()
    for folder in folders:
        files = sorted(folder.rglob("*.md")) if folder.is_dir() else [folder]
        for path in files_inside(plugin.root, files, problems):
            parts = path.relative_to(folder).with_suffix("").parts if folder.is_dir() else (path.stem,)
            name = ":".join((plugin.name, *parts))
            if command := read(path, name, False, variables):
                found[name] = command
    folders, more = component_paths(plugin.root, plugin.manifest, "skills", "skills")
    for folder in folders:
        for path in files_inside(plugin.root, sorted(folder.glob("*/SKILL.md")) if folder.is_dir() else [], more):
            name = f"{plugin.name}:{path.parent.name}"
            if skill := read(path, name, True, variables):
                found[name] = skill  # a skill wins over a command of the same name
    if not plugin.runs_code:  # its `!` commands run only what the person's own rules allow
        for command in found.values():
            command.meta.pop("allowed-tools", None)
    return found, problems + more


def agents(plugin: Plugin) -> tuple[dict[str, Any], list[str]]:
    """The plugin's agent types as `plugin:name` (a subfolder adds `:folder`). Their
    `permissionMode` is ignored, as in Claude Code: a plugin cannot loosen permissions."""
    from sous.agents import read

    found: dict[str, Any] = {}
    folders, problems = component_paths(plugin.root, plugin.manifest, "agents", "agents")
    for folder in folders:
        files = sorted(folder.rglob("*.md")) if folder.is_dir() else [folder]
        for path in files_inside(plugin.root, files, problems):
            if (spec := read(path, f"plugin {plugin.id}")) is None:
                problems.append(f"{path}: an agent needs a name and a description; skipped")
                continue
            parts = path.parent.relative_to(folder).parts if folder.is_dir() else ()
            name = ":".join((plugin.name, *parts, spec.name))
            found[name] = replace(spec, name=name, permission_mode=None)
    return found, problems


def hooks(plugin: Plugin) -> tuple[list[dict[str, Any]], list[str]]:
    """The plugin's hook settings (`{event: [groups]}`), `${CLAUDE_PLUGIN_ROOT}` and
    `${CLAUDE_PLUGIN_DATA}` substituted in commands and arguments."""
    values, problems = json_component(plugin.root, plugin.manifest, "hooks", "hooks/hooks.json")
    out = []
    for value in values:
        events = value.get("hooks", value) if isinstance(value.get("hooks"), dict) else value
        events = {k: v for k, v in events.items() if k != "description"}
        out.append(_substitute(events, plugin.variables()))
    return out, problems


def with_hooks(config: Any, found: Found, project_dir: str) -> tuple[Any, list[str], list[Plugin]]:
    """`config` (a `sous.hooks.HookConfig`) joined with the hooks of the plugins whose programs may
    run, each handler given the plugin's environment: (the config, problems, the plugins that added hooks)."""
    from sous import hooks as hook_config

    problems: list[str] = []
    added = []
    for plugin in found.plugins:
        values, more = hooks(plugin) if plugin.runs_code else ([], [])
        problems += more
        for value in values:
            env = {**plugin.variables(), "CLAUDE_PROJECT_DIR": project_dir}
            config = config.joined(hook_config.load(value, env=env, where=f"plugin {plugin.id} hooks"))
        added += [plugin] if values else []
    return config, problems, added


def mcp_servers(plugin: Plugin) -> tuple[dict[str, Any], list[str]]:
    """The plugin's MCP servers by their own names (`.mcp.json`, or `mcpServers` in the manifest)."""
    values, problems = json_component(plugin.root, plugin.manifest, "mcpServers", ".mcp.json")
    servers: dict[str, Any] = {}
    for value in values:
        inner = value.get("mcpServers")
        servers.update(inner if isinstance(inner, dict) else value)
    return servers, problems


def style_folders(plugin: Plugin) -> list[Path]:
    """The plugin's output-style folders (`output-styles/` and the manifest's `outputStyles`)."""
    return [p for p in component_paths(plugin.root, plugin.manifest, "outputStyles", "output-styles")[0] if p.is_dir()]


def _substitute(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in variables.items():
            value = value.replace("${" + name + "}", text)
        return value
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    return value
