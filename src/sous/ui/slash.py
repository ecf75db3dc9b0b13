"""The built-in slash commands, shared by every interactive front end.

`await run(session, "/cost")` returns an `Outcome`: text to show, and possibly a prompt to send to
the model (`/init`) or a request to leave. It returns None for anything that is not a built-in
(custom commands and skills are expanded by the session; plain prompts go to the model), and an
error with a suggestion for a `/word` that names nothing.
"""

from __future__ import annotations

import difflib
import re
import time
from pathlib import Path
from typing import Any

from sous.records import record

from .plugin_command import plugin_slash

BUILTINS: dict[str, str] = {
    "/help": "this list",
    "/clear": "start afresh: empty context, a new session in this folder",
    "/compact [focus]": "summarise the conversation and go on from the summary",
    "/context": "what fills the context window",
    "/cost": "tokens, cost and time of this session",
    "/model [name]": "show or switch the model",
    "/output-style [name]": "choose how sous talks: default, explanatory, learning, or your own styles",
    "/resume [N|id|words]": "list this folder's sessions (those mentioning the words); resume one",
    "/fork": "go on in a new session with a copy of this conversation (this one stays as it is)",
    "/todos": "the current todo list",
    "/agents [new DESC|stop ID]": "agent types and running agents; draft a new type; stop one",
    "/status": "version, model, session, mode, servers",
    "/init": "write an AGENTS.md describing this project (asks the model)",
    "/permissions [revoke N]": "rules, grants, auto judgements; withdraw grant N; allow|deny N: judgement N as a rule",
    "/hooks": "the configured hooks",
    "/plugin [install|enable|disable|list|marketplace ...]": "the plugins in use; manage plugins (as sous plugin)",
    "/mcp [reconnect|login|logout NAME]": "the MCP servers and their state; restart one; log in to one in a browser",
    "/memory [N]": "the memory files loaded; open number N in $EDITOR",
    "/add-dir [path]": "list the working folders; add one for this session (read, and edited in accept-edits mode)",
    "/rewind [N [code|conversation|both] [force]]": "list checkpoints; restore files and/or conversation",
    "/exit": "leave (Ctrl-D too)",
}
NAMES = [usage.split()[0] for usage in BUILTINS] + ["/quit"]
KEYS: dict[str, str] = {
    "Enter": "send (while sous works: queue for its next turn)",
    "Alt+Enter, Ctrl-J": "a new line (so does a \\ at the end of the line)",
    "Esc": "interrupt the run, or say no to a question, or clear the input",
    "Esc Esc": "at an empty prompt: choose a turn to rewind to (code, conversation or both)",
    "Shift+Tab": "cycle the mode: default, accept edits, plan",
    "@path": "attach a file (Tab completes)",
    "!command": "run a shell command; its output goes to the model with the next prompt",
    "Up/Down": "this folder's earlier prompts",
    "Tab": "complete /commands, /model names and @files",
    "Ctrl-C": "clear the input; twice at an idle prompt: leave",
    "Ctrl-D": "leave (on an empty prompt)",
}
"""The full terminal's keys, for `/help` (the plain line-based REPL reads whole lines only)."""

INIT_PROMPT = """\
Please analyse this codebase and write an AGENTS.md file at its root, for future coding agents \
working in this repository. Include:

1. The commands used most: how to install, build, lint, run the tests (and a single test).
2. The architecture at a glance: the big picture that needs several files to understand.
3. A line of the form: Test command: `<command>` -- the one command that runs the whole test \
suite (run it once to check it works); hooks and scripts read this line.

Be concise: no generic advice, no exhaustive file listings, nothing you cannot verify from the \
repository. If an AGENTS.md or CLAUDE.md exists, improve it instead of starting over; fold in \
important parts of README.md, .cursorrules, .github/copilot-instructions.md when present."""


@record(frozen=False, kw_only=False)
class Outcome:
    text: str = ""
    prompt: str | None = None
    """A prompt the front end sends to the model next (as if typed)."""
    exit: bool = False
    error: bool = False
    edit: str | None = None
    """A file the front end opens in $EDITOR (it knows how to hand the terminal over)."""
    then: str | None = None
    """A command the front end runs after the edit (to pick up what was saved)."""


def is_command_like(line: str) -> bool:
    """`/word args`: a command; `/usr/bin/env is odd` (a path) is a prompt."""
    from sous.context.commands import is_command_like as command_like

    return command_like(line)


def suggest(name: str, custom: list[str]) -> str:
    close = difflib.get_close_matches(name, [*NAMES, *custom], n=1, cutoff=0.5)
    return f"unknown command {name}" + (f" — did you mean {close[0]}?" if close else "; /help lists them")


async def run(session, line: str) -> Outcome | None:
    line = line.strip()
    if not is_command_like(line):
        return None
    name, _, rest = line.partition(" ")
    args = rest.split()
    handler = _HANDLERS.get(name)
    if handler is None:
        if name[1:] in session.commands:
            return None  # the session expands custom commands
        if session.mcp is not None and (found := session.mcp.find_prompt(name[1:])):
            server, prompt = found
            return await _mcp_prompt(session, server, prompt, rest)
        mcp_prompts = [f"/{n}" for n, _ in session.mcp.prompt_commands()] if session.mcp else []
        return Outcome(text=suggest(name, [f"/{c}" for c in session.commands] + mcp_prompts), error=True)
    return await handler(session, rest.strip(), args)


async def _mcp_prompt(session, server: str, prompt: dict, rest: str) -> Outcome:
    """`/mcp__server__prompt a "b c"`: the server's prompt, its arguments given in order."""
    import shlex

    from sous.mcp.client import McpError

    try:
        values = shlex.split(rest)
    except ValueError:
        values = rest.split()
    # Missing values are reported below; extra words beyond the declared arguments are dropped.
    arguments = dict(zip(prompt["arguments"], values, strict=False))
    if missing := [a for a in prompt["required"] if a not in arguments]:
        usage = " ".join(f"<{a}>" for a in prompt["arguments"])
        return Outcome(f"missing {', '.join(missing)}: /mcp__{server}__{prompt['name']} {usage}", error=True)
    try:
        text = await session.mcp.get_prompt(server, prompt["name"], arguments)
    except McpError as e:
        return Outcome(str(e), error=True)
    return Outcome(prompt=text)


async def _help(session, rest, args) -> Outcome:
    lines = [f"{usage:26} {what}" for usage, what in BUILTINS.items()]
    lines += [f"/{c.name:25} {c.description[:70]}" for c in session.commands.values() if c.user_invocable]
    lines += [f"/{n:25} {d[:70]}" for n, d in (session.mcp.prompt_commands() if session.mcp else [])]
    lines += ["", "keys (the full terminal):"]
    lines += [f"  {key:24} {what}" for key, what in KEYS.items()]
    return Outcome("\n".join(lines))


async def _exit(session, rest, args) -> Outcome:
    return Outcome(exit=True)


async def _clear(session, rest, args) -> Outcome:
    await session.clear()
    return Outcome("(context cleared: a new session begins)")


async def _compact(session, rest, args) -> Outcome:
    from sous.context.compact import CompactError
    from sous.context.measure import estimate_tokens, message_tokens

    if not session.messages:
        return Outcome("nothing to compact yet", error=True)
    before = sum(message_tokens(m) for m in session.messages)
    try:
        summary = await session.compact(rest)
    except CompactError as e:
        return Outcome(f"compaction failed: {e}", error=True)
    return Outcome(
        f"compacted: ~{before:,} tokens of conversation → ~{estimate_tokens(summary):,} of summary "
        f"(/context shows the window)"
    )


async def _context(session, rest, args) -> Outcome:
    use = session.context_use()
    window, used = use.window, use.used
    rows = [
        ("system prompt", use.system),
        ("tool schemas", use.tools),
        ("memory files", use.memory),
        ("messages", use.messages),
    ]
    width = 30
    filled = min(width, round(width * used / window)) if window else 0
    lines = [
        f"context  [{'█' * filled}{'░' * (width - filled)}]  ~{used:,} of {window:,} tokens ({use.percent:.0f}%)"
        if window
        else f"~{used:,} tokens"
    ]
    lines += [f"  {label:14} ~{tokens:>8,} tokens" for label, tokens in rows]
    if session.mcp is not None:
        from sous.mcp.search import schema_tokens

        for name, server in session.mcp.servers.items():
            if server.tools:
                deferred = all(t.name in session.deferred_tools for t in server.tools)
                lines.append(
                    f"    mcp {name:10} ~{schema_tokens(server.tools):>8,} tokens, {len(server.tools)} tools"
                    + (" (deferred: loaded by ToolSearch on demand)" if deferred else "")
                )
    if session.totals.last_input_tokens:
        lines.append(f"  (the model's own count at the last turn: {session.totals.last_input_tokens:,})")
    if (status := session.compaction_status) is not None:
        lines.append(f"  {status}")
    lines.append(f"  {len(session.messages)} messages; /compact frees room")
    return Outcome("\n".join(lines))


def cost_lines(session) -> list[str]:
    t = session.totals
    usage = t.usage + session.side_usage
    for run in session.subagent_runs:
        usage = usage + run.usage
    return [
        f"total cost:        ${usage.cost_usd:.4f}",
        f"tokens:            {usage.input_tokens:,} in, {usage.output_tokens:,} out, "
        f"{usage.cache_read_tokens:,} cache read, {usage.cache_write_tokens:,} cache write",
        f"time:              {t.duration_ms / 1000:.1f} s in runs, {t.api_ms / 1000:.1f} s waiting for the model",
        f"runs:              {t.runs} ({t.turns} model turns)",
    ]


async def _cost(session, rest, args) -> Outcome:
    judge = session.auto_judge  # the auto mode's judge counts apart
    return Outcome("\n".join(cost_lines(session) + (judge.cost_lines() if judge and judge.spend.count else [])))


def known_models() -> list[str]:
    from sous.models import ALIASES, catalog

    names = [*ALIASES]
    for model_id in catalog.MODELS:
        names.append(f"{'anthropic' if model_id.startswith('claude') else 'openai'}:{model_id}")
    return names


async def _output_style(session, rest, args) -> Outcome:
    from sous.core import ConfigError

    if not args:
        current = session.output_style.lower()
        rows = [
            f"{'›' if key == current else ' '} {style.name}: {style.description}"
            for key, style in session.output_styles().items()
        ]
        return Outcome("\n".join([*rows, "choose with /output-style NAME (for this session)"]))
    try:
        name = session.set_output_style(rest.strip())
    except ConfigError as e:
        return Outcome(str(e), error=True)
    return Outcome(f"output style: {name} (for this session; the outputStyle setting keeps it)")


async def _model(session, rest, args) -> Outcome:
    from sous.core import ConfigError

    if not args:
        return Outcome(
            f"model: {session.model.name}\nswitch with /model NAME, e.g. "
            + ", ".join(known_models()[:6])
            + " (Tab completes)"
        )
    try:
        model = await session.switch_model(args[0], "command")
    except ConfigError as e:
        return Outcome(f"cannot switch: {e}", error=True)
    return Outcome(f"model: {model.name}")


async def _add_dir(session, rest, args) -> Outcome:
    from sous.core import ConfigError

    if not rest:
        folders = [session.project_dir, *session.added_dirs]
        return Outcome("working folders:\n" + "\n".join(f"  {f}" for f in folders) + "\nadd one with /add-dir PATH")
    try:
        added = await session.add_dir(rest)
    except ConfigError as e:
        return Outcome(f"cannot add: {e}", error=True)
    return Outcome(f"added {added} as a working folder for this session")


def _preview(path: Path) -> tuple[str, str, int]:
    """(session id, first prompt, message count) of a session file."""
    from sous.store import transcript

    try:
        loaded = transcript.load(path)
    except (OSError, ValueError):
        return path.stem, "(unreadable)", 0
    from sous.context.compact import SUMMARY_HEADER

    prompts = [
        m.text
        for m in loaded.messages
        if m.role == "user" and m.text.strip() and not m.text.startswith("<system-reminder>")
    ]
    first = next((p for p in prompts if not p.startswith(SUMMARY_HEADER)), "")
    if prompts and prompts[0].startswith(SUMMARY_HEADER):
        first = "(compacted) " + first
    return loaded.session_id, " ".join(first.split())[:70] or "(no prompt)", len(loaded.messages)


@record
class SessionChoice:
    """One earlier session of this folder, as `/resume` lists it and its search box filters it."""

    number: int
    """Its place in `/resume`'s full list: `/resume N` takes this number."""
    path: Path
    session_id: str
    label: str
    """Date, message count, first prompt and short id, on one line."""
    text: Any = None
    """The session as text (`sous.store.recall.PastSession`), for searching; None when unreadable."""

    def matches(self, words: list[str]) -> bool:
        """Every word is in the label (first prompt, id) or anywhere in the session's text."""
        label = self.label.lower()
        return all(w in label or (self.text is not None and w in self.text.haystack) for w in words)

    def excerpt(self, words: list[str]) -> str:
        """Where the words are found in the session's text, when the label does not show them."""
        if not words or self.text is None or all(w in self.label.lower() for w in words):
            return ""
        from sous.store import recall

        entry = next((e for e in self.text.entries if any(w in e.text.lower() for w in words)), None)
        return recall.excerpt(entry.text, words, width=90) if entry is not None else ""


def session_choices(session, limit: int = 200) -> list[SessionChoice]:
    """This folder's earlier sessions with messages, newest first (the current one left out).
    Reads every file: call it off the event loop's thread in a terminal."""
    from sous.store import recall, transcript

    paths = [
        p
        for p in transcript.list_sessions(session.project_dir, session.environ)
        if p.stem != session.id and _has_messages(p)
    ]
    choices = []
    for number, path in enumerate(paths[:limit], 1):
        sid, first, count = _preview(path)
        try:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        except OSError:
            continue
        label = f"{when}  {count:>4} msgs  {first}  [{sid[:8]}]"
        choices.append(SessionChoice(number=number, path=path, session_id=sid, label=label, text=recall.read(path)))
    return choices


def _has_messages(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return any('"type": "message"' in line for line in f)
    except OSError:
        return False


async def _resume(session, rest, args) -> Outcome:
    import asyncio

    from sous.store import recall

    choices = await asyncio.to_thread(session_choices, session)
    if not args:
        if not choices:
            return Outcome("no earlier sessions in this folder")
        rows = [f"{c.number:>2}. {c.label}" for c in choices[:20]]
        return Outcome("\n".join(rows) + "\nresume one with /resume N (or its id); /resume WORDS finds sessions")
    choice = args[0]
    path = None
    if len(args) == 1 and choice.isdigit():
        path = next((c.path for c in choices if c.number == int(choice)), None)
    elif len(args) == 1:
        path = next((c.path for c in choices if c.session_id.startswith(choice)), None)
    if path is None:
        words = recall.terms(rest)
        found = [c for c in choices if c.matches(words)]
        if not found:
            return Outcome(f"no session in this folder has the id or mentions {rest!r}; /resume lists them", error=True)
        rows = []
        for c in found[:20]:
            rows.append(f"{c.number:>2}. {c.label}")
            if excerpt := c.excerpt(words):
                rows.append(f"      {excerpt}")
        return Outcome("\n".join(rows) + "\nresume one with /resume N (or its id)")
    return await resume_path(session, path)


async def resume_path(session, path: Path) -> Outcome:
    """Go on as the session stored at `path`, saying what was resumed."""
    try:
        messages = await session.resume(path)
    except (OSError, ValueError) as e:
        return Outcome(f"cannot resume {path.name}: {e}", error=True)
    last = [m for m in messages if m.role in ("user", "assistant") and m.text.strip()][-4:]
    shown = "\n".join(f"  {m.role}: {' '.join(m.text.split())[:100]}" for m in last)
    return Outcome(f"resumed {session.id} ({len(messages)} messages)\n{shown}")


async def _fork(session, rest, args) -> Outcome:
    if rest:
        return Outcome("usage: /fork (it takes no arguments)", error=True)
    old, count = session.id, len(session.messages)
    new = session.fork()
    back = (
        f"the old session is unchanged: go back to it with `sous -r {old}`"
        if session.transcript_path is not None
        else "no session files are written (--no-session-persistence), so neither can be resumed later"
    )
    return Outcome(f"forked: now in session {new} (a copy of {count} message{'s' * (count != 1)})\n{back}")


AGENT_DRAFT = """\
Write the definition of a sub-agent for this purpose: {purpose}

Reply with the file only, no commentary and no code fence: a YAML frontmatter between --- lines with
`name` (lowercase words joined by hyphens), `description` (one sentence saying when to use it) and,
if it should be limited, `tools` (a comma-separated subset of: {tools}); then, after the frontmatter,
the agent's system prompt: who it is, how it works, what its final report must contain."""


async def _agents(session, rest, args) -> Outcome:
    spawner = session.subagents
    if spawner is None:
        return Outcome("sub-agents are off in this session (the Agent tool is denied or not offered)", error=True)
    if args[:1] == ["stop"] and len(args) == 2:
        done = spawner.stop(args[1])
        return Outcome(f"stopped {args[1]}" if done else f"no background agent {args[1]}", error=not done)
    if args[:1] == ["new"]:
        return await _draft_agent(session, rest[3:].strip())
    types = session.refresh_agents()
    lines = ["agent types:"]
    lines += [
        f"  {name:20} {spec.description[:60]}  [{'built-in' if spec.source == 'built-in' else spec.source}]"
        for name, spec in sorted(types.items())
    ]
    now = time.monotonic()
    if spawner.running:
        lines.append("running:")
        lines += [
            f"  {r.agent_id}  {r.kind}: {r.description[:40]} · {r.activity} · {r.tokens:,} tokens · "
            f"{now - r.started:.0f}s{' · background' if r.background else ''}"
            for r in spawner.running.values()
        ]
    if spawner.done:
        lines.append(
            "finished, resumable with SendMessage: "
            + ", ".join(f"{agent_id} ({f.kind})" for agent_id, f in spawner.done.items())
        )
    lines.append("/agents new DESCRIPTION drafts a new type; /agents stop ID stops a background agent")
    return Outcome("\n".join(lines))


async def _draft_agent(session, purpose: str) -> Outcome:
    from sous.context.commands import frontmatter
    from sous.core import ProviderError

    if not purpose:
        return Outcome("describe the agent: /agents new reviews pull requests for security problems", error=True)
    names = ", ".join(t.name for t in session.tools if not t.name.startswith("mcp__"))
    try:
        reply = await session.ask_aside(
            "You write sub-agent definitions for a coding agent.", AGENT_DRAFT.format(purpose=purpose, tools=names)
        )
    except ProviderError as e:
        return Outcome(f"the model could not draft it: {e}", error=True)
    text = reply.strip().removeprefix("```markdown").removeprefix("```yaml").removeprefix("```").removesuffix("```")
    meta, body = frontmatter(text.strip() + "\n")
    name = re.sub(r"[^a-z0-9-]+", "-", str(meta.get("name") or "").lower()).strip("-")
    if not name or not meta.get("description") or not body.strip():
        return Outcome("the model's draft had no name, description or prompt; try again with more detail", error=True)
    folder = Path(session.project_dir) / ".claude" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    if path.exists():
        return Outcome(f"{path} exists already; edit it, or describe a different agent", error=True)
    text = re.sub(r"(?m)^name:.*$", f"name: {name}", text.strip(), count=1)  # the file name and the name agree
    path.write_text(text + "\n", encoding="utf-8")
    session.refresh_agents()
    return Outcome(f"drafted {path}; opening it for your edits", edit=str(path), then="/agents")


def todo_lines(todos: list[dict], ascii_only: bool = False) -> list[str]:
    marks = (
        {"completed": "[x]", "in_progress": "[~]", "pending": "[ ]"}
        if ascii_only
        else {"completed": "☒", "in_progress": "◐", "pending": "☐"}
    )
    return [f"{marks.get(t.get('status', ''), '?')} {t.get('content', '')}" for t in todos]


async def _todos(session, rest, args) -> Outcome:
    todos = session.todos
    return Outcome("\n".join(todo_lines(todos)) if todos else "no todos yet")


async def _status(session, rest, args) -> Outcome:
    from sous import __version__

    lines = [
        f"sous {__version__}",
        f"session:  {session.id}",
        f"folder:   {session.cwd}",
        *(f"added:    {folder}" for folder in session.added_dirs),
        f"model:    {session.model.name}",
        f"mode:     {session.mode}",
        f"tools:    {len(session.tools)}",
        f"memory:   {len(session.memory.files) if session.memory else 0} files",
        f"mcp:      {'; '.join(session.mcp.describe()) if session.mcp else 'none'}",
    ]
    if session.transcript_path:
        lines.append(f"log:      {session.transcript_path}")
    lines += session.unavailable_tools.values()  # how to enable each missing tool
    return Outcome("\n".join(lines))


async def _init(session, rest, args) -> Outcome:
    from sous.context import test_command

    prompt = INIT_PROMPT
    if guessed := test_command.guess(session.cwd):
        prompt += f"\n\nThe project's files suggest the test command `{guessed}`."
    return Outcome("(asking the model to write AGENTS.md)", prompt=prompt + (f"\n\n{rest}" if rest else ""))


async def _permissions(session, rest, args) -> Outcome:
    if args[:1] == ["revoke"] and len(args) == 2 and args[1].lstrip("#").isdigit():
        done = session.revoke_grant(int(args[1].lstrip("#")))
        return Outcome(f"{'revoked' if done else 'no such grant'} #{args[1].lstrip('#')}", error=not done)
    if args[:1] in (["allow"], ["deny"]) and len(args) == 2 and args[1].lstrip("#").isdigit():
        text = session.adopt_judgement(int(args[1].lstrip("#")), args[0])  # an auto-mode judgement
        return Outcome(text, error=text.startswith("no "))
    return Outcome("\n".join(session.permission_lines()))


async def _hooks(session, rest, args) -> Outcome:
    config = session.hook_config
    rows = [
        f"{event:20} {g.matcher or '*':12} {h.command or h.url}"
        for event, groups in (config.groups.items() if config else [])
        for g in groups
        for h in g.handlers
    ]
    return Outcome("\n".join(rows or ["no hooks are configured"]))


async def _mcp(session, rest, args) -> Outcome:
    if args[:1] == ["reconnect"] and len(args) == 2 and session.mcp:
        return Outcome(f"{'reconnecting' if session.mcp.reconnect(args[1]) else 'no such server'} {args[1]}")
    if args[:1] in (["login"], ["logout"]) and len(args) == 2 and session.mcp:
        from sous.mcp.client import McpError

        try:  # a login's address arrives as a notice while this waits for the browser
            text = await session.mcp.login(args[1]) if args[0] == "login" else session.mcp.logout(args[1])
        except McpError as e:
            return Outcome(str(e), error=True)
        if args[0] == "login":  # a server that needed the login joins now, with its tools
            session.set_tools(add=[t for t in session.mcp.tools if t.server.spec.name == args[1]])
        return Outcome(text)
    lines = session.mcp.describe() if session.mcp else ["no MCP servers are configured"]
    if any(": needs-auth" in line for line in lines):
        lines.append("/mcp login NAME logs in to a server in a browser")
    return Outcome("\n".join(lines))


async def _memory(session, rest, args) -> Outcome:
    files = session.memory.files if session.memory else []
    if args and args[0].isdigit() and 0 < int(args[0]) <= len(files):
        return Outcome(edit=str(files[int(args[0]) - 1].path))
    rows = [f"{i}. {f.path} ({f.scope})" for i, f in enumerate(files, 1)]
    return Outcome("\n".join(rows or ["no memory files are loaded"]))


async def _rewind(session, rest, args) -> Outcome:
    from sous.checkpoints import CheckpointError, RewindRefused
    from sous.checkpoints.rewind import MODES, describe

    if not session.checkpointing:
        return Outcome("checkpoints are off for this session", error=True)
    words = rest.split()
    if not words:
        entries = session.checkpoints()
        if not entries:
            return Outcome("no checkpoints yet: one is taken at each prompt")
        return Outcome(
            "\n".join(describe(e) for e in entries[-20:])
            + "\n/rewind N [code|conversation|both] restores to before turn N (both by default)"
        )
    mode = next((w for w in words[1:] if w in MODES), "both")
    if not words[0].lstrip("#").isdigit() or any(w not in (*MODES, "force") for w in words[1:]):
        return Outcome("usage: /rewind N [code|conversation|both] [force]", error=True)
    number = int(words[0].lstrip("#"))
    try:
        return Outcome(await session.rewind(number, mode, force="force" in words[1:]))
    except RewindRefused as e:
        return Outcome(f"{e}: /rewind {number} {mode} force", error=True)
    except CheckpointError as e:
        return Outcome(f"rewind failed: {e}", error=True)


_HANDLERS = {
    "/help": _help,
    "/exit": _exit,
    "/quit": _exit,
    "/clear": _clear,
    "/compact": _compact,
    "/context": _context,
    "/cost": _cost,
    "/model": _model,
    "/output-style": _output_style,
    "/resume": _resume,
    "/fork": _fork,
    "/todos": _todos,
    "/status": _status,
    "/init": _init,
    "/permissions": _permissions,
    "/hooks": _hooks,
    "/mcp": _mcp,
    "/plugin": plugin_slash,
    "/memory": _memory,
    "/add-dir": _add_dir,
    "/agents": _agents,
    "/rewind": _rewind,
}
