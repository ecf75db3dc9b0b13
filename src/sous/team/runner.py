"""`sous team`: run every member of the team file at once and show the board live.

Each member is a full sous session (its persona's prompt and tools, the project's settings, hooks
and memory, its own transcript) in the project folder, with the board tools added and its own
folder as the only place it may change without asking: edits there are accepted, anything else
goes to the person watching (labelled with the member's name; members asking the same at once
are asked once, the answer reaching each), or is refused when nobody is.

A member works until its reply ends, then sleeps until a message arrives in its mailbox; a
TeammateIdle hook that exits 2 first keeps it working, its stderr the member's next instruction. The team
ends when every member sleeps with no mail waiting (all tasks done, or stalled: the board says
which), when the person types /stop, or on Ctrl-C. Run `sous team` again to resume: the board is
the state, and members start by reading it.

While it runs, type `@member text` to message a member, `/board` to see the tasks, `/stop` to end.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from pathlib import Path

from sous.core import (
    AssistantMessage,
    ConfigError,
    MessageAdded,
    Notice,
    PermissionRequest,
    ToolCall,
    ToolEnd,
    ToolStart,
)
from sous.labels import asked_label, call_label, printable

from . import Team, find, load
from .board import Board
from .tools import team_tools

MAX_IDLE_BLOCKS = 8
"""TeammateIdle blocks in a row a member obeys before it waits anyway (as for Stop hooks): a hook
that always blocks cannot keep a member busy for ever."""
QUIET_S = 1.0
"""How long everyone must have been asleep, with no mail waiting, before the team is over."""

KICKOFF = """\
You are {name}, one member of a team of agents working together on this goal:

{goal}

The members and the folders they own:
{roster}

Your folder is {folder}/: change files only there (anything else needs the user's approval). You may
read anything in the project. Coordinate only through the team board, with the tools TeamBoard,
PostTask, ClaimTask, UpdateTask, SendTeamMessage and WaitForMessages: agree on interfaces (write
them down in a file in your folder and tell the others where), post tasks for what you need from
others, claim and finish your own, and mark them done. Start by reading the board; it may already
hold work from an earlier run. When you have nothing left to do, end your reply: you will be woken
up when a message arrives for you."""


class TeamRunner:
    def __init__(
        self,
        team: Team,
        project_dir: str,
        *,
        environ=os.environ,
        interactive: bool = False,
        out=sys.stdout,
        max_turns: int | None = None,
    ):
        self.team, self.project_dir, self.environ = team, project_dir, environ
        self.interactive, self.out, self.max_turns = interactive, out, max_turns
        self.board = Board(Path(project_dir) / ".sous" / "team")
        self.stop = asyncio.Event()
        self.asleep: dict[str, bool] = {m.name: False for m in team.members}
        self.sessions: dict = {}
        self.question: asyncio.Future | None = None
        self.asking = asyncio.Lock()
        self.waiting: dict[str, list] = {}
        """Questions not yet answered, by what they ask: members asking the same join them."""
        self.shown: list | None = None
        """The group of the question on screen."""

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # --- members ----------------------------------------------------------------------------------

    def _open(self, member):
        from sous.runtime import Options, open_session

        roster = "\n".join(f"- {m.name}: owns {m.folder}/" for m in self.team.members)
        context = KICKOFF.format(
            name=member.name, goal=self.team.goal or "(see the board)", roster=roster, folder=member.folder
        )
        if member.prompt:
            context += f"\n\nYour role: {member.prompt}"
        folder = Path(self.project_dir) / member.folder
        folder.mkdir(parents=True, exist_ok=True)

        # The member reads the whole project; only its writes are bound to its folder.
        opts = Options(
            cwd=self.project_dir,
            model=member.model,
            allowed_tools=list(member.allow),
            append_system_prompt=context,
            max_turns=self.max_turns,
            write_root=member.folder,
            agent=member.persona if member.persona != "general-purpose" else None,
            answers_permissions=self.interactive,
            environ=self.environ,
        )
        session = open_session(opts)
        names = [m.name for m in self.team.members]
        session.set_tools(add=team_tools(self.board, member.name, names, self.stop), allow=True)
        session.subscribe(functools.partial(self._show, member.name))
        if self.interactive:
            session.subscribe(functools.partial(self._question, member.name, session))
        return session

    def _question(self, who: str, session, event) -> None:
        if isinstance(event, PermissionRequest):
            asyncio.ensure_future(self._settle(who, session, event))

    async def _settle(self, who: str, session, request: PermissionRequest) -> None:
        """Ask the person, or, when another member waits on the same question (the same call in the
        same folder, see `sous.runtime.queue`), wait with it: the one answer settles both."""
        from sous.runtime.queue import request_key

        key = request_key(request.call, request.detail)
        group = self.waiting.get(key) if key is not None else None
        if group is not None:
            group.append((who, session, request))
            if group is self.shown:
                self.say(f"  + [{who}] asks the same; the answer is theirs too")
            return
        group = [(who, session, request)]
        if key is not None:
            self.waiting[key] = group
        try:
            answer = await self._ask(group, request.call, request.detail)
        except Exception as e:  # fail closed, and never leave the members waiting on it
            from sous.permissions import Answer

            self.say(f"  the permission question could not be asked ({type(e).__name__}: {e}); the call is refused")
            answer = Answer(allow=False, feedback=f"the permission question could not be asked ({type(e).__name__}).")
        finally:
            if key is not None:
                self.waiting.pop(key, None)
        for _, member_session, waiting in group:
            member_session.answer(waiting.request_id, answer)

    async def _member(self, member) -> None:
        session = self.sessions[member.name]
        await session.start()
        prompt = "Read the board and start."
        kept_awake = 0
        while not self.stop.is_set():
            self.asleep[member.name] = False
            end = await session.send(prompt)
            if end.reason == "error" and end.last_message is not None:
                self.say(f"[{member.name}] error: {end.last_message.error}")
            if self.stop.is_set():
                break
            feedback = await session.teammate_idle(member.name, self.team.name or Path(self.project_dir).name)
            if feedback is not None and kept_awake < MAX_IDLE_BLOCKS:
                kept_awake += 1
                self.say(f"[{member.name}] a TeammateIdle hook keeps it working: {' '.join(feedback.split())[:200]}")
                prompt = f"TeammateIdle hook feedback:\n{feedback}"
                continue
            if feedback is not None:
                self.say(f"[{member.name}] TeammateIdle hooks blocked {MAX_IDLE_BLOCKS} times in a row; it waits now")
            kept_awake = 0
            self.asleep[member.name] = True
            while not self.stop.is_set() and not self.board.unread(member.name):
                await asyncio.sleep(0.1)
            if self.stop.is_set():
                break
            mail = self.board.take_mail(member.name)
            prompt = "New messages for you:\n" + "\n".join(f"From {m['from']}: {m['text']}" for m in mail)

    def _show(self, who: str, event) -> None:
        if isinstance(event, ToolStart):
            self.say(f"[{who}] ⏺ {call_label(event.call, 70)}")
        elif isinstance(event, ToolEnd) and event.result.is_error:
            self.say(f"[{who}]   ✗ {' '.join(event.result.text.split())[:200]}")
        elif isinstance(event, MessageAdded) and isinstance(event.message, AssistantMessage) and event.message.text:
            text = " ".join(event.message.text.split())
            self.say(f"[{who}] {text[:300]}{'…' if len(text) > 300 else ''}")
        elif isinstance(event, Notice):
            self.say(f"[{who}] {event.level}: {event.text}")

    # --- the person watching -------------------------------------------------------------------------

    async def _ask(self, group: list, call: ToolCall, decision):
        from sous.permissions import Answer

        async with self.asking:  # one question at a time
            who = ", ".join(dict.fromkeys(member for member, _, _ in group))
            verb = "want" if len(group) > 1 else "wants"
            self.say(f"? [{who}] {verb} to run {asked_label(call)}: {printable(decision.reason)}. Allow once? [y/N]")
            self.question = asyncio.get_running_loop().create_future()
            self.shown = group
            try:
                reply = await self.question
            finally:
                self.question = None
                self.shown = None
            return Answer(allow=reply.strip().lower() in ("y", "yes"))

    async def _read_input(self) -> None:
        # A reader callback, not a thread: a thread blocked in readline() would keep the process
        # alive after the team is done.
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()
        loop.add_reader(sys.stdin.fileno(), lambda: lines.put_nowait(sys.stdin.readline()))
        try:
            while not self.stop.is_set():
                line = await lines.get()
                if not line:
                    return self.stop.set()  # Ctrl-D
                self._take(line.strip())
        finally:
            loop.remove_reader(sys.stdin.fileno())

    def _take(self, line: str) -> None:
        """One line typed by the person: an answer, a message to a member, or a command."""
        if self.question is not None and not self.question.done():
            self.question.set_result(line)
        elif line == "/stop":
            self.say("stopping the team")
            self.stop.set()
        elif line == "/board":
            self.say(self.board.render())
        elif line.startswith("@") and " " in line:
            to, text = line[1:].split(" ", 1)
            if to in self.asleep or to == "all":
                for target in self.asleep if to == "all" else [to]:
                    self.board.send("user", target, text)
            else:
                self.say(f"no member {to!r}; members: {', '.join(self.asleep)}")
        elif line:
            self.say("type @member message, /board or /stop")

    async def _watch(self) -> None:
        """End the team once everyone sleeps with no mail waiting. With a person watching, only
        when every task is done: until then they may still message someone, or /stop."""
        quiet_since, told = None, False
        while not self.stop.is_set():
            await asyncio.sleep(0.2)
            idle = all(self.asleep.values()) and not any(self.board.unread(m) for m in self.asleep)
            finished = bool(self.board.tasks()) and not self.board.unfinished()
            if not idle:
                quiet_since, told = None, False
            elif quiet_since is None:
                quiet_since = asyncio.get_running_loop().time()
            elif asyncio.get_running_loop().time() - quiet_since >= QUIET_S:
                if finished or not self.interactive:
                    self.stop.set()
                elif not told:
                    told = True
                    self.say("(everyone is idle: message a member with @name text, or /stop)")

    async def run(self) -> int:
        for member in self.team.members:
            self.sessions[member.name] = self._open(member)
        self.say(
            f"team of {len(self.team.members)}: "
            + ", ".join(f"{m.name} ({m.folder}/)" for m in self.team.members)
            + f"; board in {self.board.folder}"
        )
        self.board.log("user", f"team started: {self.team.goal[:200]}")
        workers = [asyncio.ensure_future(self._member(m)) for m in self.team.members]
        helpers = [asyncio.ensure_future(self._watch())]
        if self.interactive:
            helpers.append(asyncio.ensure_future(self._read_input()))
        try:
            await self.stop.wait()
        finally:
            for session in self.sessions.values():
                session.interrupt("the team stopped")
            await asyncio.gather(*workers, return_exceptions=True)
            for task in helpers:
                task.cancel()
            for session in self.sessions.values():
                await session.end("other")
                session.close()
        unfinished = self.board.unfinished()
        self.say("board:\n" + self.board.render())
        self.say(
            "all tasks done"
            if not unfinished and self.board.tasks()
            else f"{len(unfinished)} task(s) not done; run `sous team` again to resume"
            if unfinished
            else "no tasks"
        )
        self.board.log("user", "team stopped")
        return 0 if not unfinished else 1


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="sous team", description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", help="the team file (default: .sous/team.yaml or .sous/team.json)")
    parser.add_argument("--goal", help="override the team file's goal")
    parser.add_argument("--max-turns", type=int, help="per member and wake-up")
    args = parser.parse_args(argv)
    cwd = os.getcwd()
    try:
        team = load(find(cwd, args.file))
        if args.goal:
            team = Team(goal=args.goal, members=team.members, source=team.source, name=team.name)
        runner = TeamRunner(team, cwd, interactive=sys.stdin.isatty(), max_turns=args.max_turns)
        return asyncio.run(runner.run())
    except ConfigError as e:
        print(f"sous team: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsous team: stopped; the board keeps the state", file=sys.stderr)
        return 130
