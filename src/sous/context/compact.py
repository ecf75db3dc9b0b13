"""Compaction: the conversation so far, summarised by the model, replaces the conversation.

`compact()` is the engine behind `/compact [focus]` and automatic compaction
(`sous.context.autocompact`). It never sends a request it knows is too big:

- The newest tool exchange (the last assistant message that called tools, its results and
  whatever followed) is kept verbatim; older messages are summarised. Oversized tool output in
  the kept part is cut to a head and a tail with a note pointing at the transcript.
- The older part is rendered as a plain-text transcript and cut into chunks that each fit the
  summary request's budget; the first chunk is summarised, then that summary plus the next chunk,
  and so on (a summary of a summary), so any history fits however long it grew.
- What the work cannot lose is carried verbatim beside the summary, not left to the model: the
  user's own messages, the todo list, the approved plan, the files touched and their state now,
  and the transcript path. Memory files are re-injected, and the files read most recently are
  re-attached (as they are on disk now) within a token budget.

The result is the list of messages that replaces the history; the caller records it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sous.core import (
    AssistantMessage,
    CancelToken,
    Emit,
    Image,
    Message,
    Model,
    ModelRequest,
    ProviderError,
    Text,
    ToolCall,
    ToolResultMessage,
    UserMessage,
    new_id,
)
from sous.records import field, record

from .measure import Budget, message_chars  # apart: automatic compaction measures every request

INSTRUCTION = """\
CRITICAL: Respond with TEXT ONLY. Do NOT call any tools.

Your task now is to write a summary of the conversation above, to replace it: the work continues \
from your summary alone, so leave out nothing it needs. Write these sections:

1. Request and intent: what the user asked for and every later change of mind or constraint.
2. Key technical facts: what was learned, choices made and why.
3. Files and code: each file read, created or changed, what was done to it, key snippets.
4. Errors and fixes: problems met and how they were solved, or that they are still open.
5. Problem solving: what was tried, what worked, dead ends not to repeat.
6. Pending tasks: what is still to do.
7. Current work: precisely what was being done just before this summary.
8. Next step: the very next step, in line with the user's latest request.

Reply with the summary only."""

CONTINUE_INSTRUCTION = """\
CRITICAL: Respond with TEXT ONLY. Do NOT call any tools.

Below are a summary of the beginning of a conversation and the next part of that conversation. \
Write one summary of both, to replace them, with the same sections as the summary so far \
(request and intent, key technical facts, files and code, errors and fixes, problem solving, \
pending tasks, current work, next step). Reply with the summary only."""

SUMMARY_HEADER = (
    "This session continues from an earlier conversation that was compacted. The summary below covers it:\n\n"
)

FILES_TO_REATTACH = 5
FILE_TOKENS = 5_000
USER_MESSAGE_TOKENS = 2_000
FILE_TOOLS = {
    "Read": "file_path",
    "Edit": "file_path",
    "Write": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}
CHANGING_TOOLS = {"Edit", "Write", "MultiEdit", "NotebookEdit"}


class CompactError(Exception):
    """Compaction could not be done; the conversation is left as it was."""


# --- what the work cannot lose ---------------------------------------------------------------


@record
class Carry:
    """What goes into the new context beside the model's summary. Built by the caller from the
    session's state; every field may be empty."""

    todos: Sequence[dict[str, Any]] = ()
    memory: str = ""
    """The memory files, rendered (re-injected after the summary)."""
    transcript_path: str = ""
    project_dir: str = ""
    extra_context: Sequence[str] = ()
    """More reminders to add (SessionStart hooks run with source "compact")."""


@record(frozen=False)
class Outcome:
    messages: list[Message]
    """The new history: summary, reminders, re-attached files, then the kept tail verbatim."""
    summary: str
    replies: list[AssistantMessage] = field(default_factory=list)
    """The summary requests' replies, for their usage."""
    pre_tokens: int = 0
    post_tokens: int = 0


def split_tail(messages: Sequence[Message]) -> tuple[list[Message], list[Message]]:
    """(older part to summarise, newest exchange kept verbatim). The kept part starts at the last
    assistant message that called tools, so every tool result in it has its call."""
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if isinstance(message, AssistantMessage) and message.tool_calls:
            return list(messages[:i]), list(messages[i:])
    # No tool exchange: keep the trailing user messages (a prompt not answered yet).
    i = len(messages)
    while i > 0 and isinstance(messages[i - 1], UserMessage):
        i -= 1
    return list(messages[:i]), list(messages[i:])


def user_requests(messages: Sequence[Message]) -> list[str]:
    """What the person typed, oldest first: user messages' text without injected reminders or an
    earlier compaction's summary (whose own list of requests is carried over instead)."""
    found: list[str] = []
    for message in messages:
        if not isinstance(message, UserMessage):
            continue
        for block in message.content:
            if not isinstance(block, Text) or block.text.lstrip().startswith("<system-reminder>"):
                continue
            if block.text.startswith(SUMMARY_HEADER):
                found += _carried_requests(block.text)
            elif block.text.strip():
                found.append(block.text.strip())
    return found


_REQUESTS_HEADING = "The user's messages so far, verbatim (oldest first):"
_REQUEST_MARK = "\n- USER: "


def _carried_requests(summary_text: str) -> list[str]:
    section = summary_text.partition(_REQUESTS_HEADING)[2].partition("\n\n## ")[0]
    return [part.strip() for part in section.split(_REQUEST_MARK)[1:] if part.strip()]


def files_touched(messages: Sequence[Message]) -> tuple[list[str], list[str]]:
    """(files changed, files read), each newest first, as the tool calls name them."""
    changed: list[str] = []
    read: list[str] = []
    for message in reversed(messages):
        if not isinstance(message, AssistantMessage):
            continue
        for call in reversed(message.tool_calls):
            key = FILE_TOOLS.get(call.name)
            path = call.arguments.get(key) if key else None
            if not isinstance(path, str):
                continue
            target = changed if call.name in CHANGING_TOOLS else read
            if path not in target:
                target.append(path)
    return changed, read


def approved_plan(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if isinstance(message, AssistantMessage):
            for call in message.tool_calls:
                if call.name == "ExitPlanMode" and isinstance(call.arguments.get("plan"), str):
                    return call.arguments["plan"]
    return ""


def _file_state(path: str, project_dir: str) -> str:
    full = Path(project_dir, path) if project_dir else Path(path)
    try:
        data = full.read_bytes()
    except FileNotFoundError:
        return f"{path}: deleted (no longer exists)"
    except OSError as e:
        return f"{path}: unreadable now ({e.strerror})"
    lines = data.count(b"\n") + (bool(data) and not data.endswith(b"\n"))
    return f"{path}: {len(data):,} bytes, {lines} lines now"


def _capped(text: str, limit_chars: int, note: str) -> str:
    """`text` whole when it fits, else its head and tail around a note saying what was cut."""
    if len(text) <= limit_chars:
        return text
    keep = max(limit_chars - 200, 0)
    head, tail = text[: keep * 2 // 3], text[len(text) - keep // 3 :] if keep // 3 else ""
    return f"{head}\n[... {len(text) - len(head) - len(tail):,} characters cut at compaction; {note} ...]\n{tail}"


def carried_text(summary: str, history: Sequence[Message], carry: Carry, budget: Budget) -> str:
    """The summary message's text: the model's summary, then what is kept verbatim."""
    parts = [SUMMARY_HEADER + summary.strip()]
    requests = user_requests(history)
    if requests:
        allowance = budget.chars(max(budget.window // 20, 500))
        kept: list[str] = []
        for text in reversed(requests):  # newest first, so the latest request always survives
            text = _capped(text, budget.chars(USER_MESSAGE_TOKENS), "the whole message is in the transcript")
            if kept and allowance - len(text) < 0:
                kept.append(f"[{len(requests) - len(kept)} earlier message(s) left out for room; see the transcript]")
                break
            allowance -= len(text)
            kept.append(text)
        parts.append("## " + _REQUESTS_HEADING + "".join(_REQUEST_MARK + t for t in reversed(kept)))
    if carry.todos:
        lines = [f"- [{t.get('status', 'pending')}] {t.get('content', '')}" for t in carry.todos]
        parts.append("## The todo list as it stands (keep it up to date with TodoWrite):\n" + "\n".join(lines))
    if plan := approved_plan(history):
        parts.append("## The approved plan, verbatim:\n" + _capped(plan, budget.chars(4_000), "see the transcript"))
    changed, _ = files_touched(history)
    if changed:
        parts.append(
            "## Files changed in this session, and their state now:\n"
            + "\n".join("- " + _file_state(p, carry.project_dir) for p in changed[:50])
        )
    if carry.transcript_path:
        parts.append(
            f"## Transcript\nThe full transcript of the conversation before this summary is at {carry.transcript_path} "
            "(JSON lines); read it when you need an exact detail the summary leaves out."
        )
    return "\n\n".join(parts)


def reattached_files(history: Sequence[Message], tail: Sequence[Message], carry: Carry, budget: Budget) -> list[str]:
    """The most recently read files, as they are on disk now, within the budget (newest first)."""
    _, read = files_touched([*history, *tail])
    in_tail = {c.arguments.get("file_path") for m in tail if isinstance(m, AssistantMessage) for c in m.tool_calls}
    allowance = budget.chars(min(25_000, budget.window // 8))
    attached: list[str] = []
    for path in read:
        if len(attached) == FILES_TO_REATTACH or path in in_tail:
            continue
        full = Path(carry.project_dir, path) if carry.project_dir else Path(path)
        try:
            text = full.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        text = _capped(text, min(budget.chars(FILE_TOKENS), allowance), "read the file again for the rest")
        if len(text) > allowance:
            break
        allowance -= len(text)
        attached.append(
            f"<system-reminder>\nContents of {path}, read before the conversation was compacted "
            f"(as it is on disk now):\n\n{text}\n</system-reminder>"
        )
    return attached


def trim_tail(tail: Sequence[Message], limit_chars: int) -> list[Message]:
    """The kept messages, with tool output cut so that the whole stays within `limit_chars`."""
    total = sum(message_chars(m) for m in tail)
    if total <= limit_chars:
        return list(tail)
    results = [m for m in tail if isinstance(m, ToolResultMessage)]
    each = max((limit_chars - (total - sum(message_chars(m) for m in results))) // max(len(results), 1), 2_000)
    out: list[Message] = []
    for message in tail:
        if isinstance(message, ToolResultMessage) and message_chars(message) > each:
            content = tuple(
                Text(text=_capped(b.text, each, "the whole output is in the transcript")) if isinstance(b, Text) else b
                for b in message.content
            )
            message = ToolResultMessage(
                tool_call_id=message.tool_call_id,
                tool_name=message.tool_name,
                content=content,
                is_error=message.is_error,
                data=message.data,
                id=message.id,
            )
        out.append(message)
    return out


# --- the summary requests --------------------------------------------------------------------


def render(message: Message) -> str:
    """One message as plain text for a summary request."""
    if isinstance(message, ToolResultMessage):
        body = message.text or "(no output)"
        return f"[tool result{' (error)' if message.is_error else ''} of {message.tool_name}]\n{body}"
    if isinstance(message, UserMessage):
        images = sum(isinstance(b, Image) for b in message.content)
        return f"[user]\n{message.text}" + (f"\n[{images} image(s)]" if images else "")
    lines = []
    for block in message.content:
        if isinstance(block, Text) and block.text:
            lines.append(block.text)
        elif isinstance(block, ToolCall):
            lines.append(f"[tool call {block.name}] {block.raw_arguments or json.dumps(block.arguments)}")
    return "[assistant]\n" + "\n".join(lines)


def chunks(history: Sequence[Message], limit_chars: int) -> list[str]:
    """The rendered history in pieces of at most `limit_chars` each; a message too big for one
    piece alone is cut to fit."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for message in history:
        text = _capped(render(message), limit_chars, "too long to summarise whole")
        if current and size + len(text) + 2 > limit_chars:
            pieces.append("\n\n".join(current))
            current, size = [], 0
        current.append(text)
        size += len(text) + 2
    if current:
        pieces.append("\n\n".join(current))
    return pieces


async def summarise(
    model: Model,
    system: str,
    history: Sequence[Message],
    budget: Budget,
    *,
    focus: str = "",
    extra: str = "",
    emit: Emit | None = None,
    cancel: CancelToken | None = None,
) -> tuple[str, list[AssistantMessage]]:
    """Summarise `history` in as many requests as it takes for each to fit `budget`; returns
    (summary, the replies). Raises `CompactError` when the model fails or answers nothing."""
    instruction = (
        INSTRUCTION
        + (f"\n\nThe user asks the summary to focus on: {focus}" if focus else "")
        + (f"\n\nMore instructions:\n{extra}" if extra else "")
    )
    fixed = len(system) + len(instruction) + len(CONTINUE_INSTRUCTION) + 200
    room = budget.chars(budget.prompt_limit) - fixed
    if room < 2_000:
        raise CompactError("the context window is too small for a summary request")
    summary = ""
    replies: list[AssistantMessage] = []
    # Each request after the first also holds the summary so far (capped to a quarter of the room).
    for piece in chunks(history, room * 3 // 4 if len(chunks(history, room)) > 1 else room):
        if summary:
            prompt = (
                f"{CONTINUE_INSTRUCTION}\n\n<summary_so_far>\n{_capped(summary, room // 4, 'cut for room')}"
                f"\n</summary_so_far>\n\n<conversation_continued>\n{piece}\n</conversation_continued>"
                + (f"\n\n{instruction.partition(INSTRUCTION)[2].strip()}" if focus or extra else "")
            )
        else:
            prompt = f"<conversation>\n{piece}\n</conversation>\n\n{instruction}"
        request = ModelRequest(
            system=system,
            messages=(UserMessage(content=(Text(text=prompt),), id=new_id()),),
            tools=(),
            max_tokens=budget.output_reserve,
        )
        try:
            reply = await model.complete(request, emit or (lambda event: None), cancel or CancelToken())
        except ProviderError as e:
            raise CompactError(f"the model could not summarise the conversation: {e}") from e
        if reply.stop_reason == "aborted":
            raise CompactError("compaction was interrupted; the conversation is unchanged")
        if reply.stop_reason == "error":
            raise CompactError(f"the model could not summarise the conversation: {reply.error}")
        replies.append(reply)
        summary = reply.text.strip()
        if not summary:
            raise CompactError("the model returned an empty summary; the conversation is unchanged")
    return summary, replies


async def compact(
    model: Model,
    system: str,
    messages: Sequence[Message],
    budget: Budget,
    carry: Carry,
    *,
    focus: str = "",
    extra: str = "",
    emit: Emit | None = None,
    cancel: CancelToken | None = None,
    measure: Callable[[Sequence[Message]], int] | None = None,
) -> Outcome:
    """Summarise `messages` and return the history to replace them with (see the module doc).
    `measure` gives a list's size in tokens (the default counts characters). Raises
    `CompactError` and changes nothing when it cannot be done."""
    measure = measure or (lambda ms: budget.tokens(sum(message_chars(m) for m in ms)))
    history, tail = split_tail(messages)
    tail = trim_tail(tail, budget.chars(budget.prompt_limit // 4))
    if history:
        summary, replies = await summarise(
            model, system, history, budget, focus=focus, extra=extra, emit=emit, cancel=cancel
        )
    elif tail and measure(tail) < measure(list(messages)):
        summary, replies = "Nothing earlier than the newest exchange below; its long output was cut.", []
    else:
        raise CompactError("nothing to compact yet: the conversation is only its newest exchange")
    new: list[Message] = [UserMessage(content=(Text(text=carried_text(summary, history, carry, budget)),), id=new_id())]
    reminders = [f"<system-reminder>\n{carry.memory}\n</system-reminder>"] if carry.memory else []
    reminders += [f"<system-reminder>\n{text}\n</system-reminder>" for text in carry.extra_context]
    reminders += reattached_files(history, tail, carry, budget)
    if reminders:
        new.append(UserMessage(content=tuple(Text(text=r) for r in reminders), id=new_id()))
    new += tail
    return Outcome(
        messages=new, summary=summary, replies=replies, pre_tokens=measure(list(messages)), post_tokens=measure(new)
    )
