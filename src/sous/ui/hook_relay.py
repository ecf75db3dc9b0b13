"""Hook callbacks that live in the driving program (the SDK's Python hooks) run as sous hooks.

The program registers callbacks in its `initialize` request: `{"PreToolUse": [{"matcher": "Bash",
"hookCallbackIds": ["hook_0"], "timeout": 30}]}`. Each becomes an `http` hook handler in the
session's settings whose URL points at this relay on 127.0.0.1; the relay turns each POST into a
`hook_callback` request to the program and returns its answer as the hook's JSON output. So the
program's hooks go through the same hook machinery as settings hooks (matchers, decisions,
additionalContext, failure policy), and the session is never reached into.

The URL carries a random token, so no other local process can make the relay call the program.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

from .control import Channel, ControlError

DEFAULT_HOOK_TIMEOUT_S = 60.0


class HookRelay:
    def __init__(self, channel: Channel):
        self.channel = channel
        self.token = secrets.token_hex(16)
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.timeouts: dict[str, float] = {}
        """Each callback's own timeout: the relay stops waiting for the program when the hook does."""

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def settings(self, hooks: Any) -> dict[str, list[dict[str, Any]]]:
        """The `hooks` settings for the program's `initialize` hooks; raises `ValueError` for a shape
        that is not `{event: [{matcher, hookCallbackIds, timeout?}]}`."""
        if not isinstance(hooks, dict):
            raise ValueError('"hooks" must be an object of events')
        out: dict[str, list[dict[str, Any]]] = {}
        for event, matchers in hooks.items():
            if not isinstance(matchers, list):
                raise ValueError(f"hooks.{event} must be a list of matchers")
            for entry in matchers:
                ids = entry.get("hookCallbackIds") if isinstance(entry, dict) else None
                if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                    raise ValueError(f"hooks.{event}: each matcher needs a hookCallbackIds list")
                timeout = float(entry.get("timeout") or DEFAULT_HOOK_TIMEOUT_S)
                self.timeouts.update(dict.fromkeys(ids, timeout))
                handler_extra = {"onFailure": entry["onFailure"]} if entry.get("onFailure") else {}
                handlers = [
                    {
                        "type": "http",
                        "url": f"http://127.0.0.1:{self.port}/{self.token}/{cid}",
                        "timeout": timeout,
                        **handler_extra,
                    }
                    for cid in ids
                ]
                out.setdefault(event, []).append({"matcher": entry.get("matcher") or "", "hooks": handlers})
        return out

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status, body = 500, {"error": "bad request"}
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            _, path, _ = request_line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
            payload = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))) or b"{}")
            _, token, callback_id = path.split("/", 2)
            if not secrets.compare_digest(token, self.token):
                status, body = 403, {"error": "forbidden"}
            else:
                status, body = await self._call(callback_id, payload)
        except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            body = {"error": f"bad hook request: {e}"}
        data = json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + data
        )
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()

    async def _call(self, callback_id: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = {
            "subtype": "hook_callback",
            "callback_id": callback_id,
            "input": payload,
            "tool_use_id": payload.get("tool_use_id"),
        }
        try:
            return 200, await self.channel.request(request, timeout_s=self.timeouts.get(callback_id))
        except ControlError as e:
            return 502, {"error": str(e)}

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
