"""The tools one agent may use, by name, with argument validation done once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .messages import ToolCall
from .protocols import Tool

Validate = Callable[[Any, dict[str, Any]], "str | None"]
"""Checks a call's arguments against its tool's `input_schema`: the first problem in one line
(naming the argument, e.g. `todos[0].status`), or None when they fit. Must not raise."""


class ToolSet:
    """An ordered name → tool table. Aliases (e.g. `Task` for `Agent`) resolve to the same tool
    but are not listed to the model. A tool set is never changed in place: `adding`, `without`
    and `only` return new sets that keep the aliases and the validator, so no caller has to
    remember them.

    `validate` is the JSON-schema check of arguments that `check` applies (sous's is
    `sous.tools.schema.validate`, which `sous.tools.toolset` plugs in); without one, `check`
    only finds unknown tools and arguments that are not a JSON object."""

    def __init__(
        self, tools: Iterable[Tool] = (), aliases: dict[str, str] | None = None, *, validate: Validate | None = None
    ):
        self._tools: dict[str, Tool] = {t.name: t for t in tools}
        self._aliases = dict(aliases or {})
        self._validate = validate

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def adding(self, tools: Iterable[Tool], aliases: dict[str, str] | None = None) -> ToolSet:
        """These tools too (a tool of the same name is replaced, keeping its place)."""
        merged = dict(self._tools)
        for tool in tools:
            merged[tool.name] = tool
        return ToolSet(merged.values(), aliases={**self._aliases, **(aliases or {})}, validate=self._validate)

    def without(self, names: Iterable[str]) -> ToolSet:
        drop = set(names)
        return ToolSet((t for t in self if t.name not in drop), aliases=self._aliases, validate=self._validate)

    def only(self, names: Iterable[str]) -> ToolSet:
        """The named tools that are in this set, in the given order."""
        return ToolSet(
            (t for n in names if (t := self._tools.get(n)) is not None), aliases=self._aliases, validate=self._validate
        )

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name) or self._tools.get(self._aliases.get(name, ""))

    def schemas(self) -> tuple[dict[str, Any], ...]:
        return tuple({"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in self)

    def check(self, call: ToolCall) -> str | None:
        """Return why `call` cannot run (unknown tool, bad JSON, invalid arguments), or None."""
        tool = self.get(call.name)
        if tool is None:
            return f"No such tool available: {call.name}. Available tools: {', '.join(self.names)}"
        if call.raw_arguments is not None:
            return f"Invalid tool input for {call.name}: arguments are not a JSON object: {call.raw_arguments[:200]!r}"
        if self._validate is not None and (problem := self._validate(call.arguments, tool.input_schema)):
            return f"InputValidationError: {call.name} failed: {problem}"
        return None
