"""Cooperative cancellation shared by the loop, the model stream and the tools."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

BY_USER = "interrupted by user"
"""The reason of an interruption the person asked for; a hook or the session gives its own."""


class CancelToken:
    """Set once by whoever wants the run to stop (Esc, Ctrl-C, a parent agent).

    Work in progress checks `cancelled` or awaits `wait()`; a running tool is cancelled by the
    loop, which races it against `wait()`. A token is never reset: a new run gets a new token.
    """

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.reason = ""

    def cancel(self, reason: str = BY_USER) -> None:
        self.reason = reason
        self._event.set()

    def marker(self, by_user: str) -> str:
        """The note a stopped run leaves: `by_user` when the person stopped it, else what did."""
        return by_user if self.reason in ("", BY_USER) else f"[Run stopped: {self.reason}]"

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    async def race(self, work: Awaitable[Any]) -> asyncio.Future[Any] | None:
        """Run `work` until it ends or the token fires: the finished task (read its result), or
        None once `work` has been cancelled and has cleaned up (a stream closed, a process killed)."""
        task, waiter = asyncio.ensure_future(work), asyncio.ensure_future(self.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return None if task.cancelled() else task
