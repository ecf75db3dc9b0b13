"""Cooperative cancellation shared by the loop, the model stream and the tools."""

from __future__ import annotations

import asyncio


class CancelToken:
    """Set once by whoever wants the run to stop (Esc, Ctrl-C, a parent agent).

    Work in progress checks `cancelled` or awaits `wait()`; a running tool is cancelled by the
    loop, which races it against `wait()`. A token is never reset: a new run gets a new token.
    """

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.reason = ""

    def cancel(self, reason: str = "interrupted by user") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()
