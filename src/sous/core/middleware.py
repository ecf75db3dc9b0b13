"""A do-nothing middleware to extend, and `chain()` to stack several."""

from __future__ import annotations

from .messages import Message, ToolCall, ToolResultMessage
from .protocols import Allow, Deny, Middleware, Rewrite, ToolContext, ToolDecision


class PassThrough:
    """Implements every `Middleware` method as a no-op; subclass and override what you need."""

    async def before_model(self, messages: list[Message]) -> list[Message]:
        return messages

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        return Allow()

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        return result

    async def after_turn(self, messages: list[Message]) -> list[Message]:
        return []


class Chain(PassThrough):
    """Runs middlewares in order. A `Deny` stops the chain; a `Rewrite` is passed on to the rest
    with the new arguments, and the last rewrite wins."""

    def __init__(self, *middlewares: Middleware):
        self.middlewares = list(middlewares)

    async def before_model(self, messages: list[Message]) -> list[Message]:
        for mw in self.middlewares:
            messages = await mw.before_model(messages)
        return messages

    async def before_tool(self, call: ToolCall, ctx: ToolContext) -> ToolDecision:
        decision: ToolDecision = Allow()
        for mw in self.middlewares:
            verdict = await mw.before_tool(call, ctx)
            if isinstance(verdict, Deny):
                return verdict
            if isinstance(verdict, Rewrite):
                call = ToolCall(id=call.id, name=call.name, arguments=verdict.arguments)
                decision = verdict
        return decision

    async def after_tool(self, call: ToolCall, result: ToolResultMessage) -> ToolResultMessage:
        for mw in self.middlewares:
            result = await mw.after_tool(call, result)
        return result

    async def after_turn(self, messages: list[Message]) -> list[Message]:
        follow_ups: list[Message] = []
        for mw in self.middlewares:
            follow_ups.extend(await mw.after_turn(messages))
        return follow_ups
