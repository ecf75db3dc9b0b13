"""Grants: the person's answers to permission prompts, kept for as long as they said.

A grant is an allow rule with limits: it expires (5 minutes, an hour, the session) or runs out
after N uses ("allow `npm publish` once"). "Always" is not a grant: it writes the narrowest
correct rule into the local settings file (see `narrowest_rules` and `save_always`). Grants answer
asks, so they are checked after deny rules and the safety floor, before ask rules.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sous.records import field, record

from .rules import EDIT_TOOLS, READ_TOOLS, Rule, call_paths, matches, parse

DURATIONS = {"once": None, "5m": 300.0, "1h": 3600.0, "session": None}


@record(frozen=False, kw_only=False)
class Grant:
    id: int
    rule: Rule
    expires_at: float | None = None
    uses_left: int | None = None
    agent: str | None = None
    """When set, the grant covers calls of this sub-agent only."""
    created: float = field(default_factory=time.time)
    answer: object = None
    """The person's answer that made it (one answer to several agents makes one grant for all)."""

    def describe(self, now: float) -> str:
        limits = []
        if self.expires_at is not None:
            limits.append(f"expires in {max(0, int(self.expires_at - now))}s")
        if self.uses_left is not None:
            limits.append(f"{self.uses_left} use{'s' * (self.uses_left != 1)} left")
        if self.agent:
            limits.append(f"for agent {self.agent}")
        return f"#{self.id} allow {self.rule} ({', '.join(limits) or 'this session'})"


class Grants:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.items: list[Grant] = []
        self._ids = itertools.count(1)

    def add(
        self,
        rule_text: str,
        *,
        duration: str = "session",
        uses: int | None = None,
        agent: str | None = None,
        answer: object = None,
    ) -> Grant:
        seconds = DURATIONS.get(duration)
        if duration == "once":
            uses = 1
        grant = Grant(
            id=next(self._ids),
            rule=parse(rule_text),
            uses_left=uses,
            agent=agent,
            expires_at=self.clock() + seconds if seconds else None,
            answer=answer,
        )
        self.items.append(grant)
        return grant

    def active(self) -> list[Grant]:
        now = self.clock()
        self.items = [
            g
            for g in self.items
            if (g.expires_at is None or g.expires_at > now) and (g.uses_left is None or g.uses_left > 0)
        ]
        return list(self.items)

    def revoke(self, grant_id: int) -> bool:
        before = len(self.items)
        self.items = [g for g in self.items if g.id != grant_id]
        return len(self.items) < before

    def find(
        self, tool: str, args: dict[str, Any], cwd: str, parts: list[str] | None, agent: str | None = None
    ) -> list[Grant] | None:
        """The grants covering this call, or None. A Bash command is covered when every part is
        covered by some grant. Nothing is counted: see `consume`."""
        live = [g for g in self.active() if g.agent in (None, agent)]
        if tool == "Bash" and parts:
            covering = []
            for part in parts:
                grant = next((g for g in live if _exactly(g.rule, part)), None)
                if grant is None:
                    return None
                covering.append(grant)
            return list({id(g): g for g in covering}.values())
        found = next((g for g in live if matches(g.rule, tool, args, cwd, parts)), None)
        return [found] if found else None

    def consume(self, grant_ids: tuple[int, ...]) -> None:
        """Count one use of each grant that allowed a call."""
        for grant in self.items:
            if grant.id in grant_ids and grant.uses_left is not None:
                grant.uses_left -= 1


def _exactly(rule: Rule, part: str) -> bool:
    """A Bash grant names one command exactly (`narrowest_rules`): a `*` in it is the command's
    own glob, not a wildcard (`rm *.tmp` approved must not allow `rm -rf src x.tmp`)."""
    return rule.tool == "Bash" and (rule.specifier is None or rule.specifier == part.strip())


def exact_as_rules(rules: list[str]) -> tuple[list[str], list[str]]:
    """Split narrowest rules into those a settings file can hold exactly and the Bash ones with a
    `*`, which a saved rule would read as a wildcard matching any text."""
    starred = [r for r in rules if r.startswith("Bash(") and "*" in r]
    return [r for r in rules if r not in starred], starred


def narrowest_rules(tool: str, args: dict[str, Any], cwd: str, uncovered_parts: list[str] | None = None) -> list[str]:
    """The smallest rules that allow exactly this call again."""
    if tool == "Bash":
        parts = uncovered_parts or [str(args.get("command", "")).strip()]
        return [f"Bash({part})" for part in parts if part]
    if tool in EDIT_TOOLS | READ_TOOLS:
        # The paths the call was checked on (a Glob's searched folder, not just its `path`); a
        # bare name would match at any depth, so it is anchored with `./`.
        family = "Edit" if tool in EDIT_TOOLS else "Read"
        out = []
        for full in call_paths(tool, args, cwd):
            relative = os.path.relpath(full, cwd)
            if relative.startswith("..") or relative == ".":
                out.append(f"{family}(/{full})")
            else:
                out.append(f"{family}({relative if '/' in relative else './' + relative})")
        if out:
            return out
    if tool == "WebFetch" and isinstance(args.get("url"), str):
        return [f"WebFetch(domain:{urlparse(args['url']).hostname})"]
    return [tool]


def save_always(rules: list[str], settings_file: Path) -> None:
    """Add allow rules to a settings file (the local, git-ignored one), keeping everything else.

    Raises `ValueError` (one line) and leaves the file alone when it cannot be read as a settings
    object with a list of allow rules: rewriting it would lose what it holds, its deny rules too."""
    data: dict[str, Any] = {}
    if settings_file.exists():
        try:
            data = json.loads(settings_file.read_bytes().decode("utf-8").removeprefix("\ufeff") or "{}")
        except (OSError, ValueError, RecursionError) as e:
            raise ValueError(f"{settings_file} cannot be read ({type(e).__name__}); it was left unchanged") from e
    permissions = data.setdefault("permissions", {}) if isinstance(data, dict) else None
    allow = permissions.setdefault("allow", []) if isinstance(permissions, dict) else None
    if not isinstance(allow, list):
        raise ValueError(f"{settings_file} does not hold permissions.allow as a list; it was left unchanged")
    allow += [r for r in rules if r not in allow]
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = settings_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    os.replace(tmp, settings_file)
