"""Hook handlers a model answers: Claude Code's `prompt` and `agent` types.

A `prompt` handler sends its prompt, with the event's JSON in place of `$ARGUMENTS` (or after the
prompt when it has none), to a model in one request; an `agent` handler lets the model look at
the project first with the read-only tools Read, Grep and Glob (at most 50 turns). Either must
answer `{"ok": true}` or `{"ok": false, "reason": "..."}`: `ok: false` is a block with that
reason, as exit code 2 is for a command. The model is the handler's `model` or the session's.

An answer that is not that object, a model that fails and a timeout (30 s for `prompt`, 60 s
for `agent`, or the handler's `timeout`) are failures: non-blocking errors, except where the
handler fails closed (`onFailure: "block"`, or any PreToolUse hook under sous's default).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sous.core import AssistantMessage, CancelToken, Model, ModelRequest, Text, UserMessage, new_id

from .config import Handler
from .runner import Outcome

PROMPTS = Path(__file__).parent / "prompts"
MAX_AGENT_TURNS = 50
MAX_REASON_CHARS = 10_000
"""Claude Code's cap on a hook's output strings; a longer reason is cut, not refused."""

ModelFor = Callable[[str], Model]
"""The model for a handler's `model` setting; "" = the session's. May raise (an unknown model)."""


async def run(
    handler: Handler, payload: dict[str, Any], *, cwd: str, env: Mapping[str, str], models: ModelFor | None
) -> Outcome:
    """Ask the model; never raises except for cancellation."""
    if models is None:
        return Outcome(handler, None, failure="no model to ask in this context")
    try:
        model = models(handler.model)
    except Exception as e:  # an unknown or misconfigured model must fail this hook only
        return Outcome(handler, None, failure=f"cannot use model {handler.model or '(the session’s)'}: {_clip(e)}")
    question = _question(handler.prompt, payload)
    ask = _ask_agent(model, question, cwd, env) if handler.type == "agent" else _ask(model, question)
    try:
        text = await asyncio.wait_for(ask, handler.timeout_s)
    except TimeoutError:
        return Outcome(handler, None, failure=f"the model did not answer within {handler.timeout_s:g}s")
    except asyncio.CancelledError:
        raise
    except Exception as e:  # a provider that breaks, whatever the way, must not decide anything
        return Outcome(handler, None, failure=f"the model failed: {_clip(e)}")
    answer = parse_answer(text)
    if answer is None:
        return Outcome(
            handler, None, failure=f'the model\'s answer is not {{"ok": true|false}}: {_clip(text or "nothing")}'
        )
    ok, reason = answer
    if ok:
        return Outcome(handler, 0)
    return Outcome(handler, 2, stderr=reason or f"blocked by a {handler.type} hook")


def parse_answer(text: str) -> tuple[bool, str] | None:
    """`(ok, reason)` from the model's answer: the last JSON object in it (a fenced block is fine)
    whose `ok` is true or false; None when there is none."""
    end = len(text)
    while (end := text.rfind("}", 0, end)) != -1:
        start = end
        while (start := text.rfind("{", 0, start)) != -1:
            try:
                data = json.loads(text[start : end + 1])
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("ok"), bool):
                reason = data.get("reason")
                return data["ok"], str(reason)[:MAX_REASON_CHARS] if reason is not None else ""
            break
    return None


def _question(prompt: str, payload: dict[str, Any]) -> str:
    arguments = json.dumps(payload, ensure_ascii=False)
    if "$ARGUMENTS" in prompt:
        return prompt.replace("$ARGUMENTS", arguments)
    return f"{prompt.rstrip()}\n\nARGUMENTS: {arguments}"


async def _ask(model: Model, question: str) -> str:
    request = ModelRequest(
        system=(PROMPTS / "judge.md").read_text("utf-8"),
        messages=(UserMessage(content=(Text(text=question),), id=new_id()),),
        tools=(),
        max_tokens=1024,
    )
    reply = await model.complete(request, lambda event: None, CancelToken())
    return _text(reply)


async def _ask_agent(model: Model, question: str, cwd: str, env: Mapping[str, str]) -> str:
    from sous.core import Agent, Conversation, ToolContext
    from sous.tools import toolset

    convo = Conversation(system=(PROMPTS / "judge_agent.md").read_text("utf-8"))
    agent = Agent(
        model=model,
        tools=toolset(("Read", "Grep", "Glob")),
        ctx=ToolContext(cwd=cwd, project_dir=cwd, environ=dict(env)),
        max_turns=MAX_AGENT_TURNS,
    )
    end = await agent.run(convo, UserMessage(content=(Text(text=question),), id=new_id()))
    if end.last_message is None:
        raise RuntimeError(f"the agent ended without an answer ({end.reason})")
    return _text(end.last_message)


def _text(reply: AssistantMessage) -> str:
    if reply.stop_reason == "error":
        raise RuntimeError(reply.error or "the request failed")
    return reply.text


def _clip(value: object, width: int = 160) -> str:
    text = " ".join(str(value).split()) or type(value).__name__
    return text if len(text) <= width else text[: width - 1] + "…"
