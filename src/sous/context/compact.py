"""Compaction: the conversation so far, summarised by the model, replaces the conversation.

`/compact [focus]` (and, later, an automatic trigger near the context limit) calls `compact()`:
the model gets the whole history plus an instruction to summarise it, with no tools, and the
history becomes one user message holding that summary. The summary keeps what the work needs to
go on (the request, decisions, files touched, errors met, what is left); the person's `focus`
says what matters most. PreCompact hooks run first and may add instructions.
"""

from __future__ import annotations

from sous.core import (
    AssistantMessage, CancelToken, Conversation, Emit, Model, ModelRequest, ProviderError, Text, ToolResultMessage,
    UserMessage, new_id,
)

INSTRUCTION = """\
Your task now is to write a summary of the conversation so far, to replace it: the work continues \
from your summary alone, so leave out nothing it needs. Write these sections:

1. Request: what the user asked for, in their words where it matters, and every later change of mind.
2. Decisions and findings: technical facts learned, choices made and why.
3. Files: each file read, created or changed, with what was done to it (key snippets if they matter).
4. Errors: problems met and how they were solved, or that they are still open.
5. Done: what is finished.
6. Next: what is left to do, and the very next step.

Reply with the summary only; do not call tools."""

SUMMARY_HEADER = ("This session continues from an earlier conversation that was compacted. "
                  "The summary below covers it:\n\n")


class CompactError(Exception):
    """Compaction could not be done; the conversation is left as it was."""


async def summarise(model: Model, convo: Conversation, *, focus: str = "", extra: str = "",
                    emit: Emit | None = None, cancel: CancelToken | None = None) -> tuple[str, AssistantMessage]:
    """Ask `model` for a summary of `convo`; returns (summary text, the reply for its usage)."""
    instruction = INSTRUCTION
    if focus:
        instruction += f"\n\nThe user asks the summary to focus on: {focus}"
    if extra:
        instruction += f"\n\nMore instructions:\n{extra}"
    messages = list(convo.messages)
    if messages and isinstance(messages[-1], UserMessage):
        last = messages.pop()
        ask = UserMessage(content=(*last.content, Text(text=instruction)), id=new_id())
    else:
        ask = UserMessage(content=(Text(text=instruction),), id=new_id())
    request = ModelRequest(system=convo.system, messages=(*messages, ask), tools=())
    try:
        reply = await model.complete(request, emit or (lambda event: None), cancel or CancelToken())
    except ProviderError as e:
        raise CompactError(f"the model could not summarise the conversation: {e}") from e
    if reply.stop_reason == "aborted":
        raise CompactError("compaction was interrupted; the conversation is unchanged")
    if reply.stop_reason == "error":
        raise CompactError(f"the model could not summarise the conversation: {reply.error}")
    summary = reply.text.strip()
    if not summary:
        raise CompactError("the model returned an empty summary; the conversation is unchanged")
    return summary, reply


def summary_message(summary: str) -> UserMessage:
    return UserMessage(content=(Text(text=SUMMARY_HEADER + summary),), id=new_id())


def estimate_tokens(text: str) -> int:
    """A provider-free estimate (about four characters a token), good enough for the context view."""
    return (len(text) + 3) // 4


def message_tokens(message) -> int:
    if isinstance(message, ToolResultMessage | UserMessage):
        return estimate_tokens(message.text) + 10
    chars = 0
    for block in message.content:
        chars += len(getattr(block, "text", "") or getattr(block, "thinking", "") or "")
        if hasattr(block, "arguments"):
            chars += len(str(block.arguments)) + len(block.name)
    return (chars + 3) // 4 + 10
