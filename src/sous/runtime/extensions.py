"""The parts of a session that run other programs: hooks and MCP servers, from the settings, the
project's files and the enabled plugins. Made by the builder (`build.py`), in its order."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sous.core import Notice
from sous.records import record

from .bus import CurrentMode, EventBus, Runs
from .record import Transcript


@record(kw_only=False)
class NoPlugins:
    """What `sous.plugins.discover` finds when nothing names a plugin: made without importing it."""

    plugins: tuple[Any, ...] = ()
    problems: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()


def find_plugins(opts: Any, cfg: Any, cwd: str, notices: list[Notice]) -> Any:
    """The plugins in use (`sous.plugins.Found`), each problem a warning."""
    if not opts.plugin_dirs and (opts.bare or not cfg.get("enabledPlugins")):
        return NoPlugins()
    from sous import plugins
    from sous.permissions import trust

    found = plugins.discover(
        cwd,
        cfg.get("enabledPlugins"),
        plugin_dirs=opts.plugin_dirs,
        bare=opts.bare,
        user_layers=trust.user_layers(opts.environ, opts.settings),
        environ=opts.environ,
    )
    notices += [Notice(level="warning", text=p) for p in found.problems]
    if found.withheld:
        notices.append(
            Notice(
                level="warning",
                text=f"hooks and MCP servers of {', '.join(found.withheld)} were left out: the plugin is enabled only "
                "by this project's settings; to run them, enable it yourself: sous plugin enable NAME --scope local",
            )
        )
    return found


def plugin_parts(found: Any, part: str, notices: list[Notice]) -> dict[str, Any]:
    """Every plugin's `commands` or `agents`, merged (the first plugin of a name wins)."""
    out: dict[str, Any] = {}
    if not found.plugins:
        return out
    from sous import plugins  # only when a plugin is in use: the start-up path stays short

    for plugin in found.plugins:
        items, problems = getattr(plugins, part)(plugin)
        notices += [Notice(level="warning", text=p) for p in problems]
        out.update({k: v for k, v in items.items() if k not in out})
    return out


def mcp_manager(
    opts: Any,
    cwd: str,
    environ: Mapping[str, str],
    notices: list[Notice],
    project_trust: Any,
    left_out: list[Any],
    found: Any,
    bus: Any,
    hooks: Any = None,
) -> Any:
    """The MCP manager when servers are configured (connected by `Session.start`), else None.
    Servers may ask for input only when Elicitation or ElicitationResult hooks are there to answer.
    Project servers not yet approved (`sous trust`) are left out and added to `left_out`. What a
    login has to tell the person (`/mcp login`: the address to open) reaches them as a notice."""
    layers = []
    for plugin in found.plugins:
        from sous import plugins  # imported already when a plugin is in use

        servers, problems = plugins.mcp_servers(plugin) if plugin.runs_code else ({}, [])
        notices += [Notice(level="warning", text=p) for p in problems]
        if servers:
            _data_folder(plugin, notices)
            layers.append((plugin.name, f"plugin {plugin.id}", servers, plugin.variables()))
    if opts.bare and not opts.mcp_config and not layers:
        return None
    from sous.mcp import sources

    unreadable: list[str] = []
    strict = opts.strict_mcp_config or opts.bare
    read = sources.read_layers(cwd, opts.environ, opts.mcp_config, strict, unreadable)
    notices += [Notice(level="warning", text=p) for p in unreadable]
    if not sources.names_a_server(read) and (opts.strict_mcp_config or not layers):
        return None  # no server anywhere: the rest of sous.mcp is not imported
    from sous.mcp import config as mcp_config

    config = mcp_config.load(
        cwd,
        opts.environ,
        extra=opts.mcp_config,
        strict=strict,
        trust=project_trust,
        plugins=layers if not opts.strict_mcp_config else (),
        layers=read,
    )
    notices += [Notice(level="warning", text=p) for p in config.problems]
    left_out += [e for e in project_trust.pending if e.kind == "mcp" and e.name in config.untrusted]
    if not config.servers:
        return None
    from sous.mcp.client import McpManager

    notify = lambda text: bus.emit(Notice(level="info", text=text))  # noqa: E731
    elicit = None
    if hooks is not None and (hooks.config.handlers("Elicitation") or hooks.config.handlers("ElicitationResult")):
        from sous.hooks import elicitation

        elicit = functools.partial(elicitation.answer, hooks)
    return McpManager(config.servers, environ=environ, project_dir=cwd, notify=notify, elicit=elicit)


def hook_middleware(
    cfg: Any,
    opts: Any,
    cwd: str,
    environ: Mapping[str, str],
    session_id: str,
    record: Transcript,
    bus: EventBus,
    runs: Runs,
    mode: str,
    notices: list[Notice],
    project_trust: Any,
    left_out: list[Any],
    models: Any,
    found: Any,
) -> Any:
    """The hook middleware when hooks are configured, else None (sous.hooks is then not imported).
    Hooks from the project's own settings run only once approved (`sous trust`); a plugin's only
    when the person enabled it. With `allowManagedHooksOnly` no plugin hook runs."""
    runnable = [p for p in found.plugins if p.runs_code]
    if cfg.get("disableAllHooks") or (opts.bare and not runnable):
        return None
    if not cfg.get("hooks") and not runnable:
        return None
    from sous import hooks
    from sous.permissions import trust

    config = hooks.HookConfig()
    if not opts.bare:
        left_out += [e for e in project_trust.pending if e.kind == "hook"]
        config = hooks.load(trust.trusted_hooks(cfg.get("hooks"), project_trust, opts.environ, opts.settings))
    if runnable and cfg.get("allowManagedHooksOnly") is not True:
        from sous import plugins

        config, problems, added = plugins.with_hooks(config, found, cwd)
        notices += [Notice(level="warning", text=p) for p in problems]
        for plugin in added:
            _data_folder(plugin, notices)
    notices += [Notice(level="warning", text=p) for p in config.problems]
    if not config:
        return None
    current = CurrentMode(mode)
    bus.subscribe(current)
    middleware = hooks.HookMiddleware(
        config,
        session_id=session_id,
        transcript_path=str(record.path or ""),
        project_dir=cwd,
        environ=environ,
        mode=current.get,
        pre_tool_failure=cfg.get("preToolUseHookFailure") or "block",
        record=record.write,
        notify=lambda text: bus.emit(Notice(level="warning", text=text)),
        stop_run=runs.interrupt,
        models=models,
    )
    bus.subscribe(middleware.on_event)
    return middleware


def _data_folder(plugin: Any, notices: list[Notice]) -> None:
    """Make the plugin's `CLAUDE_PLUGIN_DATA` folder before its code first runs."""
    try:
        plugin.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        notices.append(Notice(level="warning", text=f"plugin {plugin.id}: cannot make {plugin.data_dir}: {e}"))
