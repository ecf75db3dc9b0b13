"""Settings from layered JSON files, merged into one dict.

Layers, lowest first: user (`~/.claude/settings.json`, then `~/.sous/settings.json`), project
(`.claude/settings.json`, `.sous/settings.json`), local (the same names with `.local.json`), then
`--settings FILE|JSON`, then the managed policy: `/etc/claude-code/managed-settings.json` and
the files of `/etc/claude-code/managed-settings.d/` in name order (`SOUS_MANAGED_SETTINGS` names
another file in place of the first; its folder's `managed-settings.d` is read then). Managed
values win over every other layer and `--bare` does not skip them. With `allowManagedHooksOnly`
only the managed hooks run, with `allowManagedPermissionRulesOnly` only the managed permission
rules count, and a lower layer's `disableAllHooks` leaves the managed hooks running.
Merge rule: objects merge key by key, lists concatenate (without
duplicates), any other value is taken from the highest layer that sets it.

Each layer is checked once, before the merge (`schema.check`): a value of the wrong type is
dropped with a one-line warning, or, where dropping it could widen permissions (a broken deny
list), recorded as an error that stops sous from starting (`Settings.require_valid`). A file
that exists but cannot be read or parsed (invalid JSON, comments, not UTF-8, unreadable) is an
error too: it may hold deny rules, and sous cannot tell which. A UTF-8 byte-order mark is allowed.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from sous.core import ConfigError
from sous.paths import config_dir
from sous.records import field, record

from . import schema

MAX_FILE_BYTES = 4 * 2**20
"""A settings file is a few kilobytes; past this it is something else, and is not read whole."""

USED_KEYS = {
    "$schema",
    "model",
    "env",
    "permissions",
    "hooks",
    "disableAllHooks",
    "preToolUseHookFailure",
    "sandbox",
    "autoMode",
    "webSearch",
    "cleanupPeriodDays",
    "autoCompactEnabled",
    "autoCompactWindow",
    "fileCheckpointingEnabled",
    "enableAllProjectMcpServers",
    "enabledMcpjsonServers",
    "disabledMcpjsonServers",
    "statusLine",
    "outputStyle",
    "apiKeyHelper",
    "includeCoAuthoredBy",
    "attribution",
    "allowManagedHooksOnly",
    "allowManagedPermissionRulesOnly",
    "enabledPlugins",
    "extraKnownMarketplaces",
}
"""The settings sous reads; any other key is left alone (and listed by `sous config`)."""
MANAGED_FILE = Path("/etc/claude-code/managed-settings.json")
"""Where Claude Code reads the system-wide policy on Linux (`SOUS_MANAGED_SETTINGS` overrides)."""


@record(frozen=False)
class Settings:
    values: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    """The files that were read, lowest layer first."""
    problems: list[str] = field(default_factory=list)
    """Warnings, one line each: values that were dropped (sous goes on without them)."""
    errors: list[str] = field(default_factory=list)
    """One line per file or value that makes the settings unusable: sous must not start."""
    managed: dict[str, Any] = field(default_factory=dict)
    """The managed policy's own values (merged into `values` last)."""
    origins: dict[str, str] = field(default_factory=dict)
    """Which layer each value came from: `"model"`, or `'permissions.allow["Bash(ls)"]'` for a
    list item (the first layer that listed it)."""

    def require_valid(self) -> None:
        """Raise `ConfigError` (one line per error) when a layer could not be used safely."""
        if self.errors:
            raise ConfigError("\n".join(self.errors))

    def unknown_keys(self) -> list[str]:
        """Top-level keys sous does not use (Claude Code-only keys among them): ignored, not errors."""
        return sorted(k for k in self.values if k not in USED_KEYS)

    def explain(self) -> list[str]:
        """Every value as `key = value  # source`, one list item per line (for `sous config`)."""
        lines: list[str] = []

        def walk(node: dict[str, Any], prefix: str) -> None:
            for key, value in node.items():
                dotted = prefix + key
                if isinstance(value, dict) and value:
                    walk(value, dotted + ".")
                elif isinstance(value, list):
                    for item in value:
                        origin = self.origins.get(f"{dotted}[{json.dumps(item, sort_keys=True)}]", "?")
                        lines.append(f"{dotted}[] = {json.dumps(item)}  # {origin}")
                else:
                    lines.append(f"{dotted} = {json.dumps(value)}  # {self.origins.get(dotted, '?')}")

        walk(self.values, "")
        return lines

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    """Merge two layers; `high` wins for scalars. Neither input is modified."""
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
        else:
            out[key] = value
    return out


LAYER_SOURCES = ("user", "user", "project", "project", "local", "local")
"""The `--setting-sources` name of each of `layer_files`, in the same order."""


def layer_files(cwd: str | Path, environ: Mapping[str, str] = os.environ) -> list[Path]:
    home = Path(environ.get("HOME") or Path.home())
    project = Path(cwd)
    return [
        home / ".claude" / "settings.json",
        config_dir(environ) / "settings.json",
        project / ".claude" / "settings.json",
        project / ".sous" / "settings.json",
        project / ".claude" / "settings.local.json",
        project / ".sous" / "settings.local.json",
    ]


def load(
    cwd: str | Path,
    cli_settings: str | None = None,
    *,
    bare: bool = False,
    environ: Mapping[str, str] = os.environ,
    check_rule: Callable[[str], object] | None = None,
    sources: Collection[str] | None = None,
    gate: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
) -> Settings:
    """Read and check every layer that exists; never raises (see `problems` and `errors`).
    `check_rule` parses a permission rule (raising `ValueError`), so that an unreadable deny or
    ask rule is an error naming its file; without it rules are not looked at here. `sources` keeps
    only those layers (`user`, `project`, `local`; None = all); managed and `cli_settings` stay.
    `gate(file, values)` filters each project and local layer after its check, before the merge
    (what a project grants before it is trusted is left out: `permissions.project_grants`)."""
    settings = Settings()
    layers = zip(layer_files(cwd, environ), LAYER_SOURCES, strict=True)
    files = [] if bare else [(path, source) for path, source in layers if sources is None or source in sources]
    for path, source in files:
        if (text := _read(settings, path)) is not None:
            _apply(settings, str(path), text, check_rule, gate if source != "user" else None)
    if cli_settings:
        if cli_settings.lstrip().startswith("{"):
            _apply(settings, "--settings", cli_settings, check_rule)
        elif (text := _read(settings, Path(cli_settings), given=True)) is not None:
            _apply(settings, cli_settings, text, check_rule)
    below = settings.values
    for path in managed_files(environ):
        if (text := _read(settings, path)) is not None:
            settings.managed = merge(settings.managed, _apply(settings, str(path), text, check_rule))
    if settings.managed:
        _enforce(settings, below)
    return settings


def managed_files(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """The managed policy files, in the order they are merged."""
    main = Path(environ.get("SOUS_MANAGED_SETTINGS") or MANAGED_FILE)
    folder = main.parent / "managed-settings.d"
    try:
        extra = sorted(p for p in folder.glob("*.json") if p.is_file())
    except OSError:
        extra = []
    return [main, *extra]


def _enforce(settings: Settings, below: dict[str, Any]) -> None:
    """The managed keys that narrow what the other layers may add."""
    managed, values = settings.managed, settings.values
    if managed.get("allowManagedHooksOnly") is True:
        values["hooks"] = managed.get("hooks") or {}
    elif below.get("disableAllHooks") is True and managed.get("hooks") and managed.get("disableAllHooks") is not True:
        values["hooks"], values["disableAllHooks"] = managed["hooks"], False  # only the managed ones run
    if managed.get("allowManagedPermissionRulesOnly") is True:
        permissions = dict(values.get("permissions") or {})
        for key in ("allow", "ask", "deny"):
            permissions[key] = list((managed.get("permissions") or {}).get(key) or [])
        values["permissions"] = permissions


def _read(settings: Settings, path: Path, given: bool = False) -> str | None:
    """The text of a layer file; None when there is none to use (each failure reported once).
    A missing layer is normal unless the file was named on the command line."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):  # it cannot hold settings, so nothing is lost by going on
            settings.problems.append(f"{path}: is a directory, not a settings file; ignored")
            return None
        if not stat.S_ISREG(mode):  # a FIFO would block the start forever
            settings.errors.append(
                f"{path}: not a regular file; sous will not start without it "
                "(it may hold restrictions): replace it with a settings file"
            )
            return None
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        if given:
            settings.errors.append(f"{path}: cannot read settings file: no such file")
        return None
    except OSError as e:
        settings.errors.append(
            f"{path}: cannot read settings file: {e.strerror or e}; "
            "sous will not start without it (it may hold restrictions)"
        )
        return None
    if len(data) > MAX_FILE_BYTES:
        settings.errors.append(
            f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB, not a settings file; "
            "sous will not start without it (it may hold restrictions)"
        )
        return None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        settings.errors.append(
            f"{path}: not UTF-8 text (byte {e.start}); sous will not start without it "
            "(it may hold restrictions): save it as UTF-8"
        )
        return None


def _apply(
    settings: Settings,
    name: str,
    text: str,
    check_rule: Callable[[str], object] | None,
    gate: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Check (and `gate`) and merge one layer; returns its checked values ({} when unusable)."""
    try:
        data = json.loads(text) if text.strip() else {}
    except RecursionError:
        settings.errors.append(
            f"{name}: invalid JSON (nested too deeply); sous will not start without it (it may hold restrictions)"
        )
        return {}
    except json.JSONDecodeError as e:
        settings.errors.append(
            f"{name}:{e.lineno}:{e.colno}: invalid JSON ({e.msg}; comments and trailing "
            "commas are not allowed); sous will not start without it (it may hold restrictions)"
        )
        return {}
    if not isinstance(data, dict):
        settings.errors.append(
            f"{name}: settings must be a JSON object, not {schema.kind(data)}; "
            "sous will not start without it (it may hold restrictions)"
        )
        return {}
    checked = schema.check(name, data, check_rule=check_rule)
    settings.problems += checked.warnings
    settings.errors += checked.errors
    values = gate(name, checked.values) if gate is not None else checked.values
    settings.values = merge(settings.values, values)
    settings.sources.append(name)
    _record(settings, name, values, "")
    return values


def _record(settings: Settings, name: str, data: dict[str, Any], prefix: str) -> None:
    for key, value in data.items():
        dotted = prefix + key
        if isinstance(value, dict) and value:
            _record(settings, name, value, dotted + ".")
        elif isinstance(value, list):
            for item in value:
                settings.origins.setdefault(f"{dotted}[{json.dumps(item, sort_keys=True)}]", name)
        else:
            settings.origins[dotted] = name
