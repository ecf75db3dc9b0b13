"""Automatic compaction: compact before the window fills, and when the provider refuses anyway.

`AutoCompact` is a middleware. Before each model request it measures the request — from the
provider's own count at the last reply plus an estimate of what was added since (characters
divided by a ratio calibrated on that count; a plain 3.5 characters a token when the provider
reports nothing) — and compacts when the request would not leave room for the reply and a
safety buffer (Claude Code's 20k output reserve and 13k buffer on a 200k window, scaled down for
small windows). Its `recover()` is the loop's `on_overflow`: when a provider still answers
"prompt is too long" it learns the window the error states, compacts and has the turn retried.

The window comes from, in order: `autoCompactWindow` (setting) or `SOUS_AUTO_COMPACT_WINDOW` /
`CLAUDE_CODE_AUTO_COMPACT_WINDOW` (environment); the model's own `context_window` (local
models); the catalog (`sous.models.catalog`); what an OpenAI-compatible server says of itself
(`/v1/models`, llama.cpp's `/props`); else 128k. Switches, Claude Code's names:
`autoCompactEnabled: false` (setting) or `DISABLE_AUTO_COMPACT=1` turn automatic compaction
off; `DISABLE_COMPACT=1` turns off `/compact` too; `CLAUDE_AUTOCOMPACT_PCT_OVERRIDE=N` compacts
at N% of the window when that comes sooner.

`compact_session()` is the one way a session is compacted (by `/compact` and from here): it
runs the PreCompact hooks (trigger "manual" or "auto"), the engine (`sous.context.compact`),
records a compaction boundary and the new history in the transcript (so `-c`/`-r` resume from
it), then runs the PostCompact and SessionStart("compact") hooks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sous.core import (
    AssistantMessage,
    CancelToken,
    ContextOverflow,
    Conversation,
    Message,
    Notice,
    PassThrough,
    Text,
    TextDelta,
    ThinkingDelta,
    UserMessage,
    new_id,
)
from sous.records import record

from .measure import CHARS_PER_TOKEN, MESSAGE_OVERHEAD, Budget, budget_for, message_chars

if TYPE_CHECKING:
    from . import compact as engine

DEFAULT_RATIO = CHARS_PER_TOKEN


@record
class Policy:
    """What the settings and environment say about compaction."""

    auto: bool = True
    manual: bool = True
    window: int | None = None
    """An explicit window (`autoCompactWindow`), over anything known of the model."""
    percent: int | None = None
    """`CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`: compact at this share of the window if that is sooner."""

    @classmethod
    def from_config(cls, get: Callable[[str], Any], environ: Mapping[str, str]) -> tuple[Policy, list[str]]:
        """The policy, and one line per value that could not be used (ignored)."""
        problems: list[str] = []

        def number(value: Any, name: str, low: int, high: int) -> int | None:
            if value in (None, ""):
                return None
            try:
                n = int(str(value).replace("_", "").replace(",", ""))
            except ValueError:
                n = None
            if n is None or not low <= n <= high:
                problems.append(f"{name} must be a whole number from {low:,} to {high:,}, not {value!r}; ignored")
                return None
            return n

        def truthy(name: str) -> bool:
            return (environ.get(name) or "").strip().lower() in ("1", "true", "yes", "on")

        window = number(
            environ.get("SOUS_AUTO_COMPACT_WINDOW") or environ.get("CLAUDE_CODE_AUTO_COMPACT_WINDOW"),
            "SOUS_AUTO_COMPACT_WINDOW",
            1_024,
            100_000_000,
        )
        if window is None:
            window = number(get("autoCompactWindow"), "autoCompactWindow", 1_024, 100_000_000)
        enabled = get("autoCompactEnabled")
        if enabled is not None and not isinstance(enabled, bool):
            problems.append(f"autoCompactEnabled must be true or false, not {enabled!r}; ignored")
            enabled = None
        off = truthy("DISABLE_COMPACT")
        return cls(
            auto=not (off or truthy("DISABLE_AUTO_COMPACT") or enabled is False),
            manual=not off,
            window=window,
            percent=number(environ.get("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"), "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE", 1, 100),
        ), problems


def _prompt_tokens(message: AssistantMessage) -> int:
    u = message.usage
    return u.input_tokens + u.cache_read_tokens + u.cache_write_tokens


class AutoCompact(PassThrough):
    """The automatic-compaction middleware of one session (see the module doc)."""

    def __init__(self, session: Any, policy: Policy):
        self.session = session
        self.policy = policy
        self.ratio = DEFAULT_RATIO
        """Characters per token, calibrated on the provider's counts when it reports them."""
        self.windows: dict[str, int] = {}
        """Window per model name, once found (a server's answer is asked for once)."""
        self.stale: set[str] = set()
        """Ids of messages kept through a compaction: their usage counts describe the old history."""
        self.last_estimate = 0
        self.compactions = 0

    # --- measuring ---------------------------------------------------------------------------

    def _fixed_chars(self) -> int:
        return len(self.session.convo.system) + len(json.dumps(self.session.agent.tools.schemas()))

    def estimate(self, messages: Sequence[Message]) -> int:
        """Tokens of a request holding `messages`: the provider's count at the newest reply that
        has one, plus what came after it; a plain estimate when no reply reports usage."""
        fixed = self._fixed_chars()
        chars = [message_chars(m) for m in messages]
        for i in range(len(messages) - 1, -1, -1):
            message = messages[i]
            if isinstance(message, AssistantMessage) and message.id not in self.stale and _prompt_tokens(message):
                before = fixed + sum(chars[:i])
                if before < _prompt_tokens(message):  # fewer characters than tokens: a count of an older history
                    continue
                self.ratio = min(max(before / _prompt_tokens(message), 1.5), 6.0)
                after = sum(chars[i + 1 :]) + MESSAGE_OVERHEAD * (len(messages) - i - 1) * self.ratio
                return _prompt_tokens(message) + message.usage.output_tokens + int(after / self.ratio) + 1
        return int((fixed + sum(chars) + MESSAGE_OVERHEAD * len(messages) * self.ratio) / self.ratio) + 1

    def measure(self, messages: Sequence[Message]) -> int:
        return int((self._fixed_chars() + sum(message_chars(m) for m in messages)) / self.ratio) + 1

    async def window(self) -> int:
        model = self.session.agent.model
        if self.policy.window:
            return min(self.policy.window, self.windows.get(model.name, self.policy.window))
        if model.name not in self.windows:
            self.windows[model.name] = await _find_window(model)
        return self.windows[model.name]

    async def budget(self) -> Budget:
        from sous.models import catalog

        model = self.session.agent.model
        known = catalog.lookup(model.name.partition(":")[2])
        max_output = min(self.session.agent.max_tokens, known.max_output if known else self.session.agent.max_tokens)
        budget = budget_for(await self.window(), max_output, self.ratio)
        return budget

    def threshold(self, budget: Budget) -> int:
        limit = budget.prompt_limit
        if self.policy.percent is not None:
            limit = min(limit, budget.window * self.policy.percent // 100)
        return limit

    def describe(self) -> str:
        """One line for `/context`: when the next automatic compaction happens."""
        if not self.policy.auto:
            return "auto-compact: off (autoCompactEnabled / DISABLE_AUTO_COMPACT)"
        model = self.session.agent.model
        window = self.policy.window or self.windows.get(model.name)
        if window is None:
            return "auto-compact: on (the window is measured at the next request)"
        budget = budget_for(window, self.session.agent.max_tokens, self.ratio)
        at = self.threshold(budget)
        used = self.estimate(self.session.convo.messages)
        return f"auto-compact: at ~{at:,} of {window:,} tokens; ~{max(at - used, 0):,} to go" + (
            f" ({self.compactions} so far)" if self.compactions else ""
        )

    # --- the two moments ---------------------------------------------------------------------

    async def before_model(self, messages: list[Message]) -> list[Message]:
        if not self.policy.auto or not messages:
            return messages
        budget = await self.budget()
        self.last_estimate = self.estimate(messages)
        if self.last_estimate <= self.threshold(budget):
            return messages
        from . import compact as engine  # imported when the first compaction is due

        try:
            await compact_session(self.session, trigger="auto", budget=budget)
        except engine.CompactError as e:
            self.session.emit(Notice(level="warning", text=f"automatic compaction failed: {e}"))
            return messages
        return list(self.session.convo.messages)

    async def recover(self, convo: Conversation, error: ContextOverflow) -> bool:
        """The provider refused the request as too long: learn from its numbers, compact, and
        say whether the turn should be retried."""
        if not self.policy.auto:
            return False
        model = self.session.agent.model.name
        window = await self.window()
        if error.limit and error.limit < window:
            self.windows[model] = error.limit
        if error.tokens:  # the provider's count of what we sent calibrates the next estimates
            sent = self._fixed_chars() + sum(message_chars(m) for m in convo.messages)
            self.ratio = min(self.ratio, max(sent / error.tokens, 1.0))
        self.session.emit(
            Notice(
                level="warning", text=f"the provider refused the request as too long; compacting and retrying ({error})"
            )
        )
        from . import compact as engine

        try:
            await compact_session(self.session, trigger="auto", budget=await self.budget())
        except engine.CompactError as e:
            self.session.emit(Notice(level="error", text=f"automatic compaction failed: {e}"))
            return False
        return True


async def _find_window(model: Any) -> int:
    from sous.models import catalog

    if isinstance(getattr(model, "context_window", None), int):
        return model.context_window
    if known := catalog.lookup(model.name.partition(":")[2]):
        return known.context_window
    probe = getattr(model, "probe_context_window", None)
    if probe is not None and (size := await probe()):
        return size
    return catalog.DEFAULT.context_window


async def compact_session(
    session: Any, *, focus: str = "", trigger: str = "manual", budget: Budget | None = None
) -> engine.Outcome:
    """Compact `session`'s conversation in place (see the module doc). Raises `CompactError`,
    the conversation unchanged, when a PreCompact hook blocks, compaction is off or the model fails."""
    from . import compact as engine

    auto: AutoCompact | None = getattr(session, "auto_compact", None)
    if auto is not None and not auto.policy.manual:
        raise engine.CompactError("compaction is turned off (DISABLE_COMPACT)")
    if budget is None:
        budget = await auto.budget() if auto is not None else await _plain_budget(session)
    extra = ""
    if session.hooks is not None:
        verdict = await session.hooks.fire("PreCompact", trigger, {"trigger": trigger, "custom_instructions": focus})
        if verdict.block is not None:
            raise engine.CompactError(f"a PreCompact hook blocked compaction: {verdict.block}")
        extra = "\n".join(verdict.context)
    state = session.agent.ctx.state
    carry = engine.Carry(
        todos=tuple(state.get("todos") or ()),
        memory=session.memory.render() if session.memory is not None else "",
        transcript_path=str(session.transcript_path or ""),
        project_dir=session.agent.ctx.project_dir,
    )
    if trigger == "auto":
        session.emit(Notice(level="info", text="compacting the conversation to make room (automatic)"))
    own_cancel = session.cancel is None
    cancel = session.cancel or CancelToken()
    if own_cancel:
        session.cancel = cancel
    try:
        outcome = await engine.compact(
            session.agent.model,
            session.convo.system,
            session.convo.messages,
            budget,
            carry,
            focus=focus,
            extra=extra,
            cancel=cancel,
            measure=auto.measure if auto is not None else None,
            emit=lambda event: None if isinstance(event, TextDelta | ThinkingDelta) else session.emit(event),
        )
    finally:
        if own_cancel:
            session.cancel = None
    for reply in outcome.replies:
        session.side_usage += reply.usage
    if session.hooks is not None:
        await session.hooks.fire("PostCompact", trigger, {"trigger": trigger, "compact_summary": outcome.summary})
        verdict = await session.hooks.session_start("compact", session.agent.model.name)
        if verdict.context:
            note = "\n\n".join(f"<system-reminder>\n{text}\n</system-reminder>" for text in verdict.context)
            outcome.messages.insert(1, UserMessage(content=(Text(text=note),), id=new_id()))
    session.convo.messages = outcome.messages
    if session.writer is not None:
        session.writer.write(
            {
                "type": "compact",
                "subtype": "compact_boundary",
                "trigger": trigger,
                "pre_tokens": outcome.pre_tokens,
                "post_tokens": outcome.post_tokens,
            }
        )
        for message in outcome.messages:
            session.writer.message(message)
    if auto is not None:
        auto.stale = {m.id for m in outcome.messages}
        auto.compactions += 1
    session.emit(
        Notice(level="info", text=f"compacted ({trigger}): ~{outcome.pre_tokens:,} → ~{outcome.post_tokens:,} tokens")
    )
    return outcome


async def _plain_budget(session: Any) -> Budget:
    return budget_for(await _find_window(session.agent.model), session.agent.max_tokens)


@record(frozen=False)
class AgentView:
    """What compaction needs of a session, for a sub-agent: its agent, history and transcript
    (no hooks, no memory files: a sub-agent has neither)."""

    agent: Any
    convo: Conversation
    writer: Any = None
    emit: Callable[[Any], None] = lambda event: None
    hooks: Any = None
    memory: Any = None
    side_usage: Any = None
    auto_compact: AutoCompact | None = None

    def __post_init__(self) -> None:
        from sous.core import Usage

        self.side_usage = Usage()

    @property
    def transcript_path(self) -> Any:
        return self.writer.path if self.writer is not None else None

    @property
    def cancel(self) -> CancelToken:
        """The running sub-agent's token (its parent's): interrupting the parent stops a compaction."""
        return self.agent.ctx.cancel


def for_agent(policy: Policy, agent: Any, convo: Conversation, writer: Any = None) -> AutoCompact:
    """Give a sub-agent automatic compaction under the session's policy."""
    from sous.core import Chain

    view = AgentView(agent=agent, convo=convo, writer=writer, emit=agent.emit)
    auto = view.auto_compact = AutoCompact(view, policy)
    agent.middleware = Chain(agent.middleware, auto)
    agent.on_overflow = auto.recover
    return auto


def install(session: Any, policy: Policy) -> AutoCompact:
    """Add automatic compaction under `policy` to a session's parts (`sous.runtime.parts.SessionParts`):
    the middleware goes last in its agent's chain and `recover` becomes the agent's `on_overflow`.
    Sub-agents get theirs from `for_agent`, which the builder hands to the sub-agent runner."""
    from sous.core import Chain

    auto = AutoCompact(session, policy)
    agent = session.agent
    agent.middleware = (
        Chain(*agent.middleware.middlewares, auto)
        if isinstance(agent.middleware, Chain)
        else Chain(agent.middleware, auto)
    )
    agent.on_overflow = auto.recover
    session.auto_compact = auto
    return auto
