"""The interactive terminal: a prompt that stays live while the agent works.

prompt_toolkit owns the bottom line (the input and a status bar); everything else is printed
above it into the terminal's own scrollback by `Renderer` (no alternate screen). Because the
prompt never goes away, typing during a run queues a message for the next turn boundary, Esc
interrupts the run, and a permission request is answered with one key.

Keys: Enter sends; Alt+Enter, Ctrl-J or a trailing `\\` add a line; Tab completes `/commands`,
`/model` names and `@files`; Up/Down walk this folder's history; Esc interrupts (or clears the
input; twice at an empty prompt it opens the rewind chooser); Ctrl-C clears the input,
interrupts, and twice in a row at an idle prompt exits; Ctrl-D
on an empty prompt exits. `!cmd` runs a shell command and gives its output to the model with
the next prompt.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import ANSI, HTML
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.patch_stdout import patch_stdout

from sous.core import ConfigError, PermissionRequest, RunEnd, ToolCall
from sous.labels import asked_label, printable
from sous.permissions import Answer
from sous.permissions.decide import Decision
from sous.records import record, replace
from sous.runtime.queue import EACH

from . import asking, slash
from .picker import Picker, resume_chooser, rewind_chooser, style_chooser
from .render import Renderer, wants_ascii

CHOICES = {
    "y": ("once", None, "yes, this once"),
    "5": ("5m", None, "yes, for 5 minutes"),
    "h": ("1h", None, "yes, for an hour"),
    "s": ("session", None, "yes, for this session"),
    "a": ("always", None, "yes, always (saved to .claude/settings.local.json)"),
    "3": ("session", 3, "yes, for the next 3 uses"),
}
CHOICE_LINE = (
    "[y] once  [5] 5 min  [h] 1 hour  [s] session  [a] always  [3] 3 uses  [n] no  [t] no, and say what instead"
)
PLAN_CHOICE_LINE = (
    "[a] yes, and accept edits  [y] yes, and ask before edits  [n] no, keep planning  [t] no, and say what to change"
)
MODE_CYCLE = ("default", "acceptEdits", "plan", "auto")
MODE_LABELS = {
    "acceptEdits": "accept edits on",
    "plan": "plan mode on",
    "bypassPermissions": "bypass permissions on",
    "dontAsk": "don't ask mode on",
    "auto": "auto mode on (a model judges)",
}
"""Shift+Tab's order, as in Claude Code."""
SHELL_OUTPUT_CAP = 30_000
DOUBLE_ESC_SECONDS = 0.8
"""Two Esc presses at an empty prompt this close together open the rewind chooser."""
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class _InlinePrompt(PromptSession):
    """A prompt as tall as what is typed (plus room for the completion menu when it shows), so
    the status bar sits right under it instead of at the bottom of an empty screen."""

    def _get_default_buffer_control_height(self):
        from prompt_toolkit.application import get_app
        from prompt_toolkit.layout.dimension import Dimension

        app = get_app()
        width = max(app.output.get_size().columns - 2, 10)
        rows = sum(max(1, -(-len(line) // width)) for line in self.default_buffer.document.lines)
        menu = self.reserve_space_for_menu if self.default_buffer.complete_state is not None and not app.is_done else 0
        return Dimension(min=max(rows, menu), max=max(rows, menu), preferred=max(rows, menu))


@record(frozen=False, kw_only=False)
class Question:
    call: ToolCall
    decision: Decision
    answer: asyncio.Future
    kind: str = "choice"
    """"choice" (one key), "typed" (type yes: the safety floor) or "feedback" (what to do instead)."""
    hinted: bool = False
    """The valid keys were shown after a key that is not one of them."""
    for_all: bool = False
    """`*` was pressed: a grant from the answer covers every agent, not only the askers."""
    askers: int = 1
    """How many agents wait on this question (others asking the same joined it)."""


class Repl:
    def __init__(self, session, *, ascii_only: bool = False):
        self.session = session
        self.ascii_only = ascii_only
        self.task: asyncio.Task | None = None
        self.question: Question | None = None
        self.questions: dict[str, asyncio.Future] = {}
        self._one_question = asyncio.Lock()
        """Questions are shown one at a time, in the order they came."""
        self.last_ctrl_c = 0.0
        self.last_esc = 0.0
        self.picker: Picker | None = None
        """The chooser open under the prompt (`/resume`'s search box, the rewind chooser), if any."""
        self._completer: Any = None
        self.cwd = session.cwd
        self.renderer = Renderer(
            self._console, ascii_only=ascii_only, cwd=self.cwd, last_run=lambda: self.session.last_run
        )
        self.prompt: PromptSession | None = None
        self.leaving = False
        self.bypass_allowed = session.mode == "bypassPermissions"
        self._paused = 0.0
        """Seconds the current run spent waiting for the person's answer: not counted as working."""
        self._pause_started = 0.0
        self._paused_run: float | None = None
        """The `busy_since` of the run `_paused` belongs to."""
        self.status_line: Any = None
        """The `statusLine` command's runner (`ui.status_line.StatusLine`), when one is set."""

    # --- set-up -------------------------------------------------------------------------------

    def _console(self):
        from rich.console import Console

        return Console(file=sys.stdout, highlight=False, emoji=False, no_color=bool(os.environ.get("NO_COLOR")))

    def _prompt_session(self) -> PromptSession:
        from sous.paths import data_dir, project_slug

        from .complete import FileIndex, PromptCompleter

        history = data_dir(self.session.environ) / "history" / f"{project_slug(self.cwd)}.txt"
        history.parent.mkdir(parents=True, exist_ok=True)
        mcp = self.session.mcp
        completer = PromptCompleter(
            FileIndex(self.cwd, added=lambda: self.session.added_dirs),
            lambda: self.session.commands,
            slash.known_models,
            mcp_prompts=mcp.prompt_commands if mcp else list,
            mcp_resources=mcp.resource_mentions if mcp else list,
        )
        self._completer = completer
        depth = ColorDepth.DEPTH_1_BIT if os.environ.get("NO_COLOR") else None
        prompt = _InlinePrompt(
            message=self._message,
            multiline=True,
            key_bindings=self._bindings(),
            history=FileHistory(str(history)),
            completer=completer,
            complete_while_typing=True,
            complete_in_thread=True,
            bottom_toolbar=self._toolbar,
            color_depth=depth,
            prompt_continuation=lambda width, *_: "… ".rjust(width),
            reserve_space_for_menu=6,
            enable_suspend=True,
        )
        prompt.app.ttimeoutlen = 0.05  # Esc alone is read as Esc after 50 ms, not the default 500
        prompt.app.timeoutlen = 0.2
        return prompt

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def _message(self):
        if self.picker is not None:
            return self.picker.prompt
        if self.question is None:
            return HTML("<b>&gt;</b> ")
        return {
            "choice": "  choose › ",
            "plan": "  choose › ",
            "typed": "  type yes to allow it once › ",
            "feedback": "  what should sous do instead? › ",
        }[self.question.kind]

    def _toolbar(self):
        if self.picker is not None and self.prompt is not None:
            width = self.prompt.app.output.get_size().columns
            return "\n".join(self.picker.lines(self.prompt.default_buffer.text, width))
        s, parts = self.session, []
        custom = self.status_line.text if self.status_line is not None else ""
        if not custom:
            parts.append(s.model.name)
        if s.mode != "default":
            parts.append(MODE_LABELS.get(s.mode, s.mode) + " (shift+tab)")
        if self.busy and self.renderer.busy_since is not None:
            elapsed = self._working_seconds(self.renderer.busy_since)
            if self.question is not None:  # the clock and the spinner stop while the person decides
                parts.append(f"waiting for you · {elapsed:.0f}s of work so far")
            else:
                spin = "*" if self.ascii_only else SPINNER[int(elapsed * 8) % len(SPINNER)]
                parts.append(
                    f"{spin} working {elapsed:.0f}s · ~{self.renderer.streamed_chars // 4} tokens · esc to interrupt"
                )
        usage = s.totals.usage + s.side_usage
        if not custom:
            parts.append(
                f"{usage.input_tokens + usage.cache_read_tokens:,} in / {usage.output_tokens:,} out"
                f" · ${usage.cost_usd:.4f}"
            )
        if not custom and s.messages and (use := s.context_use()).window:  # the same figure as /context
            parts.append(f"context {use.percent:.0f}%")
        if s.queued:
            parts.append(f"{len(s.queued)} queued")
        agents = list(s.subagents.running.values()) if s.subagents is not None else []
        if custom:  # the command's line (its colours kept) under sous's own moving parts
            return ANSI("\n".join([*self._agent_lines(agents), *([" · ".join(parts)] if parts else []), custom]))
        if not agents:
            return " · ".join(parts)
        return "\n".join([*self._agent_lines(agents), " · ".join(parts)])

    def _agent_lines(self, agents: list) -> list[str]:
        now, mark = time.monotonic(), "*" if self.ascii_only else "⏺"
        lines = [
            f"{mark} {r.kind}: {r.description[:32]} · {r.activity} · {r.tokens:,} tokens · {now - r.started:.0f}s"
            + (" · background" if r.background else "")
            for r in agents[:4]
        ]
        if len(agents) > 4:
            lines.append(f"  … and {len(agents) - 4} more (/agents)")
        return lines

    def _working_seconds(self, busy_since: float) -> float:
        """Time since the run began (`busy_since`), less the time its questions waited for the person."""
        now = time.monotonic()
        waiting = now - self._pause_started if self.question is not None else 0.0
        paused = self._paused if self._paused_run == busy_since else 0.0
        return max(0.0, now - busy_since - paused - waiting)

    def _bindings(self) -> KeyBindings:
        kb = KeyBindings()
        choosing = Condition(lambda: self.question is not None and self.question.kind == "choice")
        planning = Condition(lambda: self.question is not None and self.question.kind == "plan")
        answering = choosing | planning
        picking = Condition(lambda: self.picker is not None)

        @kb.add("up", filter=picking)
        def _(event):
            if self.picker is not None:
                self.picker.move(-1, event.current_buffer.text)

        @kb.add("down", filter=picking)
        def _(event):
            if self.picker is not None:
                self.picker.move(1, event.current_buffer.text)

        @kb.add("enter")
        def _(event):
            buffer = event.current_buffer
            if self.picker is not None:
                return self._take_picked(buffer)
            state = buffer.complete_state
            if state is not None and state.current_completion is not None:
                buffer.complete_state = None  # the chosen completion is already in the text
                if buffer.document.get_word_before_cursor(WORD=True).startswith("@"):
                    return  # a file was picked: the prompt goes on
                buffer.validate_and_handle()
            elif self.question is not None and self.question.kind in ("choice", "plan"):
                return
            elif buffer.document.text_before_cursor.endswith("\\") and buffer.document.is_cursor_at_the_end:
                buffer.delete_before_cursor(1)
                buffer.insert_text("\n")
            else:
                buffer.validate_and_handle()

        @kb.add("escape", "enter")
        @kb.add("c-j")
        def _(event):
            event.current_buffer.insert_text("\n")

        @kb.add("escape")
        def _(event):
            if self.picker is not None:
                self._close_picker()
            elif self.question is not None:
                self._answer(Answer(allow=False), "no")
            elif self.busy:
                self._interrupt()
            elif event.current_buffer.text:
                event.current_buffer.reset()
            elif time.monotonic() - self.last_esc < DOUBLE_ESC_SECONDS:  # Esc Esc, as in Claude Code
                self.last_esc = 0.0
                self._submit_task(self._open_chooser(rewind_chooser))
            else:
                self.last_esc = time.monotonic()

        @kb.add("c-c")
        def _(event):
            buffer = event.current_buffer
            if self.picker is not None:
                self._close_picker()
            elif buffer.text and self.question is None:
                buffer.reset()
            elif self.question is not None or self.busy:
                if self.question is not None:
                    self._answer(Answer(allow=False), "no")
                self._interrupt()
            elif time.monotonic() - self.last_ctrl_c < 2.0:
                event.app.exit(exception=EOFError())
            else:
                self.last_ctrl_c = time.monotonic()
                self.renderer.note("(press Ctrl-C again to exit)")

        for key, (duration, uses, said) in CHOICES.items():

            @kb.add(key, filter=choosing)
            def _(event, duration=duration, uses=uses, said=said):
                self._answer(
                    Answer(allow=True, duration=duration, uses=uses) if uses else Answer(allow=True, duration=duration),
                    said,
                )

        @kb.add("a", filter=planning)
        def _(event):
            self._answer(Answer(allow=True, mode="acceptEdits"), "yes: carry it out, accepting edits")

        @kb.add("y", filter=planning)
        def _(event):
            self._answer(Answer(allow=True, mode="default"), "yes: carry it out, asking before edits")

        @kb.add("n", filter=answering)
        def _(event):
            self._answer(Answer(allow=False), "no")

        @kb.add("*", filter=choosing)
        def _(event):
            question = self.question
            if question is not None:  # always, while `choosing`
                question.for_all = not question.for_all
                self.renderer.note(asking.for_all_note(question.for_all), "yellow")

        @kb.add("e", filter=choosing)
        def _(event):
            question = self.question
            if question is not None and question.askers > 1 and not question.answer.done():
                question.answer.set_result(EACH)
                self.question = None
                self.renderer.note(f"  → each of the {question.askers} agents will be asked on its own", "yellow")
            elif question is not None:
                self.renderer.note("  (e is for a question several agents wait on)", "yellow")

        @kb.add("t", filter=answering)
        def _(event):
            if self.question is not None:  # always, while `answering`
                self.question.kind = "feedback"
            event.app.invalidate()

        @kb.add(Keys.Any, filter=answering)
        @kb.add("up", filter=answering)
        @kb.add("down", filter=answering)
        @kb.add("tab", filter=answering)
        @kb.add("backspace", filter=answering)
        def _(event):
            """A key that answers nothing: swallowed (it must not end up in the next input), and the
            valid keys shown once per question."""
            question = self.question
            if question is not None and not question.hinted:
                question.hinted = True
                extra = ["*"] * bool(question.decision.agent) + ["e"] * (question.askers > 1)
                keys = "a y n t" if question.kind == "plan" else " ".join([*CHOICES, "n", "t", *extra])
                self.renderer.note(f"  (not a choice: press one of {keys}, or Esc for no)", "yellow")

        @kb.add("s-tab")
        def _(event):
            """Cycle the permission mode (bypass only when the session started in it)."""
            mode = self.session.mode
            cycle = MODE_CYCLE + (("bypassPermissions",) if self.bypass_allowed else ())
            self.session.set_mode(cycle[(cycle.index(mode) + 1) % len(cycle)] if mode in cycle else "default")
            event.app.invalidate()

        return kb

    # --- permission requests ------------------------------------------------------------------

    def on_event(self, event) -> None:
        """A permission question from the session: show it, and answer when the person has chosen.
        A question the session withdrew (its run was interrupted) is closed at the run's end."""
        if isinstance(event, PermissionRequest):
            self.questions[event.request_id] = asyncio.ensure_future(self._settle(event))
        elif isinstance(event, RunEnd):
            for request_id in [r for r in self.questions if r not in self.session.waiting_questions]:
                self.questions.pop(request_id).cancel()

    async def _settle(self, request: PermissionRequest) -> None:
        try:
            async with self._one_question:
                answer = await asking.answer_or_no(
                    self.ask(request.call, request.detail), lambda text: self.renderer.note(text, "red")
                )
        finally:
            self.questions.pop(request.request_id, None)
        self.session.answer(request.request_id, answer)

    async def ask(self, call: ToolCall, decision: Decision) -> Answer:
        from rich.text import Text

        self.renderer.flush_text()
        askers = self.session.askers(call.id, decision.agent_id)
        block = Text()
        block.append(f"? sous wants to run {asked_label(call)}{asking.who(askers, decision)}\n", style="bold yellow")
        for line in asking.asker_lines(askers):
            block.append(line + "\n")
        block.append(f"  why you are asked: {printable(decision.reason)} [{decision.source}]\n", style="dim")
        if decision.confirm == "plan":
            from rich.markdown import Markdown
            from rich.panel import Panel

            block = Text("? sous has a plan. Carry it out?", style="bold yellow")
            self.renderer.print(block)
            self.renderer.print(Panel(Markdown(str(call.arguments.get("plan", ""))), expand=True))
            block = Text("  " + PLAN_CHOICE_LINE)
        elif decision.confirm == "typed":
            block.append("  This cannot be granted for later: type yes to allow it once (Esc says no).")
        elif call.name == "Write" and isinstance(call.arguments.get("content"), str):
            # what the file will hold, between the question and the keys that answer it
            block.rstrip()
            self.renderer.print(block)
            path = str(call.arguments.get("file_path") or "")
            self.renderer.preview_write(os.path.join(self.cwd, path), call.arguments["content"])
            block = Text("  " + CHOICE_LINE)
        else:
            block.append("  " + CHOICE_LINE + asking.extra_choices(askers, decision))
        self.renderer.print(block)
        self._pause_started = time.monotonic()
        future = asyncio.get_running_loop().create_future()
        kind = {"typed": "typed", "plan": "plan"}.get(decision.confirm, "choice")
        self.question = Question(call, decision, future, kind, askers=max(1, len(askers)))
        self._refresh()
        joined = asyncio.ensure_future(asking.follow(self.session, call.id, askers, self._joined, decision.agent_id))
        try:
            return await future
        finally:
            joined.cancel()
            self.question = None
            if self._paused_run != self.renderer.busy_since:  # the first question of this run
                self._paused, self._paused_run = 0.0, self.renderer.busy_since
            self._paused += time.monotonic() - self._pause_started
            self._refresh()

    def _joined(self, asker: Any) -> None:
        """Another agent asks the same while the question is open: it waits on this answer too."""
        if self.question is not None:
            self.question.askers += 1
            self.renderer.note(asking.joined_line(asker), "yellow")

    def _answer(self, answer: Answer, said: str) -> None:
        question = self.question
        if question is None or question.answer.done():
            return
        if question.for_all and answer.allow and answer.duration not in ("once", "always"):  # those keep no grant
            answer, said = replace(answer, for_all=True), said + ", for every agent"
        question.answer.set_result(answer)
        self.question = None
        many = f" ({question.askers} agents)" if question.askers > 1 else ""
        self.renderer.note(f"  → {said}{many}", "green" if answer.allow else "red")

    # --- the main loop ------------------------------------------------------------------------

    async def run(self, first_prompt: str | None = None, *, pick_session: bool = False) -> int:
        session = self.session
        with patch_stdout(raw=True):
            self.prompt = self._prompt_session()
            self._banner()
            await session.start(wait_for_mcp=False)
            self._start_status_line()
            watcher = asyncio.ensure_future(self._watch_agents())
            if pick_session:  # `sous -r` without an id
                self._submit_task(self._open_chooser(resume_chooser))
            elif first_prompt:
                self._submit(first_prompt)
            while not self.leaving:
                try:
                    text = await self.prompt.prompt_async()
                except EOFError:
                    break
                except KeyboardInterrupt:
                    continue
                self._take(text)
            watcher.cancel()
            if self.status_line is not None:
                self.status_line.stop()
            if self.busy and self.task is not None:
                self._interrupt()
                await asyncio.gather(self.task, return_exceptions=True)
            self.renderer.drain()
        await session.end("prompt_input_exit")
        return 0

    def _start_status_line(self) -> None:
        if (config := self.session.status_line) is None:
            return
        from .status_line import StatusLine, payload

        self.status_line = StatusLine(
            config,
            lambda: payload(self.session),
            cwd=self.session.cwd,
            environ=dict(self.session.environ),
            redraw=self._refresh,
        )
        self.session.subscribe(self.status_line)
        self.status_line.start()

    def _banner(self) -> None:
        """The first lines, written without rich so that the prompt shows before rich loads."""
        bold, dim, yellow, reset = (
            ("", "", "", "") if os.environ.get("NO_COLOR") else ("\x1b[1m", "\x1b[2m", "\x1b[33m", "\x1b[0m")
        )
        lines = [f"{yellow}{n.level}: {n.text}{reset}" for n in self.session.notices]
        lines.append(f"{bold}sous · {self.session.model.name} · {self.cwd}{reset}")
        lines.append(
            f"{dim}/help for commands · @ attaches a file · ! runs a shell command · Esc interrupts · "
            f"Ctrl-D quits{reset}"
        )
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    def _take(self, text: str) -> None:
        """What Enter does with the input: answer a question, queue, or start something."""
        question = self.question
        if question is not None and question.kind == "typed":
            allow = text.strip().lower() == "yes"
            return self._answer(Answer(allow=allow), "yes, once" if allow else "no")
        if question is not None and question.kind == "feedback":
            question.answer.set_result(Answer(allow=False, feedback=text.strip()))
            self.question = None
            return self.renderer.note(f"  → no; told sous: {text.strip()}", "red")
        if not text.strip():
            return None
        if text.strip() in ("/exit", "/quit"):
            self.leaving = True
            return None
        if text.strip() == "/resume" and not self.busy:  # the search box; `/resume N|id|words` as elsewhere
            return self._submit_task(self._open_chooser(resume_chooser))
        if text.strip() == "/output-style" and not self.busy:
            return self._submit_task(self._open_chooser(style_chooser))
        if self.busy:
            if text.lstrip().startswith(("/", "!")):
                return self.renderer.note("(commands wait until the run ends: press Esc to interrupt it)", "yellow")
            self.session.queue(text)
            return self.renderer.note(f"  queued for the next turn: {' '.join(text.split())[:80]}")
        self._submit(text)

    def _submit(self, text: str) -> None:
        self.task = asyncio.ensure_future(self._perform(text))

    def _submit_task(self, coro) -> None:
        self.task = asyncio.ensure_future(coro)

    # --- choosers -----------------------------------------------------------------------------

    def _open_picker(self, picker: Picker) -> None:
        self.picker = picker
        if self.prompt is not None:
            self.prompt.completer = None  # the typed text is a filter, not a command or a path
            self.prompt.default_buffer.reset()
        self._refresh()

    def _close_picker(self) -> None:
        self.picker = None
        if self.prompt is not None:
            self.prompt.completer = self._completer
            self.prompt.default_buffer.reset()
        self._refresh()

    def _take_picked(self, buffer) -> None:
        picker = self.picker
        if picker is None:
            return
        item = picker.current(buffer.text)
        if item is None:
            return
        self._close_picker()
        if (following := picker.on_choose(item.value)) is not None:
            self._open_picker(following)

    async def _open_chooser(self, make) -> None:
        """Open the chooser `make(session, run)` builds, or show why there is none."""
        chooser = await make(self.session, self._submit)
        if isinstance(chooser, str):
            return self.renderer.note(chooser, "yellow" if "off" in chooser else "")
        self._open_picker(chooser)

    async def _perform(self, text: str) -> None:
        ticker = asyncio.ensure_future(self._tick())
        try:
            if text.startswith("!"):
                return await self._shell(text[1:].strip())
            outcome = await slash.run(self.session, text)
            if outcome is not None:
                if outcome.text:
                    self.renderer.note(outcome.text, "red" if outcome.error else "")
                if outcome.edit:
                    await self._edit(outcome.edit)
                if outcome.then and (follow := await slash.run(self.session, outcome.then)) is not None:
                    self.renderer.note(follow.text, "red" if follow.error else "")
                if outcome.exit:
                    self.leaving = True
                    if self.prompt is not None:  # the input runs from `run` on
                        self.prompt.app.exit(exception=EOFError())
                if outcome.prompt is None:
                    return
                text = outcome.prompt
            await self._send(text)
        except Exception as e:  # the terminal must survive anything one request does
            self.renderer.note(f"error: {type(e).__name__}: {e}", "bold red")
        finally:
            ticker.cancel()
            self._refresh()

    async def _send(self, text: str) -> None:
        session = self.session
        end = await session.send(text, attachments=True)
        while session.queued and end.reason != "aborted":  # typed after the run's last turn boundary
            first, *rest = session.take_queued()
            for message in rest:
                session.queue(message.text)
            end = await session.send(first)
        if end.reason == "aborted" and session.queued and self.prompt is not None:  # give it back to the input
            self.prompt.default_buffer.text = "\n".join(m.text for m in session.take_queued())

    async def _shell(self, command: str) -> None:
        """`!cmd`: run it in the project folder, show the output, and pass both to the model with
        the next prompt (as Claude Code's bash mode does)."""
        from rich.text import Text

        if not command:
            return
        self.renderer.print(Text(f"! {command}", style="bold magenta"))
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            command,
            cwd=self.session.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output, _ = await process.communicate()
        except asyncio.CancelledError:
            import signal

            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            self.renderer.note("  (interrupted)", "yellow")
            raise
        text = output.decode("utf-8", errors="replace")
        shown = (
            text
            if len(text) <= SHELL_OUTPUT_CAP
            else text[:SHELL_OUTPUT_CAP] + f"\n[output cut at {SHELL_OUTPUT_CAP:,} of {len(text):,} characters]"
        )
        lines = shown.rstrip("\n").splitlines()
        for line in lines[:200]:
            self.renderer.print(Text(line), soft_wrap=True)
        if len(lines) > 200:
            self.renderer.note(f"… +{len(lines) - 200} lines (all of it goes to the model)")
        if process.returncode:
            self.renderer.note(f"  exit code {process.returncode}", "red")
        self.session.add_context(
            f"The user ran a shell command:\n<bash-input>{command}</bash-input>\n<bash-stdout>{shown}</bash-stdout>\n"
            f"<bash-exit-code>{process.returncode}</bash-exit-code>"
        )

    async def _edit(self, path: str) -> None:
        import subprocess

        editor = os.environ.get("EDITOR", "vi")
        await run_in_terminal(lambda: subprocess.run([editor, path]), in_executor=True)

    def _interrupt(self) -> None:
        if self.session.running:
            self.session.interrupt()
        elif self.busy and self.task is not None:  # a `!` command or a slash command without a cancel token
            self.task.cancel()

    async def _tick(self) -> None:
        """Redraw the status line while busy (elapsed time, spinner). Idle, or waiting for the
        person's answer, nothing moves, so nothing is redrawn."""
        while True:
            await asyncio.sleep(0.25)
            if self.busy and not self.session.waiting_questions:
                self._refresh()

    async def _watch_agents(self) -> None:
        """Keep background agents' lines in the status bar live while the prompt is idle."""
        while True:
            await asyncio.sleep(0.5)
            if not self.busy and self.session.subagents is not None and self.session.subagents.running:
                self._refresh()

    def _refresh(self) -> None:
        if self.prompt is not None and self.prompt.app.is_running:
            self.prompt.app.invalidate()


async def run_interactive(opts, first_prompt: str | None = None, *, pick_session: bool = False) -> int:
    from sous.runtime import open_session

    opts.answers_permissions = True
    try:
        session = open_session(opts)
    except ConfigError as e:
        print(f"sous: {e}", file=sys.stderr)
        return 2
    repl = Repl(session, ascii_only=wants_ascii())
    session.subscribe(repl.renderer)
    session.subscribe(repl.on_event)
    try:
        return await repl.run(first_prompt, pick_session=pick_session)
    finally:
        session.close()
