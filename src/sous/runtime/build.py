"""The builder: settings, model, tools, middlewares and transcript → a ready `Session`.

Every front end (the terminal, the plain REPL, `-p`, `sous team`, `sous mcp serve`) opens its
session here, and nothing else builds one. The parts are made in dependency order — the event
bus first, then the transcript, permissions, hooks, sub-agents, the agent and the session — so
each is complete when it is made: nothing is filled in or wired back afterwards.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sous import checkpoints
from sous.context import autocompact
from sous.core import (
    Agent,
    Chain,
    ConfigError,
    Conversation,
    Middleware,
    ModeChanged,
    Model,
    Notice,
    ToolContext,
    ToolSet,
)
from sous.permissions import MODES, Asker, DeferredJudge, PermissionMiddleware, Rules
from sous.permissions.rules import parse, read_denied, split_flags
from sous.records import field, record
from sous.settings.watch import SettingsWatch, settings_sources
from sous.store import transcript as store
from sous.store.ids import new_uuid
from sous.tools._files import ADDED_DIRS

from . import extensions
from .bus import EventBus, Questions, Runs
from .history import repair, repaired_tail
from .parts import SessionParts
from .record import Transcript
from .run import read_allowed, shell_allowed
from .run_record import RunRecorder
from .session import Session

AGENT_ALIASES = {"Task": "Agent"}


@record(frozen=False)
class Options:
    """Everything a front end can choose about a session. Field names follow the CLI flags."""

    cwd: str = field(default_factory=os.getcwd)
    model: str | Model | None = None
    """`provider:model` (or an alias), or a ready `Model` (an embedding program's, a test's scripted one)."""
    permission_mode: str | None = None
    allowed_tools: list[str] = field(default_factory=list)
    disallowed_tools: list[str] = field(default_factory=list)
    tools: list[str] | None = None
    """Restrict the built-in tool set (`--tools`); None = the default set."""
    system_prompt: str | None = None
    append_system_prompt: str = ""
    max_turns: int | None = None
    continue_last: bool = False
    resume: str | None = None
    fork_session: bool = False
    """With `resume`/`continue_last`: go on in a new session that starts with a copy of that history."""
    agents_json: str | None = None
    """`--agents JSON`: more agent types, over the files."""
    agent: str | None = None
    """`--agent NAME`: run the whole session as that agent."""
    mcp_config: list[str] = field(default_factory=list)
    strict_mcp_config: bool = False
    settings: str | None = None
    bare: bool = False
    persist: bool = True
    answers_permissions: bool = False
    """A person answers permission questions (`PermissionRequest` events, `Session.answer`);
    otherwise what would ask is refused."""
    permission_prompt_tool: str | None = None
    """`--permission-prompt-tool mcp__server__tool`: that MCP tool answers permission questions."""
    questions_per_agent: bool = False
    """Who answers permission questions is told which agent asks and may answer each differently
    (a program, `--permission-prompt-tool`): the same question of two agents is asked twice."""
    plugin_dirs: list[str] = field(default_factory=list)
    """`--plugin-dir DIR` (repeatable): plugins used for this session only, installed or not."""
    write_root: str | None = None
    """Edits are allowed without asking only inside this folder (a team member's); reads still
    cover the whole project."""
    add_dirs: list[str] = field(default_factory=list)
    """`--add-dir`: more working folders (relative to `cwd`), beside `permissions.additionalDirectories`;
    one that is not a directory stops the start (`ConfigError`). See `permissions.workdirs`."""
    setting_sources: list[str] | None = None
    """`--setting-sources`: which settings files are read (`user`, `project`, `local`); None = all.
    Managed settings and `--settings` are read either way."""
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    json_schema: dict[str, Any] | None = None
    """`--json-schema`: the final answer is a StructuredOutput call fitting this schema (checked by the CLI)."""
    editor: Any = None
    """The editor's files and terminals (`sous.tools._editor.Editor`, from `sous acp`): Read, Write,
    Edit and Bash go through it where it offers them, its sub-agents' too."""


def open_session(opts: Options) -> Session:
    """Build a session; raises `ConfigError` (one line, with the fix) when it cannot start."""
    from sous.context import system_prompt
    from sous.models import OFFLINE_NOTICE

    cwd = os.path.abspath(opts.cwd)
    from sous.permissions import project_grants, trust

    from .trusted import definitions_gate, model_resolver, trusted_command

    # the project's own grants (env, allow rules, a wider mode, sandbox loosening) only once trusted
    cfg, project_trust, left_out = project_grants.load(
        cwd, opts.environ, opts.settings, bare=opts.bare, sources=opts.setting_sources
    )
    cfg.require_valid()  # a setting whose loss could widen a permission stops the session here
    settings_watch = SettingsWatch(settings_sources(cwd, opts.environ, bare=opts.bare))
    notices = [Notice(level="warning", text=p) for p in cfg.problems]
    if project_trust.problem:
        notices.append(Notice(level="warning", text=project_trust.problem))
    environ = {**opts.environ, **{k: str(v) for k, v in (cfg.get("env") or {}).items()}}
    found = extensions.find_plugins(opts, cfg, cwd, notices)
    resolve, waiting = model_resolver(cfg, project_trust, opts, cwd, environ)
    left_out += [waiting] if waiting is not None else []

    loaded = _find_previous(opts, cwd)
    if loaded is not None and loaded.damage:
        notices.append(Notice(level="warning", text=loaded.damage))
    model_spec = opts.model or (loaded.model if loaded else None) or cfg.get("model") or opts.environ.get("SOUS_MODEL")
    model = model_spec if model_spec is not None and not isinstance(model_spec, str) else resolve(model_spec)
    if model.name.startswith("local:") and not model_spec:
        notices.append(Notice(level="info", text=OFFLINE_NOTICE.format(name=model.name)))

    rules = _rules(cfg, opts, cwd)
    notices += [Notice(level="warning", text=f"ignored permission rule: {p}") for p in rules.problems]
    mode = _mode(opts.permission_mode or cfg.get("permissions.defaultMode") or "default")
    gated = definitions_gate(project_trust, cwd, opts.environ, left_out)  # project agents' modes, allowed-tools
    main_spec, all_types = _agent_types(opts, cwd, extensions.plugin_parts(found, "agents", notices), gated)
    if main_spec is not None:  # the whole session runs as this agent
        if main_spec.model and not opts.model:
            model = resolve(main_spec.model)
        if main_spec.permission_mode in MODES and not opts.permission_mode:
            mode = main_spec.permission_mode

    bus = EventBus()
    questions = Questions(bus.emit)
    session_id = loaded.session_id if loaded is not None and not opts.fork_session else new_uuid()
    record = Transcript(
        _writer(opts, cwd, loaded, session_id, model.name, mode, notices),
        warn=lambda text: bus.emit(Notice(level="warning", text=text)),
    )
    from sous.checkpoints import retention

    _, problem = retention.start(cfg.get, opts.environ, session_id)  # old sessions go, in the background
    if problem:
        notices.append(Notice(level="warning", text=problem))
    state: dict[str, Any] = {}  # the tools' state (the sandbox, files read, shells), for the context made last
    if (denied := read_denied(rules.deny, cwd)) is not None:  # Glob and Grep leave these files out
        state["read_denied"] = denied
    if cfg.get("sandbox.enabled"):  # under --bare too: only --settings and managed settings are read then
        notices += _sandbox(cfg, cwd, state, rules, opts.environ)
    from sous.permissions import workdirs

    state[ADDED_DIRS] = workdirs.collect(
        opts.add_dirs,
        cfg.get("permissions.additionalDirectories"),
        cwd,
        environ=opts.environ,
        settings=opts.settings,
        project_trust=project_trust,
        left_out=left_out,
        notices=notices,
    )
    if opts.editor is not None:
        state["editor"] = opts.editor

    runs = Runs()
    # `prompt` and `agent` hooks ask the model their handler names, or the session's as it is then
    models = lambda spec: resolve(spec) if spec else state["session_model"]()  # noqa: E731
    hooks = extensions.hook_middleware(
        cfg, opts, cwd, environ, session_id, record, bus, runs, mode, notices, project_trust, left_out, models, found
    )
    mcp = extensions.mcp_manager(opts, cwd, environ, notices, project_trust, left_out, found, bus, hooks)
    status_line, waiting = trusted_command(cfg, "statusLine", project_trust, opts.environ, opts.settings)
    left_out += [waiting] if waiting is not None else []
    plugin_commands = extensions.plugin_parts(found, "commands", notices)
    tools, agent_types, custom = _tools(opts, cwd, rules, main_spec, all_types, plugin_commands, gated)
    if left_out:
        from sous.permissions import trust

        notices.append(Notice(level="warning", text=trust.notice(left_out)))
    unavailable, deferred = _availability(opts, tools, rules, main_spec, model.name, cfg, environ, notices)
    if deferred and _tool_search_off(environ):  # ENABLE_TOOL_SEARCH=false: offered directly
        tools, deferred = tools.adding(deferred), []
    tools = tools.without(unavailable)
    if opts.json_schema is not None:
        from sous.tools import structured_output

        tools = tools.adding([structured_output.tool(opts.json_schema)])
    state.update(tools_unavailable=unavailable, web_search_config=cfg.get("webSearch"))
    # SessionSearch reads this project's session folder, the one this session writes to: fixed
    # here from sous's own environment, so a project's `env` setting cannot point it elsewhere.
    state["sessions_folder"] = store.sessions_dir(cwd, opts.environ)
    system = system_prompt.build(
        cwd, append=opts.append_system_prompt, replace=opts.system_prompt, added_dirs=state[ADDED_DIRS]
    )
    if main_spec is not None and opts.system_prompt is None:
        system = f"{main_spec.prompt}\n\n# Environment{system.partition('# Environment')[2]}"
    if trailer := _co_author(cfg):  # before the style, so that it stays whichever style is chosen
        system = f"{system}\n\n# Commits\nWhen you make a git commit, end its message with a blank line and: {trailer}"
    base_system = system
    style_name = str(cfg.get("outputStyle") or "default")
    if style_name.lower() != "default" and opts.system_prompt is None and not opts.bare:
        from .changes import styled

        system, style_name, problem = styled(base_system, style_name, cwd, opts.environ, found.plugins)
        notices += [Notice(level="warning", text=problem)] if problem else []
    convo = Conversation(system=system)
    if loaded is not None:
        convo.messages = repair(loaded.messages)

    def make_judge(eager: bool = False) -> Any:
        from sous.permissions import auto as auto_mode

        return auto_mode.from_settings(cfg, model, resolve, rules, lambda: convo.messages, bus.emit, eager=eager)

    judge = DeferredJudge(make_judge)  # the judge of auto mode, made when first needed
    if mode == "auto":  # a judge model that cannot be built stops the start
        judge.made = make_judge(eager=True)
    asker = _asker(opts, hooks, questions, mcp, ToolContext(cwd=cwd, project_dir=cwd, environ=environ))
    per_agent = opts.questions_per_agent or bool(opts.permission_prompt_tool)
    # identical questions of many agents: asked once (of each agent, for an answerer told who asks)
    queue = None
    if asker is not None:
        from .queue import PermissionQueue

        queue = PermissionQueue(asker, per_agent=per_agent)
    permissions = PermissionMiddleware(
        rules,
        mode,
        asker=queue.ask if queue is not None else None,
        emit=bus.emit,
        read_only_tools={t.name for t in [*tools, *deferred] if t.read_only},
        local_settings=Path(cwd) / ".claude" / "settings.local.json",
        on_saved=settings_watch.seen,
        approve_saved=functools.partial(trust.approve_saved_rules, cwd, opts.environ, opts.settings),
        on_ask=hooks.permission_request if hooks is not None and hooks.config.handlers("PermissionRequest") else None,
        sandboxed="sandbox" in state,
        sandbox_escape="sandbox" not in state or state["sandbox"].escape,
        auto_allow_sandboxed=cfg.get("sandbox.autoAllowBashIfSandboxed") in (None, True),
        auto=judge,
    )
    if hooks is not None:  # a call a hook refused is a permission denial too, for the results
        denials = permissions.denials
        hooks.denied = lambda call: denials.append(
            {"tool_name": call.name, "tool_use_id": call.id, "tool_input": call.arguments}
        )

    steering: list[Middleware] = [permissions] if hooks is None else [hooks, permissions]
    instructions = None
    pending: list[str] = []
    if not opts.bare:
        from sous.context import memory

        root = system_prompt.git_root(cwd)
        instructions, scoped = memory.load(cwd, str(root) if root else None, opts.environ)
        memory.load_added(instructions, state[ADDED_DIRS], environ)
        steering.append(memory.MemoryMiddleware(instructions, scoped, cwd))
        if loaded is None and (text := instructions.render()):
            pending.append(text)
    if opts.json_schema is not None:
        steering.append(structured_output.StructuredOutputGuard(environ))

    policy, problems = autocompact.Policy.from_config(cfg.get, environ)
    notices += [Notice(level="warning", text=p) for p in problems]
    subagents = None
    run_recorder = RunRecorder(project_dir=cwd)
    if agent_types:
        from .spawn import SubAgents

        transcript_dir = record.path.with_suffix("") / "subagents" if record.path else None
        subagents = SubAgents(
            types=agent_types,
            model=model,
            resolve=resolve,
            toolset=tools,
            permissions=permissions,
            hooks=hooks,
            environment=system.partition("# Environment")[2],
            emit=bus.emit,
            inbox=convo.inbox,
            transcript_dir=transcript_dir,
            session_id=session_id,
            compaction=functools.partial(autocompact.for_agent, policy),
            record=run_recorder,
        )
    middleware: Middleware = steering[0] if len(steering) == 1 else Chain(*steering)
    ctx = ToolContext(cwd=cwd, project_dir=cwd, environ=environ, state=state, spawn=subagents)
    agent = Agent(model=model, tools=tools, ctx=ctx, emit=bus.emit, middleware=middleware, max_turns=opts.max_turns)
    state["session_model"] = lambda: agent.model  # tools' side jobs pick a small model by its provider
    # Compaction goes last in the agent's chain and checkpoints first; both act on the parts, not the Session.
    parts = SessionParts(
        id=session_id,
        agent=agent,
        convo=convo,
        emit=bus.emit,
        runs=runs,
        writer=record,
        hooks=hooks,
        memory=instructions,
        notices=notices,
    )
    state["session_id"] = lambda: parts.id  # SessionSearch leaves the current session out
    compaction = autocompact.install(parts, policy)
    recorder = checkpoints.attach(parts, cfg.get, environ)
    session = Session(
        session_id=session_id,
        agent=agent,
        convo=convo,
        bus=bus,
        questions=questions,
        queue=queue,
        runs=runs,
        transcript=record,
        permissions=permissions,
        hooks=hooks,
        mcp=mcp,
        memory=instructions,
        commands=custom,
        subagents=subagents,
        notices=notices,
        resolve=resolve,
        pending_context=pending,
        deferred=deferred,
        unavailable=unavailable,
        parts=parts,
        compaction=compaction,
        checkpoints=recorder,
        run_recorder=run_recorder,
        settings_watch=settings_watch,
        front={
            "statusLine": None if opts.bare else status_line,
            "outputStyle": style_name,
            "baseSystem": base_system,
            "plugins": found.plugins,
        },
    )
    if mode == "plan" and opts.tools is None and (main_spec is None or main_spec.tools is None):
        bus.emit(ModeChanged(old="default", new="plan"))  # a tool list chosen by hand is left as it is
    return session


CO_AUTHOR = "Co-Authored-By: sous <noreply@sous.invalid>"


def _co_author(cfg: Any) -> str:
    """The trailer the model adds to its commits: `attribution.commit` (Claude Code's newer key,
    "" for none), else `includeCoAuthoredBy: true`; none by default."""
    commit = cfg.get("attribution.commit")
    if isinstance(commit, str):
        return " ".join(commit.split())[:200]
    return CO_AUTHOR if cfg.get("includeCoAuthoredBy") is True else ""


def _rules(cfg: Any, opts: Options, cwd: str) -> Rules:
    allow = [*cfg.get("permissions.allow", []), *split_flags(opts.allowed_tools)]
    if opts.write_root is not None:  # a team member: its own folder may change without asking
        folder = os.path.join(cwd, opts.write_root).rstrip(os.sep)
        allow += [f"{tool}(/{folder}/**)" for tool in ("Edit", "Write", "MultiEdit", "NotebookEdit")]
    return Rules.from_lists(
        allow=allow,
        ask=cfg.get("permissions.ask", []),
        deny=[*cfg.get("permissions.deny", []), *split_flags(opts.disallowed_tools)],
    )


def _mode(mode: str) -> str:
    mode = {"manual": "default"}.get(mode, mode)
    if mode not in MODES:
        raise ConfigError(f"unknown permission mode {mode!r}; choose one of {', '.join(MODES)}")
    return mode


def _agent_types(opts: Options, cwd: str, from_plugins: dict[str, Any], gated: Any) -> tuple[Any, dict[str, Any]]:
    """The agent the session runs as (`--agent`), if any, and every agent type known (the
    project's own through `gated`)."""
    from sous import agents

    found = {} if opts.bare else gated(agents.discover(cwd, opts.environ))
    json_types = agents.from_json(opts.agents_json) if opts.agents_json else {}
    types = {**agents.BUILTIN, **from_plugins, **found, **json_types}
    if not opts.agent:
        return None, types
    if opts.agent not in types:
        raise ConfigError(f"no agent named {opts.agent!r}; known: {', '.join(sorted(types))}")
    return types[opts.agent], types


def _tools(
    opts: Options,
    cwd: str,
    rules: Rules,
    main_spec: Any,
    all_types: dict[str, Any],
    from_plugins: dict[str, Any],
    gated: Any,
) -> tuple[ToolSet, dict[str, Any], dict[str, Any]]:
    """The one place a session's tool set is made: (tools, the agent types offered, custom commands)."""
    from sous import tools as builtin_tools
    from sous.context import command_files

    names = opts.tools if opts.tools is not None else list(builtin_tools.DEFAULT_TOOLS)
    unknown = [n for n in names if n not in builtin_tools.BUILTINS]
    if unknown:
        raise ConfigError(f"unknown tool(s) in --tools: {', '.join(unknown)}")
    if main_spec is not None:
        names = [
            n for n in names if (main_spec.tools is None or n in main_spec.tools) and n not in main_spec.disallowed
        ]
    denied = rules.denied_tools()
    tools = builtin_tools.toolset(n for n in names if n not in denied)
    custom = dict(from_plugins)
    files = ([], []) if opts.bare else command_files.find(cwd, opts.environ)
    skill = None
    if custom or any(files):  # sous.context.commands is imported only when there are some
        from sous.context import commands

        custom.update(gated(commands.discover(cwd, opts.environ, files)))
        skill = commands.skill_tool(
            custom,
            lambda command, cmd, ctx: shell_allowed(rules, ctx.cwd, ctx.project_dir, command, cmd),
            lambda path, ctx: read_allowed(rules, ctx.cwd, ctx.project_dir, path),
        )
    if skill is not None and "Skill" not in denied:
        tools = tools.adding([skill])
    offered = (
        "Agent" not in denied
        and (opts.tools is None or "Agent" in opts.tools)
        and (main_spec is None or main_spec.tools is None or "Agent" in main_spec.tools)
    )
    if not offered:
        return tools, {}, custom
    from sous.tools.agent import agent_tool, send_message_tool

    denied_types = {r.specifier for r in rules.deny if r.tool == "Agent" and r.specifier}
    types = {n: t for n, t in all_types.items() if n not in denied_types}
    extra = [agent_tool(types)] + ([send_message_tool()] if "SendMessage" not in denied else [])
    return tools.adding(extra, aliases=AGENT_ALIASES), types, custom


def _availability(
    opts: Options,
    tools: ToolSet,
    rules: Rules,
    main_spec: Any,
    model_name: str,
    cfg: Any,
    environ: Mapping[str, str],
    notices: list[Notice],
) -> tuple[dict[str, str], list[Any]]:
    """(the built-ins that cannot work here, each with the line saying how to enable it; the
    rarely used built-ins to offer through ToolSearch). A tool that cannot work is not offered
    rather than failing when called; one asked for by `--tools` gets a warning. The deferred
    built-ins join only the default tool set, never one chosen by hand."""
    from sous import tools as builtin_tools

    unavailable = {
        n: why
        for n in dict.fromkeys([*tools.names, *builtin_tools.DEFERRED_TOOLS])
        if (why := builtin_tools.unavailable(n, model_name=model_name, settings=cfg, environ=environ))
    }
    if opts.tools is not None:
        notices += [Notice(level="warning", text=why) for n, why in unavailable.items() if n in opts.tools]
        return unavailable, []
    if main_spec is not None and main_spec.tools is not None:
        return unavailable, []
    denied = rules.denied_tools()
    names = [n for n in builtin_tools.DEFERRED_TOOLS if n not in unavailable and n not in denied]
    if main_spec is not None:
        names = [n for n in names if n not in main_spec.disallowed]
    return unavailable, [builtin_tools.load(n) for n in names]


def _tool_search_off(environ: Mapping[str, str]) -> bool:
    return (environ.get("ENABLE_TOOL_SEARCH") or "").strip().lower() in ("false", "0", "off")


def _writer(
    opts: Options, cwd: str, loaded: store.LoadedSession | None, session_id: str, model: str, mode: str, notices: list
) -> store.TranscriptWriter | None:
    """The session file's writer; None (and a notice) when it cannot be opened: the session runs unsaved.
    A fork (`--fork-session`) starts a new file with a copy of the history and never writes to the old one."""
    if not opts.persist:
        return None
    continued = loaded if loaded is not None and not opts.fork_session else None
    path = continued.path if continued is not None else store.session_path(cwd, session_id, opts.environ)
    try:
        if continued is None:
            writer = store.TranscriptWriter.create(
                path, session_id=session_id, cwd=cwd, model=model, permission_mode=mode
            )
        else:
            writer = store.TranscriptWriter(path, last_id=continued.messages[-1].id if continued.messages else None)
    except OSError as e:
        notices.append(
            Notice(
                level="warning",
                text=f"{path}: cannot write the session file ({e.strerror or e}); this session is not saved",
            )
        )
        return None
    if loaded is not None:
        repaired = repair(loaded.messages)
        for message in repaired if continued is None else repaired_tail(loaded.messages, repaired):
            writer.message(message)
    return writer


def _asker(opts: Options, hooks: Any, questions: Questions, mcp: Any, ctx: ToolContext) -> Asker | None:
    """Who answers permission questions: the MCP prompt tool, a person through the front end, or
    nobody (what would ask is refused). The Notification hook fires before a person is asked."""
    if opts.permission_prompt_tool:
        from sous.permissions.prompt_tool import prompt_tool_asker

        return prompt_tool_asker(opts.permission_prompt_tool, mcp, ctx)
    if not opts.answers_permissions:
        return None
    if hooks is None or not hooks.config.handlers("Notification"):
        return questions.ask

    async def ask(call: Any, decision: Any) -> Any:
        await hooks.fire(
            "Notification",
            "permission_prompt",
            {
                "message": f"sous needs your permission to use {call.name}",
                "title": "sous",
                "notification_type": "permission_prompt",
            },
        )
        return await questions.ask(call, decision)

    return ask


def _sandbox(cfg: Any, cwd: str, state: dict[str, Any], rules: Rules, environ: Mapping[str, str]) -> list[Notice]:
    """Put the Bash sandbox in the tools' state, or make every command ask when it cannot be had.
    `environ` is sous's own: the home whose credentials are hidden is never one a settings `env` names."""
    from sous.tools import _sandbox as sandbox

    if not sandbox.usable():
        rules.ask.append(parse("Bash"))
        return [
            Notice(
                level="warning",
                text="sandbox.enabled is set but bubblewrap (bwrap) cannot run here: "
                "every Bash command will ask before running unsandboxed",
            )
        ]
    domains = cfg.get("sandbox.network.allowedDomains") or []
    writable = [os.path.join(cwd, os.path.expanduser(p)) for p in cfg.get("sandbox.writablePaths") or []]
    state["sandbox"] = sandbox.Sandbox(
        writable=(cwd, *writable),
        network="*" in domains,
        allowed_domains=tuple(str(d) for d in domains if d != "*"),
        home=environ.get("HOME") or os.path.expanduser("~"),
        unix_sockets=cfg.get("sandbox.network.allowAllUnixSockets") is True,
        escape=cfg.get("sandbox.allowUnsandboxedCommands") is not False,
    )
    return []


def _find_previous(opts: Options, cwd: str) -> store.LoadedSession | None:
    if opts.resume:
        path = store.find(opts.resume, opts.environ)
        if path is None:
            raise ConfigError(f"no session with id {opts.resume!r} was found")
    elif opts.continue_last:
        path = store.latest(cwd, opts.environ)
        if path is None:
            raise ConfigError("there is no earlier session in this folder to continue")
    else:
        return None
    try:
        return store.load(path)
    except store.UnreadableSession as e:
        raise ConfigError(str(e)) from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the session file: {e.strerror or e}") from e


__all__ = ["Options", "open_session"]
