"""`BuiltinTool`: a tool as schema data plus one async function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sous.core import ToolContext, ToolResult
from sous.records import record

DESCRIPTIONS = Path(__file__).parent / "descriptions"

RunFn = Callable[[dict[str, Any], ToolContext], Awaitable[ToolResult]]


@record
class BuiltinTool:
    name: str
    description: str
    input_schema: dict[str, Any]
    run_fn: RunFn
    read_only: bool = False
    concurrent: bool = False

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await self.run_fn(args, ctx)


def builtin(
    name: str,
    schema: dict[str, Any],
    run: RunFn,
    *,
    read_only: bool = False,
    description: str | None = None,
    concurrent: bool = False,
) -> BuiltinTool:
    """Build a tool whose description is `descriptions/<name>.md` unless given inline."""
    if description is None:
        # A plain path, not importlib.resources: its zip support costs start-up time, and sous
        # is installed as files.
        description = (DESCRIPTIONS / f"{name}.md").read_text("utf-8").strip()
    return BuiltinTool(
        name=name, description=description, input_schema=schema, run_fn=run, read_only=read_only, concurrent=concurrent
    )


class LazyBuiltin:
    """A built-in whose name, description, schema and flags are known without importing its
    module: `impl` ("module:function") is imported at the first call. For the tools most sessions
    offer but never call (see `offered`)."""

    __slots__ = ("_impl", "_run", "concurrent", "description", "input_schema", "name", "read_only")

    def __init__(
        self, name: str, schema: dict[str, Any], impl: str, *, read_only: bool = False, concurrent: bool = False
    ):
        self.name = name
        self.description = (DESCRIPTIONS / f"{name}.md").read_text("utf-8").strip()
        self.input_schema = schema
        self.read_only = read_only
        self.concurrent = concurrent
        self._impl = impl
        self._run: RunFn | None = None

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if self._run is None:
            import importlib

            module, _, function = self._impl.partition(":")
            self._run = getattr(importlib.import_module(module), function)
        return await self._run(args, ctx)
