"""Sub-agents: who they are (definitions) and the Agent tool that starts one.

Definitions come from `.claude/agents/**/*.md` and `.sous/agents/**/*.md` in the project (which win)
and at user level, plus the built-in `general-purpose`, `Explore` and `Plan`. The frontmatter
is YAML, read as Claude Code reads it, and carries `name`, `description` (both required), `tools`
(a comma-separated string or a list), `disallowedTools`, `model` (`inherit` or a model),
`permissionMode` and `maxTurns`; the body is the agent's system prompt. Running one is the
runtime's job (`sous.runtime.spawn`, reached through the `Spawner` in `ctx.spawn`): the Agent tool
only asks for it, so tools never import the session.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sous import paths
from sous.records import field, record

READ_ONLY_TOOLS = ["Read", "Glob", "Grep", "Bash", "TodoWrite"]


@record(kw_only=False)
class AgentSpec:
    name: str
    description: str
    prompt: str
    tools: tuple[str, ...] | None = None
    """Allowed tools; None inherits every tool of the parent."""
    disallowed: tuple[str, ...] = ()
    model: str | None = None
    permission_mode: str | None = None
    """"plan" makes an agent read-only: the permission layer, not the prompt, enforces it."""
    max_turns: int | None = None
    isolation: str | None = None
    """"worktree": work in a temporary git worktree, changes committed on a branch."""
    source: str = "built-in"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


BUILTIN = {
    "general-purpose": AgentSpec(
        name="general-purpose",
        description="For research and multi-step tasks: searching code, reading files, making changes.",
        prompt="You are a sub-agent of sous, given one task by the main agent. Do it completely with the tools "
        "you have, then answer with a concise report of what you found or changed; it is all the main "
        "agent will see.",
    ),
    "Explore": AgentSpec(
        name="Explore",
        tools=tuple(READ_ONLY_TOOLS),
        permission_mode="plan",
        description="Fast read-only exploration: find files, search code, answer questions about the codebase.",
        prompt="You are a read-only exploration agent. Search and read to answer the question; you cannot change "
        "anything. Reply with the findings, citing path:line.",
    ),
    "Plan": AgentSpec(
        name="Plan",
        tools=tuple(READ_ONLY_TOOLS),
        permission_mode="plan",
        description="Read-only planning: studies the code and returns a step-by-step implementation plan.",
        prompt="You are a planning agent. Study the relevant code (read-only) and reply with a concrete, "
        "step-by-step plan naming the files to change.",
    ),
}


def _names(value: Any) -> tuple[str, ...] | None:
    if value in (None, "", []):
        return None
    items = value if isinstance(value, list) else re.findall(r"[\w*]+(?:\([^)]*\))?", str(value))
    return tuple(str(i).strip() for i in items if str(i).strip())


def read(path: Path, source: str) -> AgentSpec | None:
    """The agent defined in `path`; None when it cannot be read or lacks a name or description."""
    from sous.context.commands import frontmatter

    try:
        meta, body = frontmatter(path.read_text("utf-8", errors="replace"))
    except OSError:
        return None
    name, description = str(meta.get("name") or ""), str(meta.get("description") or "").strip()
    if not name or not description or ":" in name:
        return None  # as in Claude Code: skipped
    model = str(meta.get("model") or "") or None
    turns = str(meta.get("maxTurns") or "")
    return AgentSpec(
        name=name,
        description=description,
        prompt=body.strip(),
        tools=_names(meta.get("tools")),
        disallowed=_names(meta.get("disallowedTools")) or (),
        source=source,
        model=None if model == "inherit" else model,
        permission_mode=str(meta.get("permissionMode") or "") or None,
        max_turns=int(turns) if turns.isdigit() else None,
        isolation=str(meta.get("isolation") or "") or None,
    )


def discover(project_dir: str, environ: Mapping[str, str] = os.environ) -> dict[str, AgentSpec]:
    """Every agent type by name: built-ins, then user files, then project files (later wins)."""
    home = Path(environ.get("HOME") or Path.home())
    found = dict(BUILTIN)
    roots = [home / ".claude", paths.config_dir(environ), Path(project_dir) / ".claude", Path(project_dir) / ".sous"]
    for root in roots:
        folder = root / "agents"
        for path in sorted(folder.rglob("*.md")) if folder.is_dir() else []:
            if spec := read(path, str(path)):
                found[spec.name] = spec
    return found


def from_json(text: str) -> dict[str, AgentSpec]:
    """`--agents '{"reviewer": {"description": "...", "prompt": "...", "tools": ["Read"]}}'`."""
    import json

    from sous.core import ConfigError

    try:
        data = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"--agents is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError("--agents must be a JSON object of agent name to definition")
    specs = {}
    for name, raw in data.items():
        if not isinstance(raw, dict) or not raw.get("description") or not raw.get("prompt"):
            raise ConfigError(f"--agents: {name!r} needs a description and a prompt")
        model = raw.get("model")
        specs[name] = AgentSpec(
            name=name,
            description=str(raw["description"]),
            prompt=str(raw["prompt"]),
            tools=_names(raw.get("tools")),
            disallowed=_names(raw.get("disallowedTools")) or (),
            model=None if model in (None, "inherit") else str(model),
            permission_mode=raw.get("permissionMode"),
            max_turns=raw.get("maxTurns"),
            source="--agents",
        )
    return specs
