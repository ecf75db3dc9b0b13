"""A plain line-based interactive session: the fallback front end.

It streams the assistant's text, shows each tool call as one line with a folded result, asks for
permissions with single-letter answers, and turns Ctrl-C during a run into an interrupt (twice at
the prompt to exit). It uses nothing but the standard library and works on any terminal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sous.core import (
    ConfigError,
    Notice,
    PermissionRequest,
    Retry,
    RunEnd,
    TextDelta,
    ToolCall,
    ToolEnd,
    ToolStart,
    TurnStart,
)
from sous.labels import asked_label, call_label, printable
from sous.permissions import Answer
from sous.permissions.decide import Decision
from sous.runtime.queue import EACH

from . import asking, slash
from .run_summary import summary_lines


def fold(text: str, lines: int = 4) -> str:
    rows = text.rstrip("\n").splitlines() or ["(no output)"]
    shown = rows[:lines]
    more = f"\n  … {len(rows) - lines} more lines" if len(rows) > lines else ""
    return "\n".join("  " + r for r in shown) + more


class PlainUI:
    def __init__(self, out=sys.stdout, last_run: Callable[[], Any] | None = None):
        self.out = out
        self.in_text = False
        self.last_run = last_run
        """The session's `last_run` (what the run changed and ran), read when a run ends."""

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def __call__(self, event: Any) -> None:
        if isinstance(event, TextDelta):
            self.in_text = True
            self.write(event.text)
            return
        if self.in_text and not isinstance(event, TurnStart):
            self.write("\n")
            self.in_text = False
        if isinstance(event, ToolStart):
            self.write(f"⏺ {call_label(event.call)}\n")
        elif isinstance(event, ToolEnd):
            mark = "✗" if event.result.is_error else "⎿"
            self.write(f"  {mark}{fold(event.result.text)[1:]}\n")
        elif isinstance(event, Retry):
            self.write(
                f"  (retrying in {event.delay_s:.1f}s, attempt {event.attempt} of {event.max_retries}, "
                f"{event.status or 'no answer'}: {event.error})\n"
            )
        elif isinstance(event, Notice):
            self.write(f"sous: {event.level}: {event.text}\n")
        elif isinstance(event, RunEnd):
            if self.in_text:
                self.write("\n")
            if event.reason == "error" and event.last_message:
                self.write(f"sous: {event.last_message.error}\n")
            elif event.reason == "max_turns":
                self.write(f"sous: stopped after {event.num_turns} turns (--max-turns)\n")
            if self.last_run is not None and event.reason != "blocked":
                answer = event.last_message.text if event.last_message else ""
                for line in summary_lines(self.last_run(), answer):
                    self.write(f"  {line}\n")
            self.in_text = False


async def _read_line(prompt: str) -> str | None:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, input, prompt)
    except EOFError:
        return None


async def run_interactive(opts, first_prompt: str | None = None) -> int:
    from sous.runtime import open_session

    session: Any = None
    ui = PlainUI(last_run=lambda: session.last_run)

    async def ask(call: ToolCall, decision: Decision, askers: Sequence[Any] = ()) -> Answer:
        who = asking.who(askers, decision).strip()
        listed = "".join(line + "\n" for line in asking.asker_lines(askers))
        ui.write(
            f"\n? sous wants to run {asked_label(call)}{' ' * bool(who)}{who}\n{listed}"
            f"  why you are asked: {printable(decision.reason)} [{decision.source}]\n"
        )
        if decision.confirm == "plan":
            ui.write(f"\n{call.arguments.get('plan', '')}\n")
            choice = (
                (
                    (
                        await _read_line(
                            "  carry it out? [a] yes, accept edits  [y] yes, ask before edits  [n] no  "
                            "[t] no, and say what to change > "
                        )
                    )
                    or "n"
                )
                .strip()
                .lower()
            )
            if choice.startswith("t"):
                return Answer(allow=False, feedback=(await _read_line("  what should change? ")) or "")
            if choice[:1] in ("a", "y"):
                return Answer(allow=True, mode="acceptEdits" if choice[:1] == "a" else "default")
            return Answer(allow=False)
        if decision.confirm == "typed":
            typed = (await _read_line("  This cannot be granted for later. Type yes to allow it once: ")) or ""
            return Answer(allow=typed.strip().lower() == "yes")
        choice = (
            (
                (
                    await _read_line(
                        "  [y] once  [5] 5 min  [h] 1 hour  [s] session  [a] always  [3] 3 uses  "
                        f"[n] no  [t] no, and say what instead{asking.extra_choices(askers, decision)} > "
                    )
                )
                or "n"
            )
            .strip()
            .lower()
        )
        if choice.startswith("t"):
            return Answer(allow=False, feedback=(await _read_line("  what should sous do instead? ")) or "")
        if choice.startswith("e") and len(askers) > 1:
            return EACH  # type: ignore[return-value]  # the queue asks each agent on its own
        for_all, choice = "*" in choice, choice.replace("*", "").strip()  # `s*`: a grant for every agent
        durations = {"y": "once", "5": "5m", "h": "1h", "s": "session", "a": "always"}
        if choice[:1] in durations:
            return Answer(allow=True, duration=durations[choice[:1]], for_all=for_all)
        if choice[:1].isascii() and choice[:1].isdigit():  # `²` is a digit to isdigit(), but no number
            return Answer(allow=True, duration="session", uses=int(choice[:1]), for_all=for_all)
        return Answer(allow=False)

    opts.answers_permissions = True
    try:
        session = open_session(opts)
    except ConfigError as e:
        print(f"sous: {e}", file=sys.stderr)
        return 2

    one_question = asyncio.Lock()  # one question at a time: each reads the answer from the same input

    async def settle(request: PermissionRequest) -> None:
        async with one_question:
            # others asking the same join the question (`Session.askers`); one answer is theirs too
            asked = ask(
                request.call, request.detail, session.askers(request.call.id, getattr(request.detail, "agent_id", ""))
            )
            answer = await asking.answer_or_no(asked, lambda text: ui.write(text + "\n"))
        session.answer(request.request_id, answer)

    def questions(event: object) -> None:
        if isinstance(event, PermissionRequest):
            asyncio.ensure_future(settle(event))

    session.subscribe(ui)
    session.subscribe(questions)
    for notice in session.notices:
        ui(notice)
    ui.write(
        f"sous · {session.model.name} · {session.cwd}\n"
        "Type a request; Ctrl-C interrupts a run, Ctrl-D or /exit quits.\n"
    )
    loop = asyncio.get_running_loop()
    prompt = first_prompt
    await session.start(wait_for_mcp=False)
    try:
        while True:
            if prompt is None:
                prompt = await _read_line("\n> ")
                if prompt is None or prompt.strip() in ("/exit", "/quit"):
                    break
                if not prompt.strip():
                    prompt = None
                    continue
                outcome = await slash.run(session, prompt)
                if outcome is not None:
                    if outcome.text:
                        ui.write(outcome.text + "\n")
                    if outcome.edit:
                        subprocess.run([os.environ.get("EDITOR", "vi"), outcome.edit])
                    if outcome.then and (follow := await slash.run(session, outcome.then)) is not None:
                        ui.write(follow.text + "\n")
                    if outcome.exit:
                        break
                    prompt = outcome.prompt
                    if prompt is None:
                        continue
            loop.add_signal_handler(signal.SIGINT, session.interrupt)
            try:
                await session.send(prompt)
            finally:
                loop.remove_signal_handler(signal.SIGINT)
            prompt = None
    finally:
        await session.end("prompt_input_exit")
        session.close()
    return 0
