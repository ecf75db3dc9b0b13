"""Installing, removing, enabling and disabling plugins, with the state in Claude Code's places.

Installing copies the plugin into `~/.claude/plugins/cache/<marketplace>/<plugin>/<version>/`,
records it in `installed_plugins.json` (a project or local install names its project) and sets
`enabledPlugins["name@marketplace"]: true` in the scope's settings file. Nothing is recorded
until the copy is complete, so a failure leaves the earlier state as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import marketplace, store
from .manifest import read_manifest
from .store import PluginError


def split_id(plugin_id: str) -> tuple[str, str | None]:
    name, _, market = plugin_id.partition("@")
    if not name:
        raise PluginError(f"{plugin_id!r} is not a plugin name (NAME or NAME@MARKETPLACE)")
    return name, market or None


def _record_for(records: list[dict[str, Any]], scope: str, cwd: str) -> dict[str, Any] | None:
    for record in records:
        if record.get("scope", "user") == scope and (scope == "user" or store.record_applies(record, cwd)):
            return record
    return None


def install(plugin_id: str, scope: str, cwd: str, settings_extra: Any, environ: Mapping[str, str] = os.environ) -> str:
    """Install and enable a plugin; returns one line saying what was done."""
    name, market = split_id(plugin_id)
    known = marketplace.all_known(settings_extra, environ)
    if market and market not in known and (source := _git_source(settings_extra, market)):
        added, _ = marketplace.add(
            source, environ
        )  # named by the project's settings; installing from it is the consent
        if added != market:  # it would stay added under a name the person never typed
            marketplace.remove(added, environ)
            raise PluginError(f"{source} holds the marketplace {added!r}, not {market!r}; it was not added")
        known = marketplace.all_known(settings_extra, environ)
    market, entry, root = marketplace.find_plugin(name, market, known)
    full_id = f"{name}@{market}"
    catalogue = marketplace.read_catalogue(root)
    home = store.plugins_home(environ)
    settings = store.settings_file(scope, cwd, environ)
    store.read_json(settings, {})  # one that cannot be updated stops the install before anything is copied
    records = store.installed(environ)
    with tempfile.TemporaryDirectory(dir=_made(home)) as scratch:
        folder = marketplace.fetch_source(entry, root, catalogue, Path(scratch))
        manifest, problem = read_manifest(folder, name)
        if manifest is None:
            raise PluginError(problem)
        if manifest["name"] != name:
            raise PluginError(f"{folder}: the plugin calls itself {manifest['name']!r}, not {name!r}")
        version = str(manifest.get("version") or entry.get("version") or _commit(folder) or "unknown")
        target = home / "cache" / market / name / _folder_name(version)
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            shutil.copytree(folder, staging, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        except OSError as e:  # a file it cannot read, a named pipe, a full disk
            shutil.rmtree(staging, ignore_errors=True)
            raise PluginError(f"{folder}: cannot be copied ({_copy_problem(e)})") from e
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    mine = records.setdefault(full_id, [])
    record = _record_for(mine, scope, cwd)
    now = store.now()
    if record is None:
        record = {"scope": scope, "installedAt": now}
        if scope != "user":
            record["projectPath"] = os.path.realpath(cwd)
        mine.append(record)
    record.update(installPath=str(target), version=version, lastUpdated=now)
    store.set_in_settings(settings, "enabledPlugins", full_id, True)
    store.save_installed(records, environ)
    return f"installed {full_id} {version} ({scope} scope), enabled"


def uninstall(plugin_id: str, scope: str, cwd: str, environ: Mapping[str, str] = os.environ) -> str:
    full_id = resolve_id(plugin_id, environ)
    records = store.installed(environ)
    record = _record_for(records.get(full_id, []), scope, cwd)
    if record is None:
        raise PluginError(f"{full_id} is not installed at {scope} scope{' here' if scope != 'user' else ''}")
    records[full_id].remove(record)
    store.set_in_settings(store.settings_file(scope, cwd, environ), "enabledPlugins", full_id, None)
    store.save_installed(records, environ)
    path = Path(record["installPath"])
    still_used = any(r.get("installPath") == str(path) for rs in records.values() for r in rs)
    if not still_used and path.is_relative_to(store.plugins_home(environ) / "cache"):
        shutil.rmtree(path, ignore_errors=True)
    return f"uninstalled {full_id} ({scope} scope)"


def set_enabled(plugin_id: str, on: bool, scope: str, cwd: str, environ: Mapping[str, str] = os.environ) -> str:
    """`enabledPlugins[id]` in the scope's settings file. Enabling for a project or local scope
    records the plugin for this project too: that record is the person's consent to its programs."""
    full_id = resolve_id(plugin_id, environ)
    records = store.installed(environ)
    usable = [r for r in records.get(full_id, []) if store.record_applies(r, cwd)]
    if not usable:
        raise PluginError(f"{full_id} is not installed here: sous plugin install {full_id}")
    if on and scope != "user" and _record_for(usable, scope, cwd) is None:
        now = store.now()
        extra = {**usable[0], "scope": scope, "projectPath": os.path.realpath(cwd), "installedAt": now}
        records[full_id].append({**extra, "lastUpdated": now})
        store.save_installed(records, environ)
    store.set_in_settings(store.settings_file(scope, cwd, environ), "enabledPlugins", full_id, on)
    done = f"{'enabled' if on else 'disabled'} {full_id} ({scope} scope)"
    for higher in store.SCOPES[store.SCOPES.index(scope) + 1 :]:  # project over user, local over both
        value = store.enabled_in(store.settings_file(higher, cwd, environ)).get(full_id)
        if isinstance(value, bool) and value != on:
            path = store.settings_file(higher, cwd, environ)
            return f"{done}; but {path} turns it {'on' if value else 'off'} and wins here (--scope {higher})"
    return done


def resolve_id(plugin_id: str, environ: Mapping[str, str] = os.environ) -> str:
    """`name@market` as given, or the one installed plugin called `name`."""
    name, market = split_id(plugin_id)
    if market:
        return plugin_id
    ids = [i for i in store.installed(environ) if i.partition("@")[0] == name]
    if len(ids) != 1:
        raise PluginError(f"name the marketplace: {', '.join(ids)}" if ids else f"no installed plugin named {name!r}")
    return ids[0]


def listing(cwd: str, enabled: Any, environ: Mapping[str, str] = os.environ) -> list[dict[str, Any]]:
    """One entry per install that applies here: id, version, scope, enabled, installPath (and projectPath)."""
    on = enabled if isinstance(enabled, dict) else {}
    out = []
    for plugin_id, records in sorted(store.installed(environ).items()):
        for record in records:
            if not store.record_applies(record, cwd):
                continue
            entry = {
                "id": plugin_id,
                "version": str(record.get("version") or ""),
                "scope": record.get("scope", "user"),
                "enabled": on.get(plugin_id) is True,
                "installPath": record["installPath"],
            }
            if record.get("projectPath"):
                entry["projectPath"] = record["projectPath"]
            out.append(entry)
    return out


def _copy_problem(error: OSError) -> str:
    """The first reason `shutil.copytree` gives (it gathers one `(source, target, why)` per file)."""
    failures = error.args[0] if isinstance(error, shutil.Error) and error.args else None
    if isinstance(failures, list) and failures and isinstance(failures[0], tuple) and len(failures[0]) == 3:
        return str(failures[0][2])
    return str(error)


def _folder_name(version: str) -> str:
    """A version as one safe path segment (a manifest could say `../..`)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]", "-", version).lstrip(".")
    return cleaned or "unknown"


def _git_source(settings_extra: Any, market: str) -> str | None:
    """The git URL `extraKnownMarketplaces[market]` names, if any."""
    raw = settings_extra.get(market) if isinstance(settings_extra, dict) else None
    source = raw.get("source") if isinstance(raw, dict) else None
    if not isinstance(source, dict):
        return None
    if source.get("source") == "github" and isinstance(source.get("repo"), str):
        return str(source["repo"])
    url = source.get("url")
    return url if source.get("source") in ("git", "url") and isinstance(url, str) else None


def _commit(folder: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
