"""Fleets: `sous team` runs several agents at once, each with a persona and a folder it owns,
coordinating through a board on the file system (see `board.py`).

The team file (`.sous/team.yaml`, or JSON, or `--file`):

    goal: Build a todo app: a JSON API and a web page that uses it.
    name: todo                       # optional: the team's name for hooks (default: the project folder's)
    members:
      - name: backend
        persona: general-purpose     # an agent type (built-in or from .sous/.claude agents/)
        folder: api/                 # the only place it may change without approval
        prompt: You write the API.   # optional, added to the persona's prompt
        model: anthropic:claude-haiku-4-5   # optional
        allow: ["Bash(python *)"]    # optional permission rules of its own
      - name: frontend
        folder: web/
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sous.core import ConfigError
from sous.records import field, record

TEAM_FILES = (".sous/team.yaml", ".sous/team.yml", ".sous/team.json")


@record(kw_only=False)
class Member:
    name: str
    folder: str
    persona: str = "general-purpose"
    prompt: str = ""
    model: str | None = None
    allow: tuple[str, ...] = ()


@record(kw_only=False)
class Team:
    goal: str
    members: tuple[Member, ...]
    source: str = ""
    name: str = ""
    """What TeammateIdle hooks get as `team_name` ("" = the project folder's name)."""
    extra: dict = field(default_factory=dict, compare=False)


def find(project_dir: str, explicit: str | None = None) -> Path:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"no team file at {explicit}")
        return path
    for name in TEAM_FILES:
        if (path := Path(project_dir) / name).is_file():
            return path
    raise ConfigError("no team file: write .sous/team.yaml (see `sous team --help`) or pass --file")


def load(path: Path) -> Team:
    """Read and check a team file; every problem is one line naming the file."""
    text = path.read_text("utf-8")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as e:  # YAML and JSON errors alike become one line
        raise ConfigError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {' '.join(str(e).split())[:200]}"
        ) from e
    if not isinstance(data, dict) or not isinstance(data.get("members"), list) or not data["members"]:
        raise ConfigError(f"{path}: needs a `members` list")
    members, seen = [], set()
    for i, raw in enumerate(data["members"]):
        if not isinstance(raw, dict) or not raw.get("name") or not raw.get("folder"):
            raise ConfigError(f"{path}: member {i + 1} needs a `name` and a `folder`")
        name = str(raw["name"])
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or name in seen or name in ("user", "all"):
            raise ConfigError(f"{path}: member name {name!r} must be unique, letters/digits/-/_, not user or all")
        seen.add(name)
        folder = str(raw["folder"]).strip("/")
        if not folder or ".." in Path(folder).parts or Path(folder).is_absolute():
            raise ConfigError(f"{path}: {name}'s folder must be a folder inside the project")
        allow = raw.get("allow") or []
        members.append(
            Member(
                name=name,
                folder=folder,
                persona=str(raw.get("persona") or "general-purpose"),
                prompt=str(raw.get("prompt") or ""),
                model=raw.get("model") or None,
                allow=tuple(str(a) for a in (allow if isinstance(allow, list) else [allow])),
            )
        )
    return Team(
        goal=str(data.get("goal") or ""), members=tuple(members), source=str(path), name=str(data.get("name") or "")
    )
