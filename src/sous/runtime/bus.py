"""The session's event stream and its pending questions: what front ends subscribe to and answer.

`EventBus` is made first by the builder and handed to every part that emits (the loop, the
permission layer, sub-agents, hooks' notices), so nothing is wired to the session after it is
built. `Questions` turns a permission question into a `PermissionRequest` event and waits for
`Session.answer()`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from sous.core import CancelToken, Event, ModeChanged, PermissionRequest, RunEnd, ToolCall

Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers every event, in order, to each subscriber. Subscribers must not block or raise."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._held: list[Event] | None = None

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add `subscriber`; the returned function removes it again."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    def hold_run_end(self) -> None:
        """Keep the next `RunEnd` back until `release()`: the session finishes the run's record
        (which needs the checkpoint that closes the run) before anyone hears that the run ended."""
        self._held = []

    def release(self) -> None:
        """Deliver what `hold_run_end()` kept, and hold nothing more."""
        held, self._held = self._held or [], None
        for event in held:
            self.emit(event)

    def emit(self, event: Event) -> None:
        if self._held is not None and isinstance(event, RunEnd):
            self._held.append(event)
            return
        for subscriber in list(self._subscribers):
            subscriber(event)


class Questions:
    """Permission questions waiting for a front end's answer."""

    def __init__(self, emit: Callable[[Event], None]):
        self._emit = emit
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._waited = 0.0
        self._since: float | None = None

    async def ask(self, call: ToolCall, detail: Any) -> Any:
        """The permission layer's asker: emit the question, wait for `answer()`. Cancelled with
        the run (the question is then withdrawn)."""
        request_id = f"q{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not self._waiting:
            self._since = time.monotonic()
        self._waiting[request_id] = future
        try:
            self._emit(PermissionRequest(request_id=request_id, call=call, detail=detail))
            return await future
        finally:
            self._waiting.pop(request_id, None)
            if not self._waiting and self._since is not None:
                self._waited += time.monotonic() - self._since
                self._since = None

    @property
    def waited(self) -> float:
        """Seconds during which at least one question waited for an answer (the person's time,
        not the run's: `/cost` leaves it out of run time)."""
        return self._waited + (time.monotonic() - self._since if self._since is not None else 0.0)

    def answer(self, request_id: str, answer: Any) -> bool:
        """Settle a waiting question; False when there is none by that id (already answered or gone)."""
        future = self._waiting.get(request_id)
        if future is None or future.done():
            return False
        future.set_result(answer)
        return True

    @property
    def waiting(self) -> list[str]:
        return list(self._waiting)


class Runs:
    """The cancel token of the run under way, if any: the session starts and ends runs here, and
    anything made before the session (a hook's `continue: false`) can stop the current one."""

    def __init__(self) -> None:
        self.current: CancelToken | None = None

    def begin(self) -> CancelToken:
        self.current = CancelToken()
        return self.current

    def finish(self) -> None:
        self.current = None

    def interrupt(self, reason: str = "interrupted by user") -> bool:
        """Cancel the current run; False when nothing runs."""
        if self.current is None:
            return False
        self.current.cancel(reason)
        return True


class CurrentMode:
    """The permission mode as the events tell it, for parts made before the permission layer (hooks)."""

    def __init__(self, mode: str):
        self.mode = mode

    def __call__(self, event: Event) -> None:
        if isinstance(event, ModeChanged):
            self.mode = event.new

    def get(self) -> str:
        return self.mode
