"""StructuredOutput: `--json-schema SCHEMA` asks for the final answer as a JSON object.

As in Claude Code, the model is offered a `StructuredOutput` tool whose input schema is the
user's schema. A call that fits ends the run, and its input becomes the result's
`structured_output`; a call that does not fit is an error result the model can correct. A model
that stops without calling the tool is reminded once; after `MAX_STRUCTURED_OUTPUT_RETRIES`
(5) failed calls the run ends, and the front end reports `error_max_structured_output_retries`.

The schema is checked with `jsonschema` (the whole JSON Schema language; sous's own validator
in `schema.py` knows only what tool schemas use), imported when `--json-schema` is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sous.core import (
    Message,
    PassThrough,
    Text,
    ToolCall,
    ToolContext,
    ToolResult,
    ToolResultMessage,
    UserMessage,
    new_id,
)
from sous.records import replace

from ._base import BuiltinTool

NAME = "StructuredOutput"
DESCRIPTION = (
    "Use this tool to return your final response in the requested structured format. You MUST call "
    "this tool exactly once at the end of your response to provide the structured output."
)
REMINDER = f"[structured-output-enforce] You MUST call the {NAME} tool to complete this request. Call this tool now."
DELIVERED = "Structured output provided successfully"
DEFAULT_RETRIES = 5


def parse_schema(text: str) -> dict[str, Any]:
    """The `--json-schema` argument as a schema; raises `ValueError` with one line saying what is wrong."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"--json-schema is not valid JSON: {e.msg} (line {e.lineno} column {e.colno})") from None
    if not isinstance(schema, dict):
        raise ValueError("--json-schema must be a JSON object")
    from jsonschema import SchemaError, validators  # type: ignore[import-untyped]

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as e:
        where = "/".join(str(p) for p in e.path)
        at = f" (at {where})" if where else ""
        raise ValueError(f"--json-schema is not a valid JSON Schema: {e.message}{at}") from None
    return schema


def mismatch(value: Any, schema: dict[str, Any]) -> str | None:
    """Why `value` does not fit `schema` (the first problem, one line), or None when it fits."""
    from jsonschema import validators

    error = next(iter(validators.validator_for(schema)(schema).iter_errors(value)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def tool(schema: dict[str, Any]) -> BuiltinTool:
    """The StructuredOutput tool for `schema` (checked by `parse_schema`)."""

    async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if problem := mismatch(args, schema):
            return ToolResult(content=f"Output does not match required schema: {problem}", is_error=True)
        return ToolResult(content=DELIVERED, data=args, ends_turn=True)

    return BuiltinTool(name=NAME, description=DESCRIPTION, input_schema=schema, run_fn=run, read_only=True)


def _this_run(messages: list[Message]) -> list[Message]:
    """The messages since the prompt of the current run (the reminder is not a prompt)."""
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if isinstance(message, UserMessage) and message.text != REMINDER:
            return messages[i + 1 :]
    return messages


class StructuredOutputGuard(PassThrough):
    """Reminds a model that ends its run without calling StructuredOutput (once per run), and
    ends the run after too many failed calls."""

    def __init__(self, environ: Mapping[str, str]):
        raw = environ.get("MAX_STRUCTURED_OUTPUT_RETRIES", "")
        self.max_failures = int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_RETRIES
        self._failures = 0

    async def before_model(self, messages: list[Message]) -> list[Message]:
        run = _this_run(messages)
        self._failures = sum(1 for m in run if isinstance(m, ToolResultMessage) and m.tool_name == NAME and m.is_error)
        return messages

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        if call.name != NAME or not result.is_error:
            return result
        self._failures += 1
        if self._failures < self.max_failures:
            return result
        return replace(result, ends_turn=True)

    async def after_turn(self, messages: list[Message]) -> list[Message]:
        run = _this_run(messages)
        delivered = any(isinstance(m, ToolResultMessage) and m.tool_name == NAME and not m.is_error for m in run)
        if delivered or any(isinstance(m, UserMessage) and m.text == REMINDER for m in run):
            return []
        return [UserMessage(content=(Text(text=REMINDER),), id=new_id())]


def failure_text(attempts: int, last_error: str = "") -> str:
    """The `errors` line of a run that ended without valid structured output (Claude Code's words)."""
    if attempts:
        last = f" — last {NAME} error: {last_error}" if last_error else ""
        return f"Failed to provide valid structured output after {attempts} attempts{last}"
    return f"The model ended its turn without calling the {NAME} tool"
