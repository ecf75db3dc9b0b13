"""A do-nothing middleware to extend, and `Chain` to stack several."""

from __future__ import annotations

from .messages import Message, ToolCall, ToolResultMessage
from .protocols import Allow, Ask, Deny, Middleware, Rewrite, ToolContext, ToolDecision


class PassThrough:
    """Implements every `Middleware` method as a no-op; subclass and override what you need."""

    async def before_model(self, messages: list[Message]) -> list[Message]:
        return messages

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        return Allow()

    async def settle(self, call: ToolCall, ask: Ask, ctx: ToolContext) -> ToolDecision | None:
        return None

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        return result

    async def after_turn(self, messages: list[Message]) -> list[Message]:
        return []


class Chain(PassThrough):
    """Runs middlewares in order and combines their verdicts, whatever the order:

    - a `Deny` stops the chain;
    - a `Rewrite` is passed on to the rest with the new arguments, and the last rewrite wins;
    - any `Ask` makes the combined verdict an `Ask` (approved when some middleware approved the
      call and every question came from the permission mode alone), which `settle` then hands
      to the middlewares in order until one answers it.
    """

    def __init__(self, *middlewares: Middleware):
        self.middlewares = list(middlewares)

    async def before_model(self, messages: list[Message]) -> list[Message]:
        for mw in self.middlewares:
            messages = await mw.before_model(messages)
        return messages

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        rewrite: Rewrite | None = None
        asks: list[Ask] = []
        approved = False
        for mw in self.middlewares:
            verdict = await mw.before_tool(call, ctx)
            if isinstance(verdict, Deny):
                return verdict
            if isinstance(verdict, Rewrite):
                call = ToolCall(id=call.id, name=call.name, arguments=verdict.arguments)
                rewrite = verdict
                if verdict.then == "ask":
                    asks.append(Ask(reason="a PreToolUse hook asks for approval", source="hook"))
                approved = approved or verdict.then == "approve"
            elif isinstance(verdict, Ask):
                asks.append(verdict)
            elif verdict.approve:
                approved = True
        if not asks:
            return rewrite if rewrite is not None else Allow(approve=approved)
        first = next((a for a in asks if a.detail is not None), asks[0])
        overridable = all(a.overridable for a in asks)
        return Ask(
            reason=first.reason,
            source=first.source,
            overridable=overridable,
            approved=approved and overridable,
            detail=first.detail,
            arguments=rewrite.arguments if rewrite is not None else None,
        )

    async def settle(self, call: ToolCall, ask: Ask, ctx: ToolContext) -> ToolDecision | None:
        for mw in self.middlewares:
            if (answer := await mw.settle(call, ask, ctx)) is not None:
                return answer
        return None

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        for mw in self.middlewares:
            result = await mw.after_tool(call, result)
        return result

    async def after_turn(self, messages: list[Message]) -> list[Message]:
        follow_ups: list[Message] = []
        for mw in self.middlewares:
            follow_ups.extend(await mw.after_turn(messages))
        return follow_ups
