"""Where plugins are recorded, in Claude Code's places, so that either tool sees the other's installs.

Under `~/.claude/plugins/` (`$HOME`, as for `~/.claude/settings.json`): `known_marketplaces.json`
(`{name: {source, installLocation, lastUpdated}}`), `installed_plugins.json` (version 2:
`{"version": 2, "plugins": {"name@marketplace": [{scope, installPath, version, installedAt,
lastUpdated, projectPath?}]}}`), the copies in `cache/<marketplace>/<plugin>/<version>/`, cloned
marketplaces in `marketplaces/<name>/` and each plugin's data folder in `data/<plugin>-<marketplace>/`.
`enabledPlugins` (`{"name@marketplace": true}`) and `extraKnownMarketplaces` live in the settings
file of the scope: `~/.claude/settings.json` (user), `.claude/settings.json` (project) or
`.claude/settings.local.json` (local).

Files are written whole through a temporary file; one that cannot be read as JSON is never
rewritten (`PluginError`), since rewriting it would lose what it holds.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCOPES = ("user", "project", "local")


class PluginError(Exception):
    """A plugin, marketplace or state file cannot be used; the message is one line for the person."""


def plugins_home(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("HOME") or Path.home()) / ".claude" / "plugins"


def settings_file(scope: str, cwd: str | Path, environ: Mapping[str, str] = os.environ) -> Path:
    if scope == "user":
        return Path(environ.get("HOME") or Path.home()) / ".claude" / "settings.json"
    return Path(cwd) / ".claude" / ("settings.json" if scope == "project" else "settings.local.json")


def data_dir(plugin_id: str, environ: Mapping[str, str] = os.environ) -> Path:
    """The plugin's own folder for state it keeps (`CLAUDE_PLUGIN_DATA`): `name@market` → `data/name-market`."""
    return plugins_home(environ) / "data" / re.sub(r"[^A-Za-z0-9_.-]", "-", plugin_id.replace("@", "-"))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def read_json(path: Path, default: Any) -> Any:
    """The file's JSON, `default` when it does not exist; raises `PluginError` when it cannot be read."""
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError) as e:
        raise PluginError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e}); it was left unchanged") from e
    try:
        data = json.loads(text) if text.strip() else default
    except (ValueError, RecursionError) as e:
        raise PluginError(f"{path}: not valid JSON ({type(e).__name__}); it was left unchanged") from e
    if not isinstance(data, type(default)):
        raise PluginError(f"{path}: expected a JSON object; it was left unchanged")
    return data


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)


def known_marketplaces(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    data = read_json(plugins_home(environ) / "known_marketplaces.json", {})
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def save_marketplaces(known: dict[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    write_json(plugins_home(environ) / "known_marketplaces.json", known)


def installed(environ: Mapping[str, str] = os.environ) -> dict[str, list[dict[str, Any]]]:
    """Every install record by plugin id (records that are not objects are skipped)."""
    data = read_json(plugins_home(environ) / "installed_plugins.json", {})
    plugins = data.get("plugins")
    if not isinstance(plugins, dict):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for plugin_id, records in plugins.items():
        records = records if isinstance(records, list) else [records]  # version 1 held one record
        out[str(plugin_id)] = [r for r in records if isinstance(r, dict) and isinstance(r.get("installPath"), str)]
    return out


def save_installed(plugins: dict[str, list[dict[str, Any]]], environ: Mapping[str, str] = os.environ) -> None:
    path = plugins_home(environ) / "installed_plugins.json"
    data = read_json(path, {})
    data.update(version=2, plugins={k: v for k, v in plugins.items() if v})
    write_json(path, data)


def record_applies(record: Mapping[str, Any], cwd: str | Path) -> bool:
    """A user-scope install applies everywhere; a project or local one in its project only."""
    scope = record.get("scope", "user")
    if scope == "user":
        return True
    where = record.get("projectPath")
    return isinstance(where, str) and os.path.realpath(where) == os.path.realpath(cwd)


def set_in_settings(path: Path, key: str, name: str, value: Any) -> None:
    """Set (or, with `value` None, remove) `key.name` in a settings file, keeping everything else."""
    data = read_json(path, {})
    section = data.get(key)
    if section is None:
        section = data[key] = {}
    if not isinstance(section, dict):
        raise PluginError(f"{path}: {key} is not an object; it was left unchanged")
    if value is None:
        if name not in section:
            return
        section.pop(name)
        if not section:
            data.pop(key)
    else:
        section[name] = value
    write_json(path, data)


def enabled_in(path: Path) -> dict[str, Any]:
    """`enabledPlugins` of one settings file ({} when it has none or cannot be read)."""
    try:
        section = read_json(path, {}).get("enabledPlugins")
    except PluginError:
        return {}
    return section if isinstance(section, dict) else {}
