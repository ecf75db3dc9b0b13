"""What the project's files set, kept only when the person trusted them (`sous trust`), as for its
hooks and MCP servers: the settings that make sous run a command by itself (`statusLine`,
`apiKeyHelper`), and what its agent definitions, commands and skills grant (`definitions_gate`).
The grants of its settings files are left out before the merge (`permissions.project_grants.load`),
so that no part of the session sees them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


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


def definitions_gate(project_trust: Any, cwd: str, environ: Mapping[str, str], left_out: list[Any]) -> Any:
    """`gate(found)`: agent definitions or commands by name, each of the project's own that grants
    what the person has not approved (a wide `permissionMode`, `allowed-tools`) without that grant;
    what was taken away is added to `left_out` (once)."""
    from sous.permissions import project_grants, trust

    roots = project_grants.project_roots(cwd, environ)
    approved = project_trust.approved()

    def gate(found: dict[str, Any]) -> dict[str, Any]:
        out = dict(found)
        for name, item in found.items():
            if (grant := project_grants.definition_grant(item, roots)) is None:
                continue
            kind, value, source = grant
            key = trust.digest(kind, item.name, "", value)
            if key in approved:
                continue
            out[name] = project_grants.without_grant(item)
            if all(e.digest != key for e in left_out):
                detail = project_grants.detail(kind, value)
                left_out.append(trust.Entry(kind=kind, name=item.name, detail=detail, source=source, digest=key))
        return out

    return gate
