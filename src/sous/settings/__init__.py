"""Settings from layered JSON files, merged into one dict.

Layers, lowest first: user (`~/.claude/settings.json`, then `~/.sous/settings.json`), project
(`.claude/settings.json`, `.sous/settings.json`), local (the same names with `.local.json`), then
`--settings FILE|JSON`. Merge rule: objects merge key by key, lists concatenate (without
duplicates), any other value is taken from the highest layer that sets it. A malformed file is
reported in one line naming the file, line and column, and skipped; the other layers still load.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sous.paths import config_dir


USED_KEYS = {"model", "env", "permissions", "hooks", "disableAllHooks", "preToolUseHookFailure", "sandbox"}
"""The settings sous reads; any other key is left alone (and listed by `sous config`)."""


@dataclass(slots=True, kw_only=True)
class Settings:
    values: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    """The files that were read, lowest layer first."""
    problems: list[str] = field(default_factory=list)
    """One line per layer that could not be used."""
    origins: dict[str, str] = field(default_factory=dict)
    """Which layer each value came from: `"model"`, or `'permissions.allow["Bash(ls)"]'` for a
    list item (the first layer that listed it)."""

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


def load(cwd: str | Path, cli_settings: str | None = None, *, bare: bool = False,
         environ: Mapping[str, str] = os.environ) -> Settings:
    """Read every layer that exists; never raises for a bad file (see `Settings.problems`)."""
    settings = Settings()
    files = [] if bare else layer_files(cwd, environ)
    for path in files:
        if path.is_file():
            _apply(settings, str(path), path.read_text("utf-8", errors="replace"))
    if cli_settings:
        text = cli_settings
        name = "--settings"
        if not cli_settings.lstrip().startswith("{"):
            name = cli_settings
            try:
                text = Path(cli_settings).read_text("utf-8")
            except OSError as e:
                settings.problems.append(f"{cli_settings}: cannot read settings file: {e.strerror}")
                return settings
        _apply(settings, name, text)
    return settings


def _apply(settings: Settings, name: str, text: str) -> None:
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        settings.problems.append(f"{name}:{e.lineno}:{e.colno}: invalid JSON ({e.msg}); this file was skipped")
        return
    if not isinstance(data, dict):
        settings.problems.append(f"{name}: settings must be a JSON object; this file was skipped")
        return
    settings.values = merge(settings.values, data)
    settings.sources.append(name)
    _record(settings, name, data, "")


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
