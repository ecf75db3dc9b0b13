"""`--input-format stream-json`: a program drives one session over stdin and stdout.

This is Claude Code's SDK protocol, so the unmodified Claude Agent SDK (`claude-agent-sdk`) drives
sous. Each stdin line is one JSON object:

- `{"type":"user","message":{"role":"user","content":...}}` — a prompt, run in order, all in
  one session; each turn prints assistant/user/result lines as `sous -p --output-format
  stream-json` does (system/init once, before the first turn).
- `{"type":"control_request","request_id":ID,"request":{"subtype":...}}` — answered at once with a
  `control_response` (`success` with `response`, or `error` with `error`): `initialize` (hook
  callbacks, agent types), `interrupt`, `set_permission_mode`, `set_model`. An unknown subtype is
  an error response, never a crash.
- `{"type":"control_response",...}` — the program's answer to a request sous sent it:
  `can_use_tool` (with `--permission-prompt-tool stdio`; `agent_id` names the sub-agent asking,
  and sub-agents asking the same at once are asked once, the answer reaching all) and `hook_callback`.

Every wait for the program is bounded (`SOUS_SDK_REPLY_TIMEOUT_S`, 60 s by default): a program
that never answers gets its permission question denied and its hook counted as failed (a
PreToolUse hook then blocks), and the run goes on. When stdin closes, the queued prompts are run
and sous exits 0; questions still waiting are denied, since no answer can come.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import sys
import threading
from typing import Any, TextIO

from sous.core import Image, PermissionRequest, Text, UserMessage, new_id
from sous.records import record

DEFAULT_REPLY_TIMEOUT_S = 60.0


class Channel:
    """The wire: lines out on `out`, and requests to the program that wait for its `control_response`."""

    def __init__(self, out: TextIO, timeout_s: float):
        self.out = out
        self.timeout_s = timeout_s
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self.closed = False
        """stdin is closed: no answer can arrive any more."""

    def line(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()

    def respond(self, request_id: str, response: dict[str, Any] | None = None, *, error: str | None = None) -> None:
        body: dict[str, Any] = {"subtype": "success", "request_id": request_id, "response": response or {}}
        if error is not None:
            body = {"subtype": "error", "request_id": request_id, "error": error}
        self.line({"type": "control_response", "response": body})

    async def request(self, request: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        """Send a control request and return the program's `response`; raises `ControlError` for an
        error answer, a closed stdin or no answer within the timeout (the request is then cancelled)."""
        if self.closed:
            raise ControlError(f"the program closed its input; {request.get('subtype')} cannot be asked")
        request_id = f"sous_{next(self._ids)}_{secrets.token_hex(4)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self.line({"type": "control_request", "request_id": request_id, "request": request})
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self.line({"type": "control_cancel_request", "request_id": request_id})
            raise ControlError(f"the program did not answer {request.get('subtype')} within {timeout:g}s") from None
        finally:
            self._pending.pop(request_id, None)

    def settle(self, response: dict[str, Any]) -> bool:
        """Deliver a `control_response` to the request waiting for it; False when none is."""
        future = self._pending.get(str(response.get("request_id")))
        if future is None or future.done():
            return False
        if response.get("subtype") == "error":
            future.set_exception(ControlError(str(response.get("error") or "the program answered with an error")))
        else:
            payload = response.get("response")
            future.set_result(payload if isinstance(payload, dict) else {})
        return True

    def close(self) -> None:
        """stdin ended: every request still waiting fails now instead of at its timeout."""
        self.closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ControlError("the program closed its input before answering"))


class ControlError(Exception):
    """A request to the program failed (an error answer, a timeout, a closed input)."""


@record
class Prompt:
    message: UserMessage
    uuid: str | None
    content: Any = None
    """The message content as the program sent it (echoed back by `--replay-user-messages`)."""


def user_message(obj: dict[str, Any]) -> Prompt:
    """A stdin `user` line as a prompt; raises `ValueError` (one line) for a shape sous cannot use."""
    message = obj.get("message")
    if not isinstance(message, dict):
        raise ValueError('a "user" line needs a "message" object')
    content = message.get("content")
    if isinstance(content, str):
        blocks: list[Any] = [Text(text=content)]
    elif isinstance(content, list):
        blocks = []
        for block in content:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text" and isinstance(block.get("text"), str):
                blocks.append(Text(text=block["text"]))
            elif kind == "image" and isinstance(block.get("source"), dict) and block["source"].get("type") == "base64":
                blocks.append(
                    Image(media_type=str(block["source"].get("media_type")), data=str(block["source"].get("data")))
                )
            else:
                raise ValueError(f"unsupported content block in a user message: {json.dumps(block)[:120]}")
    else:
        raise ValueError('a user message\'s "content" must be a string or a list of blocks')
    if not blocks:
        raise ValueError("a user message with no content")
    uuid = obj.get("uuid")
    return Prompt(
        message=UserMessage(content=tuple(blocks), id=new_id()),
        uuid=uuid if isinstance(uuid, str) and uuid else None,
        content=content,
    )


def stdin_lines(loop: asyncio.AbstractEventLoop, stream: Any = None) -> asyncio.Queue[str | None]:
    """Lines of stdin as they arrive, then None at its end. A daemon thread reads, so pipes, files
    and terminals all work and a process leaving early is never held by it."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    stream = stream or sys.stdin

    def read() -> None:
        try:
            for line in stream:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            loop.call_soon_threadsafe(queue.put_nowait, f"\0{e}")
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="sous-stdin", daemon=True).start()
    return queue


def permission_answer(reply: dict[str, Any]) -> Any:
    """The program's `can_use_tool` answer as a permission `Answer`; anything but a clear allow
    or deny is a denial that says why (fail closed)."""
    from sous.permissions import Answer

    behavior = reply.get("behavior")
    if behavior == "allow":
        updated = reply.get("updatedInput")
        if updated is not None and not isinstance(updated, dict):
            return Answer(allow=False, feedback="the program's updatedInput is not an object; the call was not run")
        return Answer(allow=True, updated_input=updated)
    if behavior == "deny":
        return Answer(allow=False, feedback=str(reply.get("message") or "denied by the program"))
    return Answer(allow=False, feedback=f"the program gave no permission decision: {json.dumps(reply)[:200]}")


class Permissions:
    """`--permission-prompt-tool stdio`: each permission question of the session becomes a
    `can_use_tool` request to the program, and its answer settles the question."""

    def __init__(self, session: Any, channel: Channel):
        self.session = session
        self.channel = channel
        self.tasks: set[asyncio.Task[None]] = set()

    def __call__(self, event: Any) -> None:
        if isinstance(event, PermissionRequest):
            task = asyncio.ensure_future(self._ask(event))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _ask(self, event: PermissionRequest) -> None:
        from sous.permissions import Answer

        call = event.call
        request = {
            "subtype": "can_use_tool",
            "tool_name": call.name,
            "input": call.arguments,
            "tool_use_id": call.id,
            "permission_suggestions": [],
        }
        reason = getattr(event.detail, "reason", None)
        if reason:
            request["decision_reason"] = str(reason)
        if agent_id := getattr(event.detail, "agent_id", ""):  # a sub-agent asks, as Claude Code labels it
            request["agent_id"] = str(agent_id)
        try:
            answer = permission_answer(await self.channel.request(request))
        except ControlError as e:
            answer = Answer(allow=False, feedback=f"permission denied: {e}")
        self.session.answer(event.request_id, answer)
