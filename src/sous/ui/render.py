"""What the interactive terminal prints for the session's events, rendered with rich.

Output is inline (no alternate screen): everything lands in the terminal's own scrollback. The
assistant's text is rendered as Markdown one finished block at a time (a paragraph at its blank
line, a code block at its closing fence), so nothing printed is ever redrawn. Each tool call is
one line, its result folded to a few lines; edits show as a coloured diff and the todo list as a
checklist. rich is imported on the first event, not at start-up.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import deque
from typing import Any

from sous.core import Notice, Retry, RunEnd, TextDelta, ThinkingDelta, ToolCall, ToolEnd, ToolStart, TurnStart
from sous.labels import call_label

FOLD_LINES = 4
RENDER_BATCH_S = 0.03
RENDER_SLICE = 4000
SLICE_S = 0.02
DIFF_LINES = 40


def fold(text: str, lines: int = FOLD_LINES) -> list[str]:
    """The first `lines` lines of a result and a count of the rest: never silently cut."""
    rows = text.rstrip("\n").splitlines() or ["(no output)"]
    shown = [r if len(r) <= 400 else r[:399] + "…" for r in rows[:lines]]
    if len(rows) > lines:
        shown.append(f"… +{len(rows) - lines} lines")
    return shown


class MarkdownBlocks:
    """Cuts streamed Markdown into finished blocks: a paragraph ends at a blank line, a fenced
    code block at its closing fence. `feed` returns the blocks completed by the new text."""

    def __init__(self) -> None:
        self.pending = ""
        self.block: list[str] = []
        self.fence: str | None = None

    def feed(self, text: str) -> list[str]:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        done: list[str] = []
        for line in lines:
            stripped = line.strip()
            if self.fence is not None:
                self.block.append(line)
                if stripped.startswith(self.fence) and stripped.strip("`~") == "":
                    self.fence = None
                    done.append(self._take())
            elif stripped.startswith(("```", "~~~")):
                if self.block:
                    done.append(self._take())
                self.fence = stripped[:3]
                self.block.append(line)
            elif not stripped:
                if self.block:
                    done.append(self._take())
            else:
                self.block.append(line)
        return done

    def flush(self) -> str:
        if self.pending:
            self.block.append(self.pending)
            self.pending = ""
        self.fence = None
        return self._take() if self.block else ""

    def _take(self) -> str:
        text, self.block = "\n".join(self.block), []
        return text


class Glyphs:
    def __init__(self, ascii_only: bool):
        self.call, self.result, self.error, self.think = ("*", "|", "x", "~") if ascii_only else ("⏺", "⎿", "✗", "✻")


def wants_ascii(stream: Any = None) -> bool:
    encoding = (getattr(stream or sys.stdout, "encoding", "") or "").lower().replace("-", "")
    return encoding not in ("utf8", "utf16", "utf32")


class Renderer:
    """A session subscriber printing to a rich Console (made on first use by `make_console`)."""

    def __init__(self, make_console, *, ascii_only: bool = False, cwd: str = "", last_run: Any = None):
        self._make_console = make_console
        self.last_run = last_run
        """Returns the session's `last_run` (what the run changed and ran), shown when a run ends."""
        self._console = None
        self.glyphs = Glyphs(ascii_only)
        self.ascii_only = ascii_only
        self.cwd = cwd
        self.blocks = MarkdownBlocks()
        self.jobs: deque[tuple[str, Any, Any]] = deque()
        """Output waiting to be rendered: ("print", things, options) or ("markdown", text, None)."""
        self._scheduled: asyncio.TimerHandle | None = None
        self.blocks_shown = 0
        """Markdown blocks printed for the current message: the next one is set off by a blank line."""
        self.thinking = False
        self.busy_since: float | None = None
        self.streamed_chars = 0
        """Characters of text streamed in this run, for the status line's live token count."""

    @property
    def console(self):
        if self._console is None:
            self._console = self._make_console()
        return self._console

    def print(self, *things: Any, **options: Any) -> None:
        """Queue output; it is rendered in order, in slices that keep the prompt responsive."""
        self.jobs.append(("print", things, options))
        self._kick()

    def note(self, text: str, style: str = "dim") -> None:
        from rich.text import Text

        self.print(Text(text, style=style))

    def __call__(self, event: Any) -> None:
        if isinstance(event, TextDelta):
            self.streamed_chars += len(event.text)
            for block in self.blocks.feed(event.text):
                self._markdown(block)
            return
        if isinstance(event, ThinkingDelta):
            if not self.thinking:
                self.thinking = True
                self.note(f"{self.glyphs.think} Thinking…", "dim italic")
            return
        self.thinking = False
        if not isinstance(event, TurnStart):
            self.flush_text()
            self.blocks_shown = 0
        if isinstance(event, TurnStart) and self.busy_since is None:
            self.busy_since = time.monotonic()
        elif isinstance(event, ToolStart):
            self._tool_line(event.call)
        elif isinstance(event, ToolEnd):
            self._tool_result(event)
        elif isinstance(event, Retry):
            self.note(
                f"  retrying in {event.delay_s:.1f}s (attempt {event.attempt} of {event.max_retries}, "
                f"{event.status or 'no answer'}): {event.error}",
                "dim",
            )
        elif isinstance(event, Notice):
            self.note(f"{event.level}: {event.text}", "yellow" if event.level == "warning" else "dim")
        elif isinstance(event, RunEnd):
            self._run_end(event)

    def _kick(self, delay: float = 0.0) -> None:
        """Have the queue drained soon (text a few milliseconds later, so that blocks arriving
        together are rendered in one call: rich's cost is mostly per call)."""
        if self._scheduled is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (tests, tools): render now
            return self.drain()
        self._scheduled = loop.call_later(delay, self._drain_slice)

    def _drain_slice(self) -> None:
        """Render for at most `SLICE_S`, then let the event loop read keys before going on."""
        self._scheduled = None
        deadline = time.perf_counter() + SLICE_S
        while self.jobs and time.perf_counter() < deadline:
            self._render_one()
        if self.jobs:
            self._kick()

    def drain(self) -> None:
        """Render everything waiting (before the terminal is handed back)."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        while self.jobs:
            self._render_one()

    def _render_one(self) -> None:
        kind, payload, options = self.jobs.popleft()
        if kind == "print":
            self.console.print(*payload, **options)
            return
        from rich.markdown import Markdown

        text, size = payload, len(payload)  # consecutive blocks go into one Markdown, up to a slice
        while self.jobs and self.jobs[0][0] == "markdown" and size < RENDER_SLICE:
            more = self.jobs.popleft()[1]
            text, size = f"{text}\n\n{more}", size + len(more)
        self.console.print(Markdown(text, code_theme="ansi_dark"))

    def flush_text(self) -> None:
        if rest := self.blocks.flush():
            self._markdown(rest)

    def _markdown(self, block: str) -> None:
        if self.blocks_shown and not (self.jobs and self.jobs[-1][0] == "markdown"):
            self.print()  # blocks merged into one Markdown get their spacing from it
        self.blocks_shown += 1
        self.jobs.append(("markdown", block, None))
        self._kick(RENDER_BATCH_S)

    def _tool_line(self, call: ToolCall) -> None:
        from rich.text import Text

        width = max(self.console.width - len(call.name) - 6, 10)
        line = Text(f"{self.glyphs.call} ", style="green")
        line.append(
            call_label(call, width).replace(self.cwd + "/", "") if self.cwd else call_label(call, width), style="bold"
        )
        self.print(line)

    def _tool_result(self, event: ToolEnd) -> None:
        from rich.text import Text

        result, call = event.result, event.call
        data = result.data if isinstance(result.data, dict) else {}
        if not result.is_error and call.name == "TodoWrite":
            return self._todos(call.arguments.get("todos") or [])
        if not result.is_error and call.name in ("Edit", "MultiEdit", "Write") and data:
            return self._diff(call, data)
        lines = fold(result.text)
        if not result.is_error and call.name == "Read":
            lines = [f"Read {len(result.text.splitlines())} lines"]
        mark, style = (self.glyphs.error, "red") if result.is_error else (self.glyphs.result, "dim")
        for i, row in enumerate(lines):
            self.print(Text(f"  {mark if i == 0 else ' '} {row}", style=style), soft_wrap=True)

    def _diff(self, call: ToolCall, data: dict) -> None:
        from rich.text import Text

        hunks = data.get("structuredPatch") or []
        path = os.path.relpath(str(data.get("filePath") or ""), self.cwd or None) if data.get("filePath") else ""
        added = sum(1 for h in hunks for line in h["lines"] if line.startswith("+"))
        removed = sum(1 for h in hunks for line in h["lines"] if line.startswith("-"))
        if data.get("type") == "create":
            content = str(data.get("content") or "")
            summary = f"Wrote {len(content.splitlines())} lines to {path}"
            hunks = [{"oldStart": 1, "newStart": 1, "lines": ["+" + line for line in content.splitlines()]}]
        else:
            summary = f"Updated {path}: {added} added, {removed} removed"
        self.print(Text(f"  {self.glyphs.result} {summary}", style="dim"))
        self._hunks(hunks)

    def preview_write(self, path: str, content: str) -> None:
        """What a Write request would do, shown before the person answers: the new file's first
        lines, or the diff against the file it replaces (both capped at `DIFF_LINES`)."""
        import difflib

        from rich.text import Text

        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                old: str | None = f.read()
        except (OSError, ValueError):
            old = None
        new_lines = content.splitlines()
        if old is None:
            self.print(Text(f"  new file, {len(new_lines)} lines:", style="dim"))
            return self._hunks([{"oldStart": 1, "newStart": 1, "lines": ["+" + line for line in new_lines]}])
        hunks: list[dict[str, Any]] = []
        old_lines = old.splitlines()
        for group in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_grouped_opcodes(2):
            lines = []
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    lines += [" " + line for line in old_lines[i1:i2]]
                else:
                    lines += ["-" + line for line in old_lines[i1:i2]]
                    lines += ["+" + line for line in new_lines[j1:j2]]
            hunks.append({"oldStart": group[0][1] + 1, "newStart": group[0][3] + 1, "lines": lines})
        added = sum(1 for h in hunks for line in h["lines"] if line.startswith("+"))
        removed = sum(1 for h in hunks for line in h["lines"] if line.startswith("-"))
        if not hunks:
            return self.print(Text("  replaces the file with the same content", style="dim"))
        self.print(Text(f"  replaces the file: {added} added, {removed} removed", style="dim"))
        self._hunks(hunks)

    def _hunks(self, hunks: list[dict]) -> None:
        from rich.text import Text

        shown = 0
        total = sum(len(h["lines"]) for h in hunks)
        for hunk in hunks:
            old, new = hunk.get("oldStart", 1), hunk.get("newStart", 1)
            for line in hunk["lines"]:
                if shown == DIFF_LINES:
                    self.print(Text(f"      … +{total - shown} diff lines", style="dim"))
                    return
                sign, body = line[:1], line[1:]
                if sign == "-":
                    number, style, old = old, "red", old + 1
                elif sign == "+":
                    number, style, new = new, "green", new + 1
                else:
                    number, style, old, new = new, "dim", old + 1, new + 1
                self.print(Text(f"  {number:>5} {sign} {body}", style=style), soft_wrap=True, overflow="ellipsis")
                shown += 1

    def _todos(self, todos: list[dict]) -> None:
        from rich.text import Text

        from .slash import todo_lines

        for i, (todo, row) in enumerate(zip(todos, todo_lines(todos, self.ascii_only), strict=True)):
            style = {"completed": "dim strike", "in_progress": "bold"}.get(todo.get("status", ""), "")
            prefix = f"  {self.glyphs.result} " if i == 0 else "    "
            self.print(Text(prefix + row, style=style))

    def _run_end(self, end: RunEnd) -> None:
        self.busy_since = None
        self.streamed_chars = 0
        if end.reason == "aborted":
            self.note(f"  {self.glyphs.result} Interrupted · what should sous do instead?", "yellow")
        elif end.reason == "error" and end.last_message is not None:
            self.note(f"error: {end.last_message.error}", "bold red")
        elif end.reason == "max_turns":
            self.note(f"stopped after {end.num_turns} turns (--max-turns)", "yellow")
        if self.last_run is not None and end.reason != "blocked":
            from .run_summary import summary_lines

            for line in summary_lines(self.last_run(), end.last_message.text if end.last_message else ""):
                self.note(f"  {line}", "dim")
