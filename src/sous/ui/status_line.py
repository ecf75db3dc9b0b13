"""The `statusLine` setting: a command whose first line of output is the terminal's status bar.

`{"type": "command", "command": "~/.claude/statusline.sh", "padding": 0, "refreshInterval": 5}`,
as Claude Code reads it. The command gets Claude Code's JSON on stdin (model, workspace, cost,
context window, session id, transcript path, version, output style) and its first line of
stdout, ANSI colours kept, is shown. It runs in the background and is throttled: after an
event it runs again, at most once per 300 ms, never twice at once; `refreshInterval` (seconds)
also runs it on a clock. A command that takes longer than its timeout is killed; one that fails
or prints nothing leaves the last good line in place (or sous's own status). The terminal never
waits for it: the status bar reads `text`, which only changes when a run has finished.

The runtime drops a project's `statusLine` that was not approved (`sous trust`), so whatever
`Session.status_line` gives is the user's own or approved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

THROTTLE_S = 0.3
"""Claude Code's debounce between two runs."""
TIMEOUT_S = 5.0
MAX_OUTPUT_BYTES = 64 * 1024
"""Read past this and the rest is ignored (a status line is one line)."""


def payload(session: Any) -> dict[str, Any]:
    """Claude Code's status-line input, from the Session API."""
    import sous

    totals = session.totals
    usage = totals.usage + session.side_usage
    use = session.context_use()
    model = session.model.name
    style = session.output_style
    return {
        "hook_event_name": "Status",
        "session_id": session.id,
        "transcript_path": str(session.transcript_path or ""),
        "cwd": session.cwd,
        "model": {"id": model.partition(":")[2] or model, "display_name": model},
        "workspace": {
            "current_dir": session.cwd,
            "project_dir": session.project_dir,
            "added_dirs": list(session.added_dirs),
        },
        "version": sous.__version__,
        "output_style": {"name": style},
        "cost": {
            "total_cost_usd": round(usage.cost_usd, 6),
            "total_duration_ms": totals.duration_ms,
            "total_api_duration_ms": totals.api_ms,
            "total_lines_added": totals.lines_added,
            "total_lines_removed": totals.lines_removed,
        },
        "context_window": {
            "total_input_tokens": usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
            "total_output_tokens": usage.output_tokens,
            "context_window_size": use.window,
            "used_percentage": round(use.percent, 1) if use.window else 0,
            "remaining_percentage": round(100 - use.percent, 1) if use.window else 100,
        },
        "exceeds_200k_tokens": use.used > 200_000,
    }


class StatusLine:
    """Runs the configured command in the background and keeps its latest first line."""

    def __init__(
        self,
        config: dict[str, Any],
        make_payload: Callable[[], dict[str, Any]],
        *,
        cwd: str,
        environ: dict[str, str],
        redraw: Callable[[], None] = lambda: None,
        timeout_s: float = TIMEOUT_S,
    ):
        self.command = str(config.get("command") or "")
        padding = config.get("padding")
        self.padding = padding if isinstance(padding, int) and 0 <= padding <= 20 else 0
        interval = config.get("refreshInterval")
        self.interval = float(interval) if isinstance(interval, (int, float)) and interval >= 1 else None
        self.make_payload = make_payload
        self.cwd = cwd
        self.environ = environ
        self.redraw = redraw
        self.timeout_s = timeout_s
        self.text = ""
        """The latest line the command printed ("" until one run has succeeded)."""
        self.failure = ""
        """Why the latest run gave nothing ("" after a good run)."""
        self.runs = 0
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.command and self._task is None:
            self._task = asyncio.ensure_future(self._loop())
            self.request()

    def request(self) -> None:
        """Ask for a new run (after an event); cheap, never blocks."""
        self._wanted.set()

    def __call__(self, event: object) -> None:
        self.request()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _loop(self) -> None:
        last = 0.0
        while True:
            if self.interval is None:
                await self._wanted.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wanted.wait(), self.interval)
            if (wait := THROTTLE_S - (time.monotonic() - last)) > 0:
                await asyncio.sleep(wait)
            self._wanted.clear()  # events during the run ask for the next one
            last = time.monotonic()
            line, self.failure = await self.run_once()
            self.runs += 1
            if line is not None and line != self.text:
                self.text = line
                self.redraw()

    async def run_once(self) -> tuple[str | None, str]:
        """Run the command once: (its first line, "") or (None, why not). Never raises but for
        cancellation; the command is killed at the timeout."""
        try:
            data = json.dumps(self.make_payload()).encode()
        except Exception as e:  # a view that fails must not end the status line's loop
            return None, f"could not describe the session: {e}"
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                self.command,
                cwd=self.cwd,
                env=self.environ,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as e:
            return None, f"could not start: {e.strerror or e}"
        try:
            out, capped = await asyncio.wait_for(self._talk(proc, data), self.timeout_s)
        except TimeoutError:
            _kill(proc)
            return None, f"timed out after {self.timeout_s:g}s"
        except asyncio.CancelledError:
            _kill(proc)
            raise
        finally:
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await asyncio.wait_for(proc.wait(), 1)
        if proc.returncode != 0 and not capped:
            return None, f"exit code {proc.returncode}"
        first = out.decode("utf-8", "replace").strip("\n").split("\n", 1)[0].rstrip("\r")
        if not first.strip():
            return None, "printed nothing"
        return " " * self.padding + _printable(first), ""

    async def _talk(self, proc: asyncio.subprocess.Process, data: bytes) -> tuple[bytes, bool]:
        """Its stdout, and whether it was cut off (and the command killed) for being too long."""
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(data)
            await proc.stdin.drain()
            proc.stdin.close()
        out = bytearray()
        while chunk := await proc.stdout.read(65536):
            out += chunk
            if len(out) > MAX_OUTPUT_BYTES:  # a runaway printer: its first line is all that is shown
                _kill(proc)
                await proc.wait()
                return bytes(out[:MAX_OUTPUT_BYTES]), True
        await proc.wait()
        return bytes(out), False


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _printable(line: str) -> str:
    """The line without control characters other than colour sequences (a stray cursor move or
    bell in a script's output must not disturb the screen)."""
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\x1b" and i + 1 < len(line) and line[i + 1] == "[":
            j = i + 2
            while j < len(line) and (line[j].isdigit() or line[j] == ";"):
                j += 1
            if j < len(line) and line[j] == "m":
                out.append(line[i : j + 1])
            i = j + 1
            continue
        if ch == "\t":
            out.append(" ")
        elif ch.isprintable():
            out.append(ch)
        i += 1
    return "".join(out)[:1000]
