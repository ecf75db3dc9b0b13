"""The task file of `sous batch`: one JSON object per line, validated strictly.

A task line holds these fields (only `id`, `repo` and `prompt` are required):

    id              a name for the task: letters, digits, `.`, `_`, `-` (it names its patch and transcript)
    repo            a local git repository (relative paths are read from the task file's folder) or a git URL
    ref             the commit, branch or tag to check out (default: the repository's HEAD)
    prompt          the task for the agent
    model           `provider:model` as for `sous --model` (default: the batch's --model, else sous's default)
    allowed_tools   permission rules, e.g. ["Bash(pytest *)", "Edit"]
    permission_mode default | acceptEdits | plan | dontAsk | bypassPermissions
    setup           a command or a list of commands run in the checkout before the agent
    verify          a command run in the checkout after the agent stops; exit 0 means success
    timeout_s       wall-clock limit of the whole task (setup, agent, verify), seconds
    max_turns       the agent's turn limit
    max_budget_usd  the agent's spending limit, US dollars

Every problem is reported as one line naming the line number and the field; a file with any bad
line runs nothing.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from sous.records import record

PERMISSION_MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[\w.-]+@[\w.-]+:")
FIELDS = (
    "id",
    "repo",
    "ref",
    "prompt",
    "model",
    "allowed_tools",
    "permission_mode",
    "setup",
    "verify",
    "timeout_s",
    "max_turns",
    "max_budget_usd",
)


@record
class Task:
    """One validated task line, with the batch's defaults filled in."""

    id: str
    repo: str
    """An absolute local path, or a git URL (see `is_url`)."""
    prompt: str
    ref: str | None = None
    model: str | None = None
    allowed_tools: tuple[str, ...] = ()
    permission_mode: str | None = None
    setup: tuple[str, ...] = ()
    verify: str | None = None
    timeout_s: float = 1800.0
    max_turns: int | None = None
    max_budget_usd: float | None = None
    line: int = 0
    """The line of the task file it came from."""

    @property
    def provider(self) -> str:
        """The provider half of the model (`anthropic`, `openai`, `scripted`...), `default` when
        the model is left to sous: the key for per-provider concurrency limits."""
        if not self.model:
            return "default"
        if self.model in ("sonnet", "opus", "haiku"):
            return "anthropic"
        head, sep, _ = self.model.partition(":")
        return head if sep else "default"

    def to_json(self) -> dict[str, Any]:
        """The task as a plain dict (to ship to a Ray worker)."""
        return {name: getattr(self, name) for name in (*FIELDS, "line")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        return cls(**{**data, "allowed_tools": tuple(data["allowed_tools"]), "setup": tuple(data["setup"])})


def is_url(repo: str) -> bool:
    """A git URL (`https://...`, `file://...`, `git@host:path`) rather than a local path."""
    return bool(_URL.match(repo))


class TaskFileError(Exception):
    """The task file cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@record
class Defaults:
    """What the command line supplies to tasks that leave a field out."""

    model: str | None = None
    permission_mode: str | None = None
    timeout_s: float = 1800.0
    max_turns: int | None = None


NO_DEFAULTS = Defaults()


def load_tasks(path: str | Path, defaults: Defaults = NO_DEFAULTS) -> list[Task]:
    """Read and validate a task file. Raises `TaskFileError` listing every bad line (never
    anything else for bad content; an unreadable file is one problem too)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TaskFileError([f"{path}: cannot read the task file: {e}"]) from None
    base = path.resolve().parent
    tasks: list[Task] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: not valid JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: a task must be a JSON object, not {_kind(data)}")
            continue
        errors: list[str] = []
        task = _task(data, base, defaults, number, errors)
        problems += [f"{where}: {e}" for e in errors]
        if task is None:
            continue
        if task.id in seen:
            problems.append(f"{where}: field 'id': {task.id!r} is already the id of line {seen[task.id]}")
            continue
        seen[task.id] = number
        tasks.append(task)
    if problems:
        raise TaskFileError(problems)
    if not tasks:
        raise TaskFileError([f"{path}: the task file holds no tasks"])
    return tasks


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _task(data: dict[str, Any], base: Path, defaults: Defaults, line: int, errors: list[str]) -> Task | None:
    def bad(field: str, expected: str) -> None:
        errors.append(f"field '{field}': expected {expected}, got {json.dumps(data[field])[:60]}")

    for field in data:
        if field not in FIELDS:
            errors.append(f"field '{field}': unknown field (known: {', '.join(FIELDS)})")
    for field in ("id", "repo", "prompt"):
        if field not in data:
            errors.append(f"field '{field}': required")
    values: dict[str, Any] = {}
    for field in ("id", "repo", "prompt", "ref", "model", "verify"):
        if field in data and data[field] is not None:
            if not isinstance(data[field], str) or not data[field].strip():
                bad(field, "a non-empty string")
            else:
                values[field] = data[field]
    if "id" in values and not _ID.fullmatch(values["id"]):
        bad("id", "letters, digits, '.', '_' or '-' (at most 128, not starting with '.', '_' or '-')")
        values.pop("id")
    if "ref" in values and (values["ref"].startswith("-") or any(c.isspace() for c in values["ref"])):
        bad("ref", "a commit, branch or tag name")
        values.pop("ref")
    if "repo" in values and not is_url(values["repo"]):
        values["repo"] = str((base / Path(values["repo"]).expanduser()).resolve())
    if (tools := data.get("allowed_tools")) is not None:
        if not isinstance(tools, list) or not all(isinstance(t, str) and t.strip() for t in tools):
            bad("allowed_tools", "a list of permission rules (strings)")
        else:
            values["allowed_tools"] = tuple(tools)
    if (mode := data.get("permission_mode")) is not None:
        if mode not in PERMISSION_MODES:
            bad("permission_mode", "one of " + ", ".join(PERMISSION_MODES))
        else:
            values["permission_mode"] = mode
    if (setup := data.get("setup")) is not None:
        if isinstance(setup, str) and setup.strip():
            values["setup"] = (setup,)
        elif isinstance(setup, list) and all(isinstance(c, str) and c.strip() for c in setup):
            values["setup"] = tuple(setup)
        else:
            bad("setup", "a command or a list of commands (non-empty strings)")
    for field, integer in (("timeout_s", False), ("max_turns", True), ("max_budget_usd", False)):
        value = data.get(field)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int if integer else (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            bad(field, "a positive whole number" if integer else "a positive number")
        else:
            values[field] = value
    if errors or not all(k in values for k in ("id", "repo", "prompt")):
        return None
    values.setdefault("model", defaults.model)
    values.setdefault("permission_mode", defaults.permission_mode)
    values.setdefault("timeout_s", defaults.timeout_s)
    values.setdefault("max_turns", defaults.max_turns)
    return Task(**values, line=line)
