"""Settings that make sous run a command by itself (`statusLine`, `apiKeyHelper`), kept only
when they are the user's own or approved: a project's files must not start a program before
the person has trusted them (`sous trust`), as for its hooks and MCP servers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def trusted_command(
    cfg: Any, key: str, project_trust: Any, environ: Mapping[str, str], cli_settings: str | None
) -> tuple[Any, Any]:
    """`(value, None)` when the merged `key` setting may run, `(None, entry)` when it comes from
    a project file not yet approved (`entry` names it for the one-line notice)."""
    from sous.permissions import trust

    value = cfg.get(key)
    if trust.command_of(value) is None:
        return None, None
    entry = trust.pending_command(project_trust, key, value)
    if entry is None:
        return value, None
    users = (trust.command_of(layer.get(key)) for layer in trust.user_layers(environ, cli_settings))
    if trust.command_of(value) in users:  # the user's own files name the same command
        return value, None
    return None, entry
