"""Server-sent events: the framing both providers stream their answers in."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """Yield (event name, data) for each event; lines are given without their line ends.

    `data:` lines of one event are joined with newlines; comments (`:`) and other fields (`id:`,
    `retry:`) are skipped; a blank line dispatches the event. An event without a name is called
    "message". As the SSE standard says, an event still open when the stream ends is dropped: a
    stream cut mid-event must not hand half a JSON document to the parser.
    """
    name = ""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield name or "message", "\n".join(data)
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
