"""Where MCP servers are configured: each scope's `mcpServers`, read from its file or flag.

The scopes, first that names a server wins, are described in `config`. A session reads them here
first, and imports `config` (and the rest of `sous.mcp`) only when one of them names a server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sous import paths


def read_layers(
    project_dir: str, environ: Mapping[str, str], extra: list[str] | None, strict: bool, problems: list[str]
) -> list[tuple[str, Any]]:
    """(where, its `mcpServers` as read) for each scope, first that wins first: only the `extra`
    files and JSON (`--mcp-config`) when `strict`. A file that cannot be read adds a line to
    `problems` and names no server."""
    home = Path(environ.get("HOME") or Path.home())
    claude_json = _read(home / ".claude.json", problems)
    layers: list[tuple[str, Any]] = []
    for item in extra or []:
        if item.lstrip().startswith("{"):
            try:
                layers.append(("--mcp-config", json.loads(item).get("mcpServers", {})))
            except ValueError as e:
                problems.append(f"--mcp-config: invalid JSON: {e}")
        else:
            layers.append((item, _read(Path(item), problems).get("mcpServers", {})))
    if not strict:
        project_entry = (claude_json.get("projects") or {}).get(str(Path(project_dir).resolve()), {})
        layers = [
            ("~/.claude.json (local)", project_entry.get("mcpServers", {})),
            (
                str(Path(project_dir) / ".mcp.json"),
                _read(Path(project_dir) / ".mcp.json", problems).get("mcpServers", {}),
            ),
            ("~/.claude.json (user)", claude_json.get("mcpServers", {})),
            (
                str(paths.config_dir(environ) / "mcp.json"),
                _read(paths.config_dir(environ) / "mcp.json", problems).get("mcpServers", {}),
            ),
            *layers,
        ]
    return layers


def names_a_server(layers: list[tuple[str, Any]]) -> bool:
    return any(isinstance(servers, dict) and servers for _, servers in layers)


def _read(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        problems.append(f"{path}: cannot read MCP servers: {e}")
        return {}
    return data if isinstance(data, dict) else {}


__all__ = ["names_a_server", "read_layers"]
