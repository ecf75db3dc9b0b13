"""The composition root: settings, model, tools, middlewares and transcript → a ready Session."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sous import checkpoints, hooks
from sous.context import autocompact
from sous.core import Agent, Chain, ConfigError, Conversation, Middleware, Notice, ToolContext, ToolSet, new_id
from sous.permissions import MODES, Asker, PermissionMiddleware, Rules
from sous.permissions.rules import parse
from sous.session import Session, repair
from sous.store import transcript


@dataclass(slots=True, kw_only=True)
class Options:
    """Everything a front end can choose about a session. Field names follow the CLI flags."""

    cwd: str = field(default_factory=os.getcwd)
    model: str | None = None
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
    agents_json: str | None = None
    """`--agents JSON`: more agent types, over the files."""
    agent: str | None = None
    """`--agent NAME`: run the whole session as that agent."""
    mcp_config: list[str] = field(default_factory=list)
    strict_mcp_config: bool = False
    settings: str | None = None
    bare: bool = False
    persist: bool = True
    asker: Asker | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)


def open_session(opts: Options) -> Session:
    """Build a session; raises `ConfigError` (one line, with the fix) when it cannot start."""
    from sous import settings as settings_mod
    from sous import tools as builtin_tools
    from sous import agents
    from sous.context import commands, memory, system_prompt
    from sous.subagents import Spawner
    from sous.tools.agent import agent_tool, send_message_tool
    from sous.models import OFFLINE_NOTICE, resolve

    cwd = os.path.abspath(opts.cwd)
    cfg = settings_mod.load(cwd, opts.settings, bare=opts.bare, environ=opts.environ)
    notices = [Notice(level="warning", text=p) for p in cfg.problems]
    environ = {**opts.environ, **{k: str(v) for k, v in (cfg.get("env") or {}).items()}}

    loaded = _find_previous(opts, cwd)
    model_spec = opts.model or (loaded.header.get("model") if loaded else None) or cfg.get("model") \
        or opts.environ.get("SOUS_MODEL")
    model = resolve(model_spec, environ)
    if model.name.startswith("local:") and not model_spec:
        notices.append(Notice(level="info", text=OFFLINE_NOTICE.format(name=model.name)))

    rules = Rules.from_lists(
        allow=[*cfg.get("permissions.allow", []), *_split_flags(opts.allowed_tools)],
        ask=cfg.get("permissions.ask", []),
        deny=[*cfg.get("permissions.deny", []), *_split_flags(opts.disallowed_tools)],
    )
    notices += [Notice(level="warning", text=f"ignored permission rule: {p}") for p in rules.problems]
    mode = opts.permission_mode or cfg.get("permissions.defaultMode") or "default"
    mode = {"manual": "default"}.get(mode, mode)
    if mode not in MODES:
        raise ConfigError(f"unknown permission mode {mode!r}; choose one of {', '.join(MODES)}")

    names = opts.tools if opts.tools is not None else list(builtin_tools.DEFAULT_TOOLS)
    unknown = [n for n in names if n not in builtin_tools.BUILTINS]
    if unknown:
        raise ConfigError(f"unknown tool(s) in --tools: {', '.join(unknown)}")
    all_types = {} if opts.bare else agents.discover(cwd, opts.environ)
    all_types = {**agents.BUILTIN, **all_types, **(agents.from_json(opts.agents_json) if opts.agents_json else {})}
    main_spec = None
    if opts.agent:  # the whole session runs as this agent
        if opts.agent not in all_types:
            raise ConfigError(f"no agent named {opts.agent!r}; known: {', '.join(sorted(all_types))}")
        main_spec = all_types[opts.agent]
        if main_spec.model and not opts.model:
            model = resolve(main_spec.model, environ)
        if main_spec.permission_mode in MODES and not opts.permission_mode:
            mode = main_spec.permission_mode
        names = [n for n in names if (main_spec.tools is None or n in main_spec.tools) and n not in main_spec.disallowed]
    tools = builtin_tools.toolset(n for n in names if n not in rules.denied_tools())
    custom = {} if opts.bare else commands.discover(cwd, opts.environ)
    holder: list[Session] = []  # the Skill tool asks the session, which is made below
    skill = commands.skill_tool(custom, lambda command, cmd: holder[0].shell_allowed(command, cmd))
    if skill is not None and "Skill" not in rules.denied_tools():
        tools = ToolSet([*tools, skill], aliases=builtin_tools.ALIASES)
    agent_types = {}
    if "Agent" not in rules.denied_tools() and (opts.tools is None or "Agent" in opts.tools) and \
            (main_spec is None or main_spec.tools is None or "Agent" in main_spec.tools):
        denied_types = {r.specifier for r in rules.deny if r.tool == "Agent" and r.specifier}
        agent_types = {n: t for n, t in all_types.items() if n not in denied_types}
        extra = [agent_tool(agent_types)] + ([send_message_tool()] if "SendMessage" not in rules.denied_tools() else [])
        tools = ToolSet([*tools, *extra], aliases=builtin_tools.ALIASES | {"Task": "Agent"})

    ctx = ToolContext(cwd=cwd, project_dir=cwd, environ=environ)
    if cfg.get("sandbox.enabled") and not opts.bare:
        notices += _sandbox(cfg, cwd, ctx, rules)
    permissions = PermissionMiddleware(rules, mode, asker=opts.asker,
                                       read_only_tools={t.name for t in tools if t.read_only},
                                       local_settings=Path(cwd) / ".claude" / "settings.local.json")
    permissions.sandboxed = "sandbox" in ctx.state
    system = system_prompt.build(cwd, append=opts.append_system_prompt, replace=opts.system_prompt)
    if main_spec is not None and opts.system_prompt is None:
        system = f"{main_spec.prompt}\n\n# Environment{system.partition('# Environment')[2]}"
    convo = Conversation(system=system)
    hook_config = hooks.load(cfg.get("hooks"), disabled=bool(cfg.get("disableAllHooks")) or opts.bare)
    notices += [Notice(level="warning", text=p) for p in hook_config.problems]
    steering: list[Middleware] = [permissions]
    hook_middleware = None
    if hook_config:
        hook_middleware = hooks.HookMiddleware(
            hook_config, session_id="", transcript_path="", project_dir=cwd, environ=environ,
            mode=lambda: permissions.mode, pre_tool_failure=cfg.get("preToolUseHookFailure") or "block")
        hook_middleware.permission_hints = permissions.hook_hints
        if hook_config.handlers("PermissionRequest"):
            permissions.on_ask = hook_middleware.permission_request
        if opts.asker is not None and hook_config.handlers("Notification"):
            permissions.asker = _notifying(opts.asker, hook_middleware)
        steering.insert(0, hook_middleware)
    instructions = None
    if not opts.bare:
        root = system_prompt.git_root(cwd)
        instructions, scoped = memory.load(cwd, str(root) if root else None, opts.environ)
        steering.append(memory.MemoryMiddleware(instructions, scoped, cwd))
    middleware: Middleware = steering[0] if len(steering) == 1 else Chain(*steering)
    agent = Agent(model=model, tools=tools, ctx=ctx, middleware=middleware, max_turns=opts.max_turns)

    writer = None
    if loaded is not None:
        session_id = loaded.session_id
        convo.messages = repair(loaded.messages)
        if opts.persist:
            last = loaded.messages[-1].id if loaded.messages else None
            writer = transcript.TranscriptWriter(loaded.path, last_id=last)
            known = {id(m) for m in loaded.messages}
            for message in convo.messages:  # record the repair, so the file shows what the model sees
                if id(message) not in known:
                    writer.message(message)
    else:
        session_id = _uuid()
        if opts.persist:
            writer = transcript.TranscriptWriter.create(
                transcript.session_path(cwd, session_id, opts.environ), session_id=session_id, cwd=cwd,
                model=model.name, permission_mode=mode)
    session = Session(session_id=session_id, agent=agent, convo=convo, writer=writer)
    permissions.emit = session.emit
    session.permissions = permissions
    permissions.mode_changed = session.on_mode_change
    session.commands = custom
    session.tool_aliases = builtin_tools.ALIASES | {"Task": "Agent"}
    if not opts.bare or opts.mcp_config:
        from sous import mcp

        servers = mcp.load(cwd, opts.environ, extra=opts.mcp_config, strict=opts.strict_mcp_config or opts.bare)
        session.notices += [Notice(level="warning", text=p) for p in servers.problems]
        if servers.servers:
            from sous.mcp.client import McpManager

            session.mcp = McpManager(servers.servers, environ=environ, project_dir=cwd)
    session.memory = instructions
    holder.append(session)
    if agent_types:
        transcript_dir = session.transcript_path.with_suffix("") / "subagents" if session.transcript_path else None
        ctx.spawn = Spawner(types=agent_types, model=model, resolve=lambda spec: resolve(spec, environ), toolset=tools,
                            aliases=builtin_tools.ALIASES | {"Task": "Agent"}, permissions=permissions,
                            hooks=hook_middleware, environment=system.partition("# Environment")[2], emit=session.emit,
                            transcript_dir=transcript_dir, session_id=session_id)
        ctx.spawn.deliver = session.queue
        ctx.spawn.finished = session.subagent_runs.append
        session.closers.append(ctx.spawn.stop_background)
    if instructions is not None and loaded is None and (text := instructions.render()):
        session.pending_context.append(text)
    if hook_middleware is not None:
        hook_middleware.session_id = session_id
        hook_middleware.transcript_path = str(session.transcript_path or "")
        hook_middleware.notify = lambda text: session.emit(Notice(level="warning", text=text))
        hook_middleware.stop_run = lambda reason: session.interrupt(reason)
        if writer is not None:
            hook_middleware.record = writer.write
        session.hooks = hook_middleware
    session.notices = notices
    autocompact.install(session, cfg.get, environ)
    checkpoints.attach(session, cfg.get, environ)
    if mode == "plan" and opts.tools is None and (main_spec is None or main_spec.tools is None):
        session.on_mode_change("default", "plan")  # a tool list chosen by hand is left as it is
    return session


def _sandbox(cfg, cwd: str, ctx: ToolContext, rules: Rules) -> list[Notice]:
    """Put the Bash sandbox in the tools' state, or make every command ask when it cannot be had."""
    from sous.permissions.rules import parse
    from sous.tools import _sandbox as sandbox

    if not sandbox.usable():
        rules.ask.append(parse("Bash"))
        return [Notice(level="warning", text="sandbox.enabled is set but bubblewrap (bwrap) cannot run here: "
                                             "every Bash command will ask before running unsandboxed")]
    domains = cfg.get("sandbox.network.allowedDomains") or []
    writable = [os.path.join(cwd, os.path.expanduser(p)) for p in cfg.get("sandbox.writablePaths") or []]
    ctx.state["sandbox"] = sandbox.Sandbox(writable=(cwd, *writable), network="*" in domains,
                                           allowed_domains=tuple(str(d) for d in domains if d != "*"))
    return []


def _notifying(asker, hooks):
    """Fire the Notification hook ("permission_prompt") each time a person is about to be asked."""
    async def ask(call, decision):
        await hooks.fire("Notification", "permission_prompt", {
            "message": f"sous needs your permission to use {call.name}", "title": "sous",
            "notification_type": "permission_prompt"})
        return await asker(call, decision)
    return ask


def _find_previous(opts: Options, cwd: str) -> transcript.LoadedSession | None:
    if opts.resume:
        path = transcript.find(opts.resume, opts.environ)
        if path is None:
            raise ConfigError(f"no session with id {opts.resume!r} was found")
        return transcript.load(path)
    if opts.continue_last:
        path = transcript.latest(cwd, opts.environ)
        if path is None:
            raise ConfigError("there is no earlier session in this folder to continue")
        return transcript.load(path)
    return None


def _split_flags(values: list[str]) -> list[str]:
    """`--allowedTools "Bash(git *) Read,Edit"`: split on commas and spaces outside parentheses."""
    out: list[str] = []
    for value in values:
        depth, current = 0, ""
        for ch in value:
            depth += ch == "("
            depth -= ch == ")"
            if ch in ", " and depth == 0:
                if current:
                    out.append(current)
                current = ""
            else:
                current += ch
        if current:
            out.append(current)
    for rule in out:
        parse(rule)
    return out


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


__all__ = ["Options", "new_id", "open_session"]
