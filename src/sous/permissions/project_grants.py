"""Grants from a project's own files, used only once the person has trusted the project.

A cloned repository's settings files can widen what sous lets happen without asking: `env`
(`ANTHROPIC_BASE_URL` would send the user's key elsewhere; `PATH`, `LD_PRELOAD`, `GIT_*`,
`BASH_ENV` change what runs), `permissions.allow` rules, a wider `permissions.defaultMode`
(`acceptEdits`, `bypassPermissions`, `auto`), the judge of `auto` mode (`autoMode.judgeModel`), a
`model` that reads a file the project names (`scripted:FILE` replays its calls, `local:PATH.gguf`),
the server the model's web searches go to (`webSearch.searxng`),
PreToolUse hooks that fail open (`preToolUseHookFailure: "continue"`), how long the user's
sessions of every project are kept (`cleanupPeriodDays`) and sandbox loosening
(`sandbox.enabled: false`, excluded commands, write paths, network domains...). Its agent
definitions can carry a wide `permissionMode`, and its commands and skills an `allowed-tools`
list. Each is a trust `Entry` (kinds `env`, `rule`, `mode`, `judge`, `model`, `search`, `failopen`, `retention`,
`sandbox`, `agent`, `skill`) hashed over everything that decides what it grants, approved like a project's
hooks (`sous trust`); a pending one is left out.

What only restricts is never gated: `deny` and `ask` rules, the modes `default`, `plan` and
`dontAsk`, `sandbox.enabled: true` and the other sandbox values that narrow.

The gate keeps what is *approved*, not what is not pending: a grant whose hash is unknown (the
file changed after the trust check, a value read differently) is left out too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

GrantKind = Literal["env", "rule", "mode", "judge", "model", "search", "failopen", "retention", "sandbox"]
DefinitionKind = Literal["agent", "skill"]

WIDER_MODES = ("acceptEdits", "bypassPermissions", "auto")
"""Modes that let calls through that `default` would ask about; a project's own needs trust."""

WIDENS_WHEN_TRUE = {
    "autoAllowBashIfSandboxed",
    "allowUnsandboxedCommands",
    "enableWeakerNestedSandbox",
    "network.allowAllUnixSockets",
    "network.allowLocalBinding",
}
"""Sandbox switches whose `true` widens; any other value of theirs restricts (read as not `true`),
so it is never left out: leaving out `"no"` would restore a wider default."""


def setting_grants(layer: dict[str, Any]) -> Iterator[tuple[GrantKind, str, Any]]:
    """Every grant in one settings layer as `(kind, name, value)`; `value` is what is hashed."""
    env = layer.get("env")
    for key, value in env.items() if isinstance(env, dict) else []:
        yield "env", str(key), value
    permissions = layer.get("permissions")
    if isinstance(permissions, dict):
        allow = permissions.get("allow")
        for rule in allow if isinstance(allow, list) else []:
            if isinstance(rule, str):
                yield "rule", rule, rule
        if (mode := permissions.get("defaultMode")) in WIDER_MODES:
            yield "mode", str(mode), mode
    if layer.get("preToolUseHookFailure") == "continue":  # the user's guard hooks would fail open
        yield "failopen", "preToolUseHookFailure", "continue"
    days = layer.get("cleanupPeriodDays")  # deletes the user's sessions of every project; odd values delete nothing
    if isinstance(days, (int, float)) and not isinstance(days, bool) and days >= 1:
        yield "retention", "cleanupPeriodDays", days
    if reads_a_file(model := layer.get("model")):
        yield "model", "model", model
    search = layer.get("webSearch")  # the model's searches, and what they say, would go to the project's server
    if isinstance(search, dict) and "searxng" in search:
        yield "search", "webSearch.searxng", search["searxng"]
    auto = layer.get("autoMode")
    if isinstance(auto, dict) and "judgeModel" in auto:  # a judge of the project's choosing could allow anything
        yield "judge", "autoMode.judgeModel", auto["judgeModel"]
    sandbox = layer.get("sandbox")
    for dotted, value in _leaves(sandbox, "") if isinstance(sandbox, dict) else []:
        if _sandbox_widens(dotted, value):
            yield "sandbox", dotted, value


def reads_a_file(model: Any) -> bool:
    """Whether a model spec has sous read a file it names: a scripted model replays the tool calls
    a file holds, and a local one loads weights (a `.gguf` path) that llama.cpp must parse. From a
    project's settings, either is the project choosing what runs; the built-in local names are not."""
    if not isinstance(model, str):
        return False
    provider, _, rest = model.partition(":")
    if provider == "scripted":
        return True
    return provider == "local" and (rest.endswith(".gguf") or "/" in rest or os.sep in rest)


def _sandbox_widens(dotted: str, value: Any) -> bool:
    if dotted == "enabled":
        return value is not True
    if dotted in WIDENS_WHEN_TRUE:
        return value is True
    return "denied" not in dotted.lower()  # lists of paths, domains, excluded commands; unknown keys too


def _leaves(node: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        if isinstance(value, dict):  # an empty object grants nothing
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def detail(kind: str, value: Any) -> str:
    """What a grant is shown as: a string as it is, an agent's mode, a command's tools, anything else as JSON."""
    if kind == "agent" and isinstance(value, dict):
        return str(value.get("permissionMode"))
    if kind == "skill" and isinstance(value, list):
        return ", ".join(map(str, value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def without(
    layer: dict[str, Any], keep: Callable[[str, str, Any], bool]
) -> tuple[dict[str, Any], list[tuple[GrantKind, str, Any]]]:
    """`layer` without the grants `keep` refuses, and those grants. The input is not modified."""
    out = dict(layer)
    dropped = [g for g in setting_grants(layer) if not keep(*g)]
    for kind, name, _value in dropped:
        if kind == "env":
            out["env"] = {k: v for k, v in out["env"].items() if k != name}
        elif kind == "rule":
            perms = out["permissions"] = dict(out["permissions"])
            perms["allow"] = [r for r in perms["allow"] if r != name]
        elif kind == "mode":
            perms = out["permissions"] = dict(out["permissions"])
            perms.pop("defaultMode", None)
        elif kind == "failopen":
            out.pop("preToolUseHookFailure", None)
        elif kind == "retention":
            out.pop("cleanupPeriodDays", None)
        elif kind == "model":
            out.pop("model", None)
        elif kind == "search":
            out["webSearch"] = {k: v for k, v in out["webSearch"].items() if k != "searxng"}
        elif kind == "judge":
            out["autoMode"] = {k: v for k, v in out["autoMode"].items() if k != "judgeModel"}
        else:
            out["sandbox"] = _drop(out["sandbox"], name)
    return out, dropped


def _drop(node: dict[str, Any], dotted: str) -> dict[str, Any]:
    """`node` without the leaf `_leaves` named `dotted` (a key may hold a dot itself)."""
    node = dict(node)
    if dotted in node:
        node.pop(dotted)
        return node
    for key, value in node.items():
        if isinstance(value, dict) and dotted.startswith(key + "."):
            node[key] = _drop(value, dotted[len(key) + 1 :])
    return node


def gate(
    project_files: Iterable[str | Path], approved: set[str], digest_of: Callable[[str, str, Any], str]
) -> tuple[Callable[[str, dict[str, Any]], dict[str, Any]], list[tuple[GrantKind, str, Any, str]]]:
    """A filter for `sous.settings.load`: a layer read from one of `project_files` loses the grants
    whose digest is not in `approved`. Returns the filter and the list it fills with what it left
    out, as `(kind, name, value, file)`."""
    files = {os.path.realpath(p) for p in project_files}
    left_out: list[tuple[GrantKind, str, Any, str]] = []

    def keep_approved(name: str, layer: dict[str, Any]) -> dict[str, Any]:
        if os.path.realpath(name) not in files:
            return layer
        kept, dropped = without(layer, lambda kind, key, value: digest_of(kind, key, value) in approved)
        left_out.extend((kind, key, value, name) for kind, key, value in dropped)
        return kept

    return keep_approved, left_out


def project_roots(project_dir: str | Path, environ: Mapping[str, str]) -> set[str]:
    """The project's `.claude` and `.sous` folders (symlinks resolved), unless they are the user's
    own (sous started in the home folder)."""
    from sous import paths

    home = Path(environ.get("HOME") or Path.home())
    users = {os.path.realpath(p) for p in (home / ".claude", paths.config_dir(environ))}
    project = Path(project_dir)
    return {os.path.realpath(p) for p in (project / ".claude", project / ".sous")} - users


def definition_grant(item: Any, roots: set[str]) -> tuple[DefinitionKind, Any, str] | None:
    """What an agent definition (a wide `permissionMode`) or a command or skill (`allowed-tools`)
    from one of the project's `roots` grants, as `(kind, value to hash, file)`; None when it grants
    nothing or is not the project's."""
    source = str(getattr(item, "path", None) or getattr(item, "source", ""))
    real = os.path.realpath(source) if source else ""
    if not any(real.startswith(root + os.sep) for root in roots):
        return None
    if hasattr(item, "permission_mode"):
        if item.permission_mode not in WIDER_MODES:
            return None
        tools = list(item.tools) if item.tools is not None else None
        value = {"permissionMode": item.permission_mode, "tools": tools, "disallowedTools": list(item.disallowed)}
        return "agent", value, source
    allowed = list(getattr(item, "allowed_tools", []))
    return ("skill", allowed, source) if allowed else None


def without_grant(item: Any) -> Any:
    """The agent without its `permissionMode`, or the command without its `allowed-tools`."""
    from sous.records import replace

    if hasattr(item, "permission_mode"):
        return replace(item, permission_mode=None)
    return replace(item, meta={k: v for k, v in item.meta.items() if k != "allowed-tools"})


def definition_grants(
    project_dir: str | Path, environ: Mapping[str, str]
) -> Iterator[tuple[DefinitionKind, str, Any, str]]:
    """Every grant of the project's agent definitions, commands and skills that sous would use,
    as `(kind, name, value, file)`."""
    from sous import agents
    from sous.context import command_files

    roots = project_roots(project_dir, environ)
    if not roots:
        return
    every: list[dict[str, Any]] = [agents.discover(str(project_dir), environ)]
    if any(files := command_files.find(str(project_dir), environ)):  # sous.context.commands only if some exist
        from sous.context import commands

        every.append(commands.discover(str(project_dir), environ, files))
    for found in every:
        for item in found.values():
            if (grant := definition_grant(item, roots)) is not None:
                kind, value, source = grant
                yield kind, item.name, value, source


def load(
    cwd: str,
    environ: Mapping[str, str],
    cli_settings: str | None = None,
    *,
    bare: bool = False,
    sources: Collection[str] | None = None,
) -> tuple[Any, Any, list[Any]]:
    """The settings (`sous.settings.load`, never raising) without what the project's files grant
    before the person trusted them: `(settings, the project's trust, the entries left out)`."""
    from sous import settings

    from . import trust
    from .rules import parse

    project_trust = trust.check(cwd, environ, cli_settings)  # what the project's own files would run or grant
    files = settings.layer_files(cwd, environ)
    users = {os.path.realpath(p) for p in files[:2]}  # started in the home folder: those are the user's own
    keep, dropped = gate(
        [p for p in files[2:] if os.path.realpath(p) not in users],
        project_trust.approved(),
        lambda kind, name, value: trust.digest(kind, name, "", value),
    )
    cfg = settings.load(cwd, cli_settings, bare=bare, environ=environ, check_rule=parse, sources=sources, gate=keep)
    left_out: list[Any] = []
    for kind, name, value, source in dropped:
        key = trust.digest(kind, name, "", value)
        if all(e.digest != key for e in left_out):
            left_out.append(trust.Entry(kind=kind, name=name, detail=detail(kind, value), source=source, digest=key))
    return cfg, project_trust, left_out
