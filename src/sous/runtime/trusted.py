"""Settings that make sous run a command by itself (`statusLine`, `apiKeyHelper`), kept only
when they are the user's own or approved: a project's files must not start a program before
the person has trusted them (`sous trust`), as for its hooks and MCP servers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def model_resolver(
    cfg: Any, project_trust: Any, opts: Any, cwd: str, environ: Mapping[str, str]
) -> tuple[Callable[[str | None], Any], Any]:
    """`resolve(spec)` for every model of the session, with the `apiKeyHelper` when it may run,
    and the entry left out when it may not."""
    from sous.models import resolve

    command, waiting = trusted_command(cfg, "apiKeyHelper", project_trust, opts.environ, opts.settings)
    if command is None:
        return lambda spec: resolve(spec, environ), waiting
    from sous.models.key_helper import KeyHelper

    helper = KeyHelper(command, cwd=cwd, environ=environ)
    return lambda spec: resolve(spec, environ, key_helper=helper), None
