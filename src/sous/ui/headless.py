"""`sous -p`: one prompt, no questions asked, output as text, json or stream-json.

The shapes follow Claude Code's print mode so that wrappers written for it drive sous unchanged:
stream-json starts with a `system/init` line, then one `assistant` line per content block and one
`user` line per tool result, and ends with the `result` object that `json` prints alone.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from sous import __version__
from sous.core import (
    AssistantMessage,
    MessageAdded,
    Notice,
    PermissionDecided,
    Retry,
    RunEnd,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolResultMessage,
    TurnStart,
    UserMessage,
)
from sous.core.messages import Image, Text, Thinking
from sous.runtime import Session
from sous.store.ids import new_uuid

FORMATS = ("text", "json", "stream-json")
STRUCTURED_OUTPUT = "StructuredOutput"
CLAUDE_CODE_COMPAT = "2.1.0"
"""The Claude Code release whose stream-json shapes sous speaks, reported in system/init as
`claude_code_version` (the Agent SDK warns about a CLI that reports none)."""


def timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def api_usage(usage: Any) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": usage.output_tokens,
    }


def api_block(block: Any) -> dict[str, Any]:
    """A content block in the Anthropic Messages shape that stream-json consumers expect."""
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, Thinking):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature or ""}
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.arguments}
    if isinstance(block, Image):
        return {"type": "image", "source": {"type": "base64", "media_type": block.media_type, "data": block.data}}
    raise TypeError(block)


class HeadlessPrinter:
    """Turns session events into print-mode output on `out` (and problems on `err`)."""

    def __init__(
        self, session: Session, fmt: str, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr, partial: bool = False
    ):
        self.session = session
        self.fmt = fmt
        self.out = out
        self.err = err
        self.partial = partial
        self.prompt_seen = False
        self.result: dict[str, Any] | None = None
        self.permission_meta: dict[str, dict[str, str]] = {}
        """Per tool call: how its permission was decided, for the `tool_result_meta` of its result."""
        self._denials_reported = 0
        """How many of the session's denials earlier results listed: each result lists its own run's."""
        self.stopped_for: tuple[str, str] | None = None
        """(subtype, text) when the front end itself stopped the run (a spent `--max-budget-usd`): the
        result of that run says why, as Claude Code's does, instead of "Interrupted"."""
        self.structured_output: Any = None
        """With `--json-schema`: the run's valid StructuredOutput call, and how many calls failed before."""
        self.structured_failures = 0
        self.structured_error = ""
        self.stream: Any = None
        """With `partial`: the `PartialMessages` that writes the stream events (imported only then)."""
        if partial:
            from .stream_events import PartialMessages

            self.stream = PartialMessages(self._stream_event)

    def line(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()

    def init(self) -> None:
        if self.fmt != "stream-json":
            return
        s = self.session
        self.line(
            {
                "type": "system",
                "subtype": "init",
                "cwd": s.cwd,
                "session_id": s.id,
                "tools": s.tools.names,
                "mcp_servers": _mcp_servers(s),
                "model": s.model.name.partition(":")[2],
                "permissionMode": s.mode,
                "slash_commands": [],
                "apiKeySource": "none",
                "sous_version": __version__,
                "claude_code_version": CLAUDE_CODE_COMPAT,
                "output_style": "default",
                "agents": [],
                "skills": [],
                "plugins": [{"name": p.name, "path": str(p.root)} for p in s.plugins],
                "additional_directories": list(s.added_dirs),
                "uuid": new_uuid(),
            }
        )

    def __call__(self, event: Any) -> None:
        if isinstance(event, MessageAdded) and isinstance(event.message, ToolResultMessage):
            if event.message.tool_name == STRUCTURED_OUTPUT and event.message.is_error:
                self.structured_failures += 1
                self.structured_error = event.message.text
            elif event.message.tool_name == STRUCTURED_OUTPUT:
                self.structured_output = event.message.data
        if isinstance(event, Notice):
            self.err.write(f"sous: {event.level}: {event.text}\n")
        elif isinstance(event, RunEnd):
            self.result = self._result(event)
            if self.fmt in ("json", "stream-json"):
                self.line(self.result)
        elif isinstance(event, Retry) and self.fmt != "stream-json":  # stdout holds only the answer
            self.err.write(
                f"sous: retrying in {event.delay_s:.1f}s (attempt {event.attempt} of {event.max_retries}, "
                f"{event.status or 'no answer'}): {event.error}\n"
            )
            self.err.flush()
        elif self.fmt != "stream-json":
            return
        elif isinstance(event, PermissionDecided):
            kind, _, _ = event.source.partition(":")
            self.permission_meta[event.call.id] = {
                "decision": "accept" if event.decision == "allow" else "reject",
                "source": "user" if kind == "user" else "config",
                "reason_type": kind,
            }
        elif isinstance(event, MessageAdded):
            self._message(event.message)
        elif isinstance(event, Retry):
            if self.partial:  # the request is sent again: its reply starts over
                self.stream.reset()
            # Claude Code's shape: `error` is a category, `error_status` the HTTP status or null;
            # `error_message` (sous's own) is the one-line reason shown in the terminal.
            self.line(
                {
                    "type": "system",
                    "subtype": "api_retry",
                    "attempt": event.attempt,
                    "max_retries": event.max_retries,
                    "retry_delay_ms": int(event.delay_s * 1000),
                    "error_status": event.status,
                    "error": retry_category(event.status),
                    "error_message": event.error,
                    "session_id": self.session.id,
                    "uuid": new_uuid(),
                }
            )
        elif self.partial and isinstance(event, (TextDelta, ThinkingDelta)):
            self.stream.delta(event, self.session.model.name.partition(":")[2])
        elif self.partial and isinstance(event, TurnStart):
            self.stream.reset()

    def _stream_event(self, event: dict[str, Any]) -> None:
        self.line(
            {
                "type": "stream_event",
                "uuid": new_uuid(),
                "session_id": self.session.id,
                "event": event,
                "parent_tool_use_id": None,
                "api_message_id": self.stream.message_id,
            }
        )

    def _envelope(self, kind: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "message": message,
            "parent_tool_use_id": None,
            "session_id": self.session.id,
            "uuid": new_uuid(),
            "timestamp": timestamp(),
            **extra,
        }

    def _assistant(self, message: AssistantMessage, block: Any, message_id: str | None) -> None:
        """One content block of a reply as an `assistant` line (`message_id`: the id its stream events had)."""
        self.line(
            self._envelope(
                "assistant",
                {
                    "id": message_id or message.provider_data.get("id") or f"msg_{message.id}",
                    "type": "message",
                    "role": "assistant",
                    "model": message.model,
                    "content": [api_block(block)],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": api_usage(message.usage),
                    "context_management": None,
                },
            )
        )

    def _message(self, message: Any) -> None:
        if isinstance(message, AssistantMessage):
            if self.partial:
                self.stream.finish(
                    message, lambda block, id: self._assistant(message, block, id), api_usage(message.usage)
                )
            else:
                for block in message.content:
                    self._assistant(message, block, None)
        elif isinstance(message, ToolResultMessage):
            content: Any = (
                message.text
                if all(isinstance(b, Text) for b in message.content)
                else [api_block(b) for b in message.content]
            )
            result_block = {
                "tool_use_id": message.tool_call_id,
                "type": "tool_result",
                "content": content,
                "is_error": message.is_error,
            }
            meta = [
                {"id": message.tool_call_id, "permission_decision": decision}
                for decision in [self.permission_meta.pop(message.tool_call_id, None)]
                if decision
            ]
            self.line(
                self._envelope(
                    "user",
                    {"role": "user", "content": [result_block]},
                    tool_result_meta=meta,
                    tool_use_result=message.data if message.data is not None else message.text,
                )
            )
        elif isinstance(message, UserMessage):
            if not self.prompt_seen:
                self.prompt_seen = True  # the prompt itself is not echoed, as in Claude Code
                return
            self.line(self._envelope("user", {"role": "user", "content": [api_block(b) for b in message.content]}))

    def _result(self, end: RunEnd) -> dict[str, Any]:
        last = end.last_message
        is_error = end.reason != "end_turn"
        subtype = {"end_turn": "success", "max_turns": "error_max_turns"}.get(end.reason, "error_during_execution")
        if end.reason in ("error", "blocked") and last is not None:
            text = f"API Error: {last.error}" if end.reason == "error" else str(last.error)
        elif end.reason == "aborted":
            text = "Interrupted"
        elif end.reason == "max_turns":
            text = f"Reached the maximum number of turns ({end.num_turns})"
        else:
            text = last.text if last else ""
        if end.reason == "aborted" and self.stopped_for is not None:
            (subtype, text), self.stopped_for = self.stopped_for, None
        model = self.session.model.name.partition(":")[2]
        subagents = self.session.subagent_runs
        denials = self.session.denials
        run_denials, self._denials_reported = denials[self._denials_reported :], len(denials)
        judge = self.session.auto_judge
        return {
            "type": "result",
            "subtype": subtype,
            "is_error": is_error,
            "duration_ms": end.duration_ms,
            "duration_api_ms": end.duration_api_ms,
            "num_turns": end.num_turns,
            "result": text,
            "stop_reason": last.stop_reason if last else None,
            "session_id": self.session.id,
            "total_cost_usd": round(
                end.usage.cost_usd
                + sum(r.usage.cost_usd for r in subagents)
                + (judge.spend.usage.cost_usd if judge else 0.0),
                6,
            ),
            "usage": api_usage(end.usage),
            "modelUsage": _model_usage([(model, end.usage), *((r.model, r.usage) for r in subagents)]),
            "subagents": [
                {
                    "agent_id": r.agent_id,
                    "agent_type": r.agent_type,
                    "model": r.model,
                    "usage": api_usage(r.usage),
                    "cost_usd": round(r.usage.cost_usd, 6),
                    "tool_uses": r.tool_uses,
                    "duration_ms": r.duration_ms,
                }
                for r in subagents
            ],
            "permission_denials": run_denials,
            # An error result other than "success" carries `errors`: the npm Agent SDK reads it unchecked.
            **({"errors": [text] if text else []} if subtype != "success" else {}),
            "sous_changes": self.session.last_run.as_dict(),  # what the run actually changed and ran
            **({"auto_judge": judge.result()} if judge and judge.spend.count else {}),
            "api_error_status": _status(last) if end.reason == "error" else None,
            "terminal_reason": {"end_turn": "completed"}.get(end.reason, end.reason),
            "uuid": new_uuid(),
        } | self._structured(end)

    def _structured(self, end: RunEnd) -> dict[str, Any]:
        """With `--json-schema`: the run's `structured_output`, or, when the model finished
        without a valid one, Claude Code's error fields for it."""
        output, failures, last_error = self.structured_output, self.structured_failures, self.structured_error
        self.structured_output, self.structured_failures, self.structured_error = None, 0, ""
        if self.session.tools.get(STRUCTURED_OUTPUT) is None:
            return {}
        if output is not None:  # Claude Code's `result` is then the object as compact JSON
            compact = json.dumps(output, ensure_ascii=False, separators=(",", ":"))
            return {"structured_output": output, "result": compact}
        if end.reason != "end_turn":
            return {}
        from sous.tools.structured_output import failure_text

        return {
            "subtype": "error_max_structured_output_retries",
            "is_error": True,
            "errors": [failure_text(failures, last_error)],
            "terminal_reason": "structured_output_retry_exhausted",
        }


def _mcp_servers(session: Session) -> list[dict[str, str]]:
    if session.mcp is None:
        return []
    return [
        {"name": name, "status": server.state if server.state in ("connected", "needs-auth") else "failed"}
        for name, server in session.mcp.servers.items()
    ]


def _model_usage(entries: list[tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    """Tokens and cost per model, the session's own and its sub-agents' together."""
    out: dict[str, dict[str, Any]] = {}
    for model, usage in entries:
        row = out.setdefault(
            model,
            {
                "inputTokens": 0,
                "outputTokens": 0,
                "cacheReadInputTokens": 0,
                "cacheCreationInputTokens": 0,
                "costUSD": 0.0,
            },
        )
        row["inputTokens"] += usage.input_tokens
        row["outputTokens"] += usage.output_tokens
        row["cacheReadInputTokens"] += usage.cache_read_tokens
        row["cacheCreationInputTokens"] += usage.cache_write_tokens
        row["costUSD"] = round(row["costUSD"] + usage.cost_usd, 6)
    return out


def _status(message: AssistantMessage | None) -> int | None:
    status = message.provider_data.get("status") if message else None
    return status if isinstance(status, int) else None


async def run_headless(
    session: Session,
    prompt: str,
    fmt: str = "text",
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    partial: bool = False,
) -> int:
    """Run one prompt to the end and print it in `fmt`; return the process exit code."""
    printer = HeadlessPrinter(session, fmt, out=out, err=err, partial=partial)
    for notice in session.notices:
        printer(notice)
    session.subscribe(printer)
    await session.start()
    printer.init()
    try:
        end = await session.send(prompt)
    finally:
        await session.end("other")
    result = printer.result or {}
    if fmt == "text":
        if not result.get("is_error"):
            out.write(result.get("result", "") + "\n")
        else:
            err.write(f"sous: {(result.get('errors') or [result.get('result', end.reason)])[0]}\n")
        out.flush()
    return 1 if result.get("is_error") else 0


def retry_category(status: int | None) -> str:
    """Claude Code's `api_retry` error category for an HTTP status (None: no answer at all)."""
    if status is None:
        return "unknown"
    if status in (401, 403):
        return "authentication_failed"
    if status == 402:
        return "billing_error"
    if status == 429:
        return "rate_limit"
    return "server_error" if status >= 500 or status in (408, 409) else "invalid_request"
