"""The tools one agent may use, by name, with argument validation done once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .messages import ToolCall
from .protocols import Tool
from .schema import validate


class ToolSet:
    """An ordered name → tool table. Aliases (e.g. `Task` for `Agent`) resolve to the same tool
    but are not listed to the model."""

    def __init__(self, tools: Iterable[Tool] = (), aliases: dict[str, str] | None = None):
        self._tools: dict[str, Tool] = {t.name: t for t in tools}
        self._aliases = dict(aliases or {})

    def __iter__(self):
        return iter(self._tools.values())

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name) or self._tools.get(self._aliases.get(name, ""))

    def schemas(self) -> tuple[dict[str, Any], ...]:
        return tuple(
            {"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in self
        )

    def check(self, call: ToolCall) -> str | None:
        """Return why `call` cannot run (unknown tool, bad JSON, invalid arguments), or None."""
        tool = self.get(call.name)
        if tool is None:
            return f"No such tool available: {call.name}. Available tools: {', '.join(self.names)}"
        if call.raw_arguments is not None:
            return f"Invalid tool input for {call.name}: arguments are not a JSON object: {call.raw_arguments[:200]!r}"
        if problem := validate(call.arguments, tool.input_schema):
            return f"InputValidationError: {call.name} failed: {problem}"
        return None
