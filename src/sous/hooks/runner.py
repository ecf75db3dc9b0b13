"""Running hook handlers and reading what they decided, by Claude Code's contract.

A command handler gets the event's JSON on stdin. Exit 0: stdout that starts with `{` is the
JSON answer (plain text is context for UserPromptSubmit, UserPromptExpansion, SessionStart and
PostModelSwitch). Exit 2: block, with stderr as the reason. Any other exit: a non-blocking error,
unless stdout is valid JSON, which is honoured. A handler with `onFailure: "block"` turns a
failure (timeout, crash, unusable output) into a block: that is how a guard hook fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Mapping
from typing import Any

from sous.records import field, record

from .config import Handler

PLAIN_TEXT_IS_CONTEXT = ("UserPromptSubmit", "UserPromptExpansion", "SessionStart", "PostModelSwitch")
_DECISION_RANK = {"deny": 3, "ask": 2, "allow": 1}


@record(frozen=False, kw_only=False)
class Outcome:
    handler: Handler
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    failure: str = ""
    """Why the handler did not give a usable answer ("timed out after 30s", "exit code 1"...)."""
    duration_ms: int = 0

    @property
    def output(self) -> dict[str, Any] | None:
        text = self.stdout.strip()
        if not text.startswith("{"):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@record(frozen=False, kw_only=False)
class Verdict:
    """What all the handlers of one event decided together."""

    block: str | None = None
    """Set when the action is blocked; the reason (for the model or the person, per event)."""
    decision: str | None = None
    """PreToolUse's permissionDecision: deny > ask > allow across handlers."""
    reason: str = ""
    updated_input: dict[str, Any] | None = None
    context: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    """Lines for the person: systemMessage values and non-blocking errors."""
    stop: str | None = None
    """`continue: false` from a hook: the run stops, with this reason."""
    retry: bool = False
    """PermissionDenied's `retry: true`: the model is told it may try the call again."""
    elicitation: dict[str, Any] | None = None
    """Elicitation's and ElicitationResult's answer, `{"action": ..., "content": ...}`: a `cancel`
    from any handler wins, else the last handler that answered."""


def _substitute(text: str, env: Mapping[str, str]) -> str:
    for name in ("CLAUDE_PROJECT_DIR", "SOUS_PROJECT_DIR"):
        text = text.replace("${" + name + "}", env.get(name, "")).replace("$" + name, env.get(name, ""))
    return text


async def run(
    handler: Handler, payload: dict[str, Any], *, cwd: str, env: Mapping[str, str], models: Any = None
) -> Outcome:
    """Run one handler; never raises except for cancellation. `models` gives the model that
    answers `prompt` and `agent` handlers (`sous.hooks.judged.ModelFor`)."""
    started = time.monotonic()
    if handler.env:  # a plugin's handler: its root and data folder
        env = {**env, **dict(handler.env)}
    if handler.type in ("prompt", "agent"):
        from . import judged

        outcome = await judged.run(handler, payload, cwd=cwd, env=env, models=models)
    elif handler.type == "http":
        outcome = await _run_http(handler, payload)
    else:
        outcome = await _run_command(handler, payload, cwd=cwd, env=env)
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


MAX_OUTPUT_BYTES = 10 * 2**20
"""What a hook may print on stdout or stderr; past it the hook is stopped (a runaway `yes` would
otherwise fill memory until its timeout)."""


class _TooMuchOutput(Exception):
    pass


async def _read_capped(stream: asyncio.StreamReader) -> bytes:
    chunks, size = [], 0
    while chunk := await stream.read(65536):
        size += len(chunk)
        if size > MAX_OUTPUT_BYTES:
            raise _TooMuchOutput
        chunks.append(chunk)
    return b"".join(chunks)


async def _write_stdin(stdin: asyncio.StreamWriter, data: bytes) -> None:
    try:  # a hook that ignores its input may exit before reading it all
        stdin.write(data)
        await stdin.drain()
        stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass


async def _run_command(handler: Handler, payload: dict[str, Any], *, cwd: str, env: Mapping[str, str]) -> Outcome:
    argv = (
        [_substitute(handler.command, env), *(_substitute(a, env) for a in handler.args)]
        if handler.args
        else ["/bin/sh", "-c", handler.command]
    )
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as e:
        return Outcome(handler, None, failure=f"could not start: {e.strerror or e}")

    async def talk() -> tuple[bytes, bytes]:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        parts: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(_write_stdin(proc.stdin, json.dumps(payload).encode())),
            asyncio.ensure_future(_read_capped(proc.stdout)),
            asyncio.ensure_future(_read_capped(proc.stderr)),
        ]
        try:
            _, out, err = await asyncio.gather(*parts)
        finally:  # one part failed or time ran out: the others stop too, before anyone drains the pipes
            for part in parts:
                part.cancel()
            await asyncio.gather(*parts, return_exceptions=True)
        await proc.wait()
        return out, err

    failure = ""
    try:
        out, err = await asyncio.wait_for(talk(), handler.timeout_s)
    except TimeoutError:
        failure = f"timed out after {handler.timeout_s:g}s"
    except _TooMuchOutput:
        failure = f"printed more than {MAX_OUTPUT_BYTES // 2**20} MB; stopped"
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    if failure:
        await _stop(proc)
        return Outcome(handler, None, failure=failure)
    outcome = Outcome(handler, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    if proc.returncode not in (0, 2) and outcome.output is None:
        outcome.failure = f"exit code {proc.returncode}" + (
            f": {outcome.stderr.strip()[:300]}" if outcome.stderr.strip() else ""
        )
    return outcome


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Kill the hook's process group and reap it. What it printed and nobody read must be drained:
    asyncio reports a process finished only once its pipes are closed, and a pipe whose reader
    stopped (too much output) stays paused, so a bare `wait()` would never return."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)

    async def drain(stream: asyncio.StreamReader | None) -> None:
        while stream is not None and await stream.read(65536):
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(drain(proc.stdout), drain(proc.stderr), proc.wait()), 10)


async def _run_http(handler: Handler, payload: dict[str, Any]) -> Outcome:
    """POST the payload; the whole exchange (not each read) is bounded by the handler's timeout,
    and an answer over `MAX_OUTPUT_BYTES` is a failure."""
    import httpx

    async def exchange() -> tuple[int, bytes]:
        async with (
            httpx.AsyncClient(timeout=handler.timeout_s) as client,
            client.stream("POST", handler.url, json=payload, headers=dict(handler.headers)) as response,
        ):
            body, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_OUTPUT_BYTES:
                    raise _TooMuchOutput
                body.append(chunk)
            return response.status_code, b"".join(body)

    try:
        status, body = await asyncio.wait_for(exchange(), handler.timeout_s)
    except TimeoutError:
        return Outcome(handler, None, failure=f"timed out after {handler.timeout_s:g}s")
    except _TooMuchOutput:
        return Outcome(handler, None, failure=f"answered more than {MAX_OUTPUT_BYTES // 2**20} MB")
    except httpx.HTTPError as e:
        return Outcome(handler, None, failure=f"request failed: {type(e).__name__}: {e}")
    if not 200 <= status < 300:
        return Outcome(handler, None, failure=f"HTTP {status}")
    return Outcome(handler, 0, stdout=body.decode("utf-8", "replace"))


MAX_TEXT_CHARS = 10_000
"""Claude Code's cap on each string a hook hands over (a reason, a context, a message)."""


def clip(text: str) -> str:
    """`text`, cut at `MAX_TEXT_CHARS` with a note saying how much was left out."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"\n[... {len(text) - MAX_TEXT_CHARS:,} more characters of hook output cut]"


def verdict(event: str, outcomes: list[Outcome]) -> Verdict:
    """Combine the outcomes of one event's handlers into one decision. Every text in it is at
    most `MAX_TEXT_CHARS` long: a hook that prints a novel does not flood the context."""
    result = _combine(event, outcomes)
    result.block = clip(result.block) if result.block is not None else None
    result.reason = clip(result.reason)
    result.stop = clip(result.stop) if result.stop is not None else None
    result.context = [clip(text) for text in result.context]
    result.messages = [clip(text) for text in result.messages]
    return result


def _combine(event: str, outcomes: list[Outcome]) -> Verdict:
    result = Verdict()
    for outcome in outcomes:
        data = outcome.output
        if outcome.failure:
            if outcome.handler.on_failure == "block":
                result.block = result.block or f"{event} hook failed ({outcome.failure}); blocking, as configured"
            else:
                result.messages.append(f"{event} hook error: {outcome.failure}")
            continue
        if outcome.exit_code == 2:
            result.block = result.block or (outcome.stderr.strip() or f"blocked by a {event} hook")
            continue
        if data is None:
            if event in PLAIN_TEXT_IS_CONTEXT and outcome.stdout.strip():
                result.context.append(outcome.stdout.strip())
            continue
        _read_json(event, data, result)
    return result


def _read_json(event: str, data: dict[str, Any], result: Verdict) -> None:
    if data.get("continue") is False:
        result.stop = str(data.get("stopReason") or f"stopped by a {event} hook")
    if data.get("systemMessage"):
        result.messages.append(str(data["systemMessage"]))
    specific: dict[str, Any] = data["hookSpecificOutput"] if isinstance(data.get("hookSpecificOutput"), dict) else {}
    if context := specific.get("additionalContext"):
        result.context.append(str(context))
    if event == "PreToolUse":
        decision = specific.get("permissionDecision") or {"approve": "allow", "block": "deny"}.get(
            data.get("decision", "")
        )
        if decision in _DECISION_RANK and _DECISION_RANK[decision] > _DECISION_RANK.get(result.decision or "", 0):
            result.decision = decision
            result.reason = str(specific.get("permissionDecisionReason") or data.get("reason") or "")
        if isinstance(specific.get("updatedInput"), dict):
            result.updated_input = specific["updatedInput"]
    elif event in ("Elicitation", "ElicitationResult") and data.get("decision") != "block":
        _read_elicitation(event, data, specific, result)
    elif event == "PermissionDenied":
        result.retry = result.retry or specific.get("retry") is True
    elif event == "PermissionRequest" and isinstance(specific.get("decision"), dict):
        behavior = specific["decision"].get("behavior")
        if behavior in ("allow", "deny") and result.decision != "deny":
            result.decision = behavior
            result.reason = str(specific["decision"].get("message") or "")
    elif data.get("decision") == "block":
        result.block = result.block or str(data.get("reason") or f"blocked by a {event} hook")


def _read_elicitation(event: str, data: dict[str, Any], specific: dict[str, Any], result: Verdict) -> None:
    """`hookSpecificOutput.action` (accept, decline, cancel) and `content`, read only when its
    `hookEventName` names the event, as in Claude Code; a decline blocks, with `reason`."""
    action = specific.get("action")
    if specific.get("hookEventName") != event or action not in ("accept", "decline", "cancel"):
        return
    if result.elicitation is None or result.elicitation["action"] != "cancel":
        result.elicitation = {"action": action, "content": specific.get("content")}
    if action == "decline":
        denied = "Elicitation denied by hook" if event == "Elicitation" else "Elicitation result blocked by hook"
        result.block = result.block or str(data.get("reason") or denied)
