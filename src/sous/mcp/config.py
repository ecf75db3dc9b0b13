"""MCP server entries: where they come from and how `${VAR}` in them is expanded.

Scopes, as in Claude Code (the first that names a server wins, whole entry): local
(`~/.claude.json` → `projects[<project>].mcpServers`), project (`.mcp.json`), user (`~/.claude.json`
→ `mcpServers`, and `~/.sous/mcp.json`), then `--mcp-config` files or JSON (which alone count with
`--strict-mcp-config`), then the servers of enabled plugins (named `plugin_<plugin>_<server>`, with
`${CLAUDE_PLUGIN_ROOT}` and `${CLAUDE_PLUGIN_DATA}` expanded).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sous.records import field, record

from .sources import read_layers

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@record(kw_only=False)
class ServerSpec:
    name: str
    type: str = "stdio"
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float | None = None
    source: str = ""
    oauth_client_id: str = ""
    """`oauth.clientId`: a client registered beforehand with the authorization server (no dynamic registration)."""
    oauth_callback_port: int | None = None
    """`oauth.callbackPort`: the fixed port of the login's redirect listener on 127.0.0.1 (random when unset)."""


@record(frozen=False, kw_only=False)
class McpConfig:
    servers: dict[str, ServerSpec] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)
    """`.mcp.json` servers left out because the person has not approved them (project trust)."""


def expand(value: str, environ: Mapping[str, str], problems: list[str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        problems.append(f"${{{name}}} is not set")
        return match.group(0)

    return _VAR.sub(one, value)


def _spec(name: str, raw: Any, source: str, environ: Mapping[str, str], problems: list[str]) -> ServerSpec | None:
    if not isinstance(raw, dict):
        problems.append(f"{source}: server {name!r} is not an object")
        return None
    kind = raw.get("type") or ("stdio" if "command" in raw else "")
    kind = {"streamable-http": "http"}.get(kind, kind)
    if kind not in ("stdio", "http", "sse"):
        problems.append(f"{source}: server {name!r} has type {kind or 'missing'!r}; sous speaks stdio, http and sse")
        return None
    found: list[str] = []
    client_id, callback_port = _oauth(raw.get("oauth"), f"{source}: server {name!r}", problems)
    env = {k: expand(str(v), environ, found) for k, v in (raw.get("env") or {}).items()}
    spec = ServerSpec(
        name=name,
        type=kind,
        command=expand(str(raw.get("command", "")), environ, found),
        args=tuple(expand(str(a), environ, found) for a in raw.get("args") or ()),
        env=tuple(env.items()),
        url=expand(str(raw.get("url", "")), environ, found),
        headers=tuple((k, expand(str(v), environ, found)) for k, v in (raw.get("headers") or {}).items()),
        timeout_s=float(raw["timeout"]) / 1000 if raw.get("timeout") else None,
        source=source,
        oauth_client_id=client_id,
        oauth_callback_port=callback_port,
    )
    problems += [f"{source}: server {name!r}: {p}" for p in found]
    if kind == "stdio" and not spec.command:
        problems.append(f"{source}: server {name!r} needs a command")
        return None
    if kind != "stdio" and not spec.url:
        problems.append(f"{source}: server {name!r} needs a url")
        return None
    return spec


def _oauth(raw: Any, where: str, problems: list[str]) -> tuple[str, int | None]:
    """`clientId` and `callbackPort` of an entry's `oauth` object; a bad value is reported and ignored."""
    if raw is None:
        return "", None
    if not isinstance(raw, dict):
        problems.append(f"{where}: oauth must be an object")
        return "", None
    client_id = raw.get("clientId") or ""
    if not isinstance(client_id, str):
        problems.append(f"{where}: oauth.clientId must be a string")
        client_id = ""
    port = raw.get("callbackPort")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        problems.append(f"{where}: oauth.callbackPort must be a port number (1-65535)")
        port = None
    return client_id, port


def load(
    project_dir: str,
    environ: Mapping[str, str] = os.environ,
    extra: list[str] | None = None,
    strict: bool = False,
    trust: Any = None,
    plugins: Sequence[tuple[str, str, Any, Mapping[str, str]]] = (),
    layers: list[tuple[str, Any]] | None = None,
) -> McpConfig:
    """The servers to start. A `.mcp.json` server is left out (named in `untrusted`) until the
    person approves it (`sous.permissions.trust`; `trust` is that check, made here when not given).
    `plugins` holds each enabled plugin's servers as (name, source, servers, more environment for
    `${VAR}`; the caller leaves them out for `--strict-mcp-config`). `layers`: the scopes as
    `sources.read_layers` read them, when the caller has."""
    config = McpConfig()
    if layers is None:  # else the caller read them, and has their problems
        layers = read_layers(project_dir, environ, extra, strict, config.problems)
    project_source = str(Path(project_dir) / ".mcp.json")
    blocked: set[str] = set()
    if not strict:
        if trust is None:
            from sous.permissions import trust as trust_mod

            trust = trust_mod.check(project_dir, environ)
        blocked = trust.blocked_servers()
    for source, servers in layers:
        for name, raw in (servers if isinstance(servers, dict) else {}).items():
            if name in config.servers:
                continue
            if source == project_source and name in blocked:
                if name not in trust.disabled_servers:
                    config.untrusted.append(name)
                continue
            if spec := _spec(name, raw, source, environ, config.problems):
                config.servers[name] = spec
    for plugin, source, servers, more in plugins:
        for name, raw in (servers if isinstance(servers, dict) else {}).items():
            full = f"plugin_{plugin}_{name}"
            if full not in config.servers and (spec := _spec(full, raw, source, {**environ, **more}, config.problems)):
                config.servers[full] = spec
    return config
