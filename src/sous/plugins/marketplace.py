"""Marketplaces: catalogues of plugins, `.claude-plugin/marketplace.json` in a folder or a git repository.

A local folder is read in place; a git URL (or `owner/repo` on GitHub) is cloned into
`~/.claude/plugins/marketplaces/<name>/` and `update` pulls it. The catalogue names each plugin
and its `source`: a path inside the marketplace (`./plugins/x`, or a bare name under
`metadata.pluginRoot`), or a git repository (`{"source": "github", "repo": "owner/repo"}`,
`{"source": "url", "url": "..."}`, `{"source": "git", "url": "..."}`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import store
from .manifest import NAME, inside
from .store import PluginError

CATALOGUE = Path(".claude-plugin") / "marketplace.json"
GIT_TIMEOUT_S = 300.0
_GITHUB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def read_catalogue(root: Path) -> dict[str, Any]:
    """The marketplace's catalogue; raises `PluginError` when it is missing or malformed."""
    path = root / CATALOGUE
    try:
        data = json.loads(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except FileNotFoundError as e:
        raise PluginError(f"{root}: not a marketplace (no {CATALOGUE})") from e
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise PluginError(f"{path}: cannot be read as JSON ({type(e).__name__})") from e
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not NAME.match(data["name"]):
        raise PluginError(f"{path}: needs a \"name\" of letters, digits, '.', '_' or '-'")
    if not isinstance(data.get("plugins"), list):
        raise PluginError(f'{path}: needs a "plugins" list')
    return data


def git_url(source: str) -> str | None:
    """The URL to clone for `source`, or None when it is not a git source."""
    if source.startswith(("https://", "http://", "ssh://", "git://", "file://", "git@")) or source.endswith(".git"):
        return source
    if _GITHUB.match(source) and not Path(source).exists():
        return f"https://github.com/{source}.git"
    return None


def _git(args: list[str], cwd: Path | None = None) -> None:
    """Run git; every URL, path and ref a marketplace names goes after `--`, so none is read as an
    option (`--upload-pack=...` runs a command), and `ext::` URLs (which run one too) are refused."""
    try:
        done = subprocess.run(
            ["git", "-c", "protocol.ext.allow=never", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},  # never wait for a password nobody types
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PluginError(f"git {args[0]} failed: {e}") from e
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PluginError(f"git {args[0]} failed: {last}")


def clone(url: str, parent: Path) -> Path:
    """Clone `url` (shallow) into a new folder under `parent`; raises `PluginError`."""
    parent.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=".clone-", dir=parent))
    try:
        _git(["clone", "--depth", "1", "--", url, str(target)])
    except PluginError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def add(source: str, environ: Mapping[str, str] = os.environ) -> tuple[str, dict[str, Any]]:
    """Add a marketplace from a local folder or a git source; returns (its name, its record)."""
    known = store.known_marketplaces(environ)
    url = git_url(source)
    if url is None:
        root = Path(source).expanduser().resolve()
        if root.is_file() and root.name == CATALOGUE.name:  # the catalogue file itself
            root = root.parent.parent
        name = read_catalogue(root)["name"]
        entry: dict[str, Any] = {"source": {"source": "directory", "path": str(root)}, "installLocation": str(root)}
    else:
        folder = store.plugins_home(environ) / "marketplaces"
        cloned = clone(url, folder)
        try:
            name = read_catalogue(cloned)["name"]
        except PluginError:
            shutil.rmtree(cloned, ignore_errors=True)
            raise
        if name in known:
            shutil.rmtree(cloned, ignore_errors=True)
            raise PluginError(
                f"a marketplace named {name!r} is already added; remove it first: sous plugin marketplace remove {name}"
            )
        final = folder / name
        shutil.rmtree(final, ignore_errors=True)
        cloned.rename(final)
        github = source if _GITHUB.match(source) and url != source else None
        described = {"source": "github", "repo": github} if github else {"source": "git", "url": url}
        entry = {"source": described, "installLocation": str(final)}
    if name in known and known[name].get("installLocation") != entry["installLocation"]:
        raise PluginError(
            f"a marketplace named {name!r} is already added; remove it first: sous plugin marketplace remove {name}"
        )
    entry["lastUpdated"] = store.now()
    known[name] = entry
    store.save_marketplaces(known, environ)
    return name, entry


def remove(name: str, environ: Mapping[str, str] = os.environ) -> None:
    known = store.known_marketplaces(environ)
    if name not in known:
        raise PluginError(f"no marketplace named {name!r}; added: {', '.join(sorted(known)) or 'none'}")
    entry = known.pop(name)
    location = Path(str(entry.get("installLocation") or ""))
    if location.is_relative_to(store.plugins_home(environ) / "marketplaces") and location.is_dir():
        shutil.rmtree(location, ignore_errors=True)  # a clone sous made; a local folder is the user's
    store.save_marketplaces(known, environ)


def update(name: str, environ: Mapping[str, str] = os.environ) -> str:
    """Pull a cloned marketplace; one line saying what was done."""
    known = store.known_marketplaces(environ)
    if name not in known:
        raise PluginError(f"no marketplace named {name!r}; added: {', '.join(sorted(known)) or 'none'}")
    entry = known[name]
    location = Path(str(entry.get("installLocation") or ""))
    if (entry.get("source") or {}).get("source") == "directory":
        read_catalogue(location)
        return f"{name}: a local folder, read in place; nothing to update"
    _git(["pull", "--ff-only"], cwd=location)
    read_catalogue(location)
    entry["lastUpdated"] = store.now()
    store.save_marketplaces(known, environ)
    return f"{name}: updated"


def all_known(settings_extra: Any, environ: Mapping[str, str] = os.environ) -> dict[str, dict[str, Any]]:
    """Added marketplaces, and local-folder ones named in `extraKnownMarketplaces` (git ones there
    must be added first, since adding one clones it)."""
    known = store.known_marketplaces(environ)
    for name, raw in (settings_extra if isinstance(settings_extra, dict) else {}).items():
        source = raw.get("source") if isinstance(raw, dict) else None
        local = isinstance(source, dict) and source.get("source") == "directory"
        if name not in known and local and NAME.match(str(name)) and isinstance(source, dict):
            known[name] = {"source": source, "installLocation": str(source.get("path") or "")}
    return known


def find_plugin(plugin: str, market: str | None, known: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any], Path]:
    """(marketplace name, the plugin's catalogue entry, the marketplace folder) for `plugin`."""
    names = [market] if market else sorted(known)
    if market and market not in known:
        raise PluginError(f"no marketplace named {market!r}; add it: sous plugin marketplace add SOURCE")
    hits = []
    for name in names:
        root = Path(str(known[name].get("installLocation") or ""))
        entries = read_catalogue(root)["plugins"]
        hits += [(name, e, root) for e in entries if isinstance(e, dict) and e.get("name") == plugin]
    if not hits:
        where = f"marketplace {market}" if market else "any added marketplace"
        raise PluginError(f"no plugin named {plugin!r} in {where}")
    if len(hits) > 1:
        raise PluginError(
            f"{plugin!r} is in several marketplaces; name one: {', '.join(f'{plugin}@{h[0]}' for h in hits)}"
        )
    return hits[0]


def fetch_source(entry: dict[str, Any], root: Path, catalogue: dict[str, Any], scratch: Path) -> Path:
    """The folder holding the plugin of catalogue `entry`: inside the marketplace, or cloned into `scratch`."""
    source = entry.get("source")
    if isinstance(source, str):
        base = (
            (catalogue.get("metadata") or {}).get("pluginRoot") if isinstance(catalogue.get("metadata"), dict) else None
        )
        relative = source if source.startswith("./") or not base else f"{base.rstrip('/')}/{source}"
        path = inside(root, relative)
        if path is None or not path.is_dir():
            raise PluginError(
                f"{root / CATALOGUE}: plugin {entry.get('name')!r}: {source!r} is not a folder inside the marketplace"
            )
        return path
    if isinstance(source, dict) and source.get("source") in ("github", "url", "git"):
        url = f"https://github.com/{source.get('repo')}.git" if source["source"] == "github" else source.get("url")
        if not isinstance(url, str) or not url:
            raise PluginError(f"plugin {entry.get('name')!r}: its git source has no repository")
        cloned = clone(url, scratch)
        if isinstance(ref := source.get("ref") or source.get("sha"), str):
            _git(["fetch", "--depth", "1", "--", "origin", ref], cwd=cloned)
            _git(["checkout", "FETCH_HEAD"], cwd=cloned)
        return cloned
    raise PluginError(f"plugin {entry.get('name')!r}: source {source!r} is not one sous can install")
