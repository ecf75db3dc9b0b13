"""Settings that make sous run a command by itself (`statusLine`, `apiKeyHelper`), kept only
when they are the user's own or approved: a project's files must not start a program before
the person has trusted them (`sous trust`), as for its hooks and MCP servers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def project_trust_of(cwd: str, environ: Mapping[str, str], cli_settings: str | None) -> Any:
    """What the project's own files would run (`permissions.trust.check`), or None when the project
    has none of the files that check reads (`.mcp.json`, the project's settings files): nothing is
    pending then, and `permissions.trust` is not imported. The hooks and MCP servers, which need
    the whole state, check it themselves when it is None (`checked`)."""
    from sous.settings import layer_files

    if not any(p.exists() for p in [Path(cwd) / ".mcp.json", *layer_files(cwd, environ)[2:]]):
        return None
    return checked(None, cwd, environ, cli_settings)


def checked(project_trust: Any, cwd: str, environ: Mapping[str, str], cli_settings: str | None) -> Any:
    """`project_trust`, or the project's checked now when it is None (see `project_trust_of`)."""
    if project_trust is not None:
        return project_trust
    from sous.permissions import trust

    return trust.check(cwd, environ, cli_settings)


def trusted_command(
    cfg: Any, key: str, project_trust: Any, environ: Mapping[str, str], cli_settings: str | None
) -> tuple[Any, Any]:
    """`(value, None)` when the merged `key` setting may run, `(None, entry)` when it comes from
    a project file not yet approved (`entry` names it for the one-line notice)."""
    value = cfg.get(key)
    if not value:  # names no command
        return None, None
    from sous.permissions import trust

    if trust.command_of(value) is None:
        return None, None
    entry = trust.pending_command(project_trust, key, value) if project_trust is not None else None
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
