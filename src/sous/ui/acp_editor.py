"""The editor's file system and terminals over ACP, as the tools' `Editor` (`sous.tools._editor`).

Read, Write and Edit go through `fs/read_text_file` and `fs/write_text_file`; Bash runs in
`terminal/create`, waits with `terminal/wait_for_exit`, reads `terminal/output` and always ends
with `terminal/release` (after `terminal/kill` when the command times out or the run is
cancelled). Each request waits `SOUS_ACP_TIMEOUT_MS` (30 s) at most, the wait for a command its
own timeout; an error, a malformed answer or silence becomes one `EditorError` line for the model.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sous.core.loop import current_call
from sous.tools._editor import Capability, EditorError, Finished

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 30.0


def request_timeout(environ: Mapping[str, str]) -> float:
    """Seconds to wait for the editor's answer to one request (`SOUS_ACP_TIMEOUT_MS`)."""
    try:
        ms = float(environ.get("SOUS_ACP_TIMEOUT_MS") or DEFAULT_TIMEOUT_S * 1000)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return ms / 1000 if 0 < ms < math.inf else DEFAULT_TIMEOUT_S  # never unbounded


def offered(capabilities: Any) -> set[Capability]:
    """What the client's `clientCapabilities` offer (none when it sent none)."""
    fs = getattr(capabilities, "fs", None)
    found: set[Capability] = set()
    if getattr(fs, "read_text_file", False):
        found.add("reads")
    if getattr(fs, "write_text_file", False):
        found.add("writes")
    if getattr(capabilities, "terminal", False):
        found.add("terminals")
    return found


class _NoAnswer(EditorError):
    pass


class AcpEditor:
    """One session's editor. `session_id` and `on_terminal` are set once the session is open:
    `on_terminal(call_id, terminal_id)` lets the tool call show the terminal."""

    def __init__(self, conn: Any, capabilities: set[Capability], timeout_s: float):
        self.conn = conn
        self.capabilities = capabilities
        self.timeout_s = timeout_s
        self.session_id = ""
        self.on_terminal: Callable[[str, str], None] = lambda call_id, terminal_id: None

    def offers(self, capability: Capability) -> bool:
        return capability in self.capabilities

    async def _ask(self, method: str, request: Awaitable[T], timeout_s: float | None = None) -> T:
        from acp import RequestError
        from pydantic import ValidationError

        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(request, limit)
        except TimeoutError:
            raise _NoAnswer(f"the editor did not answer {method} within {limit:g} s") from None
        except RequestError as e:
            raise EditorError(f"the editor refused {method}: {e}") from e
        except ValidationError as e:
            raise EditorError(f"the editor's answer to {method} is malformed ({e.error_count()} errors)") from e
        except ConnectionError as e:
            raise EditorError(f"{method}: the connection to the editor is closed") from e

    async def read_text(self, path: str) -> str:
        reply = await self._ask("fs/read_text_file", self.conn.read_text_file(session_id=self.session_id, path=path))
        return reply.content

    async def write_text(self, path: str, text: str) -> None:
        await self._ask(
            "fs/write_text_file", self.conn.write_text_file(session_id=self.session_id, path=path, content=text)
        )

    async def run(self, argv: list[str], *, cwd: str, env: dict[str, str], timeout_s: float, limit: int) -> Finished:
        from acp.schema import EnvVariable

        # The editor started sous, so its terminals start from the environment sous inherited:
        # only what sous changed is sent (a variable sous removed is sent empty).
        changed = {k: v for k, v in env.items() if os.environ.get(k) != v}
        changed |= {k: "" for k in os.environ if k not in env}
        created = await self._started(
            "terminal/create",
            self.conn.create_terminal(
                session_id=self.session_id,
                command=argv[0],
                args=argv[1:],
                env=[EnvVariable(name=k, value=v) for k, v in changed.items()],
                cwd=cwd,
                output_byte_limit=limit,
            ),
        )
        terminal = created.terminal_id
        ids = {"session_id": self.session_id, "terminal_id": terminal}
        if call_id := current_call.get():
            self.on_terminal(call_id, terminal)
        try:
            return await self._follow(terminal, timeout_s)
        except EditorError as e:
            raise EditorError(f"the command started, but {e}") from e
        except asyncio.CancelledError:
            await self._quietly("terminal/kill", self.conn.kill_terminal(**ids))
            raise
        finally:
            await self._quietly("terminal/release", self.conn.release_terminal(**ids))

    async def _started(self, method: str, request: Awaitable[T]) -> T:
        try:
            return await self._ask(method, request)
        except _NoAnswer as e:  # a late answer may still start it: say only what is known
            raise EditorError(f"the command's start was not confirmed: {e}") from e
        except EditorError as e:
            raise EditorError(f"the command did not start: {e}") from e

    async def _follow(self, terminal: str, timeout_s: float) -> Finished:
        ids = {"session_id": self.session_id, "terminal_id": terminal}
        timed_out = False
        code: int | None = None
        try:
            status = await self._ask("terminal/wait_for_exit", self.conn.wait_for_terminal_exit(**ids), timeout_s)
            code = _exit_code(status.exit_code, status.signal)
        except _NoAnswer:  # the command outlived its timeout
            timed_out = True
            await self._ask("terminal/kill", self.conn.kill_terminal(**ids))
        output = await self._ask("terminal/output", self.conn.terminal_output(**ids))
        if code is None and output.exit_status is not None and not timed_out:
            code = _exit_code(output.exit_status.exit_code, output.exit_status.signal)
        return Finished(output=output.output, exit_code=code, truncated=output.truncated, timed_out=timed_out)

    async def _quietly(self, method: str, request: Awaitable[Any]) -> None:
        """A clean-up request: bounded, carried on even when the run is cancelled meanwhile, and
        only reported when it fails (the tool's result is already decided)."""
        try:
            await asyncio.shield(self._ask(method, request))
        except EditorError as e:
            sys.stderr.write(f"sous: {method} failed: {e}\n")


def _exit_code(code: int | None, signal_name: str | None) -> int | None:
    """The exit status as a process's return code: negative for a signal, None when unknown."""
    if code is not None:
        return code
    name = str(signal_name).upper()
    try:
        return -signal.Signals[name if name.startswith("SIG") else f"SIG{name}"].value
    except KeyError:
        return None
